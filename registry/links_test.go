package registry_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/registry"
)

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// TestConfigMapSwap: a Kubernetes ConfigMap or Secret volume updates by renaming a new
// ..data symlink over the old one; the module files, symlinks through ..data, never change
// themselves. The swap is noticed.
func TestConfigMapSwap(t *testing.T) {
	h := newHarness(t, registry.Config{Rescan: -1}, nil)
	v1 := filepath.Join(h.dir, "..2026_12_02_10_00_00.000000001")
	mkdir(t, v1)
	writeAtomic(t, v1, "hot.wasm", fixture(t, "hot-a"))
	symlink(t, filepath.Base(v1), filepath.Join(h.dir, "..data"))
	symlink(t, "..data/hot.wasm", filepath.Join(h.dir, "hot.wasm"))
	h.expect(registry.EventLoaded, "hot.wasm")
	if v, err := build(t, h.reg.Router()); v != "a" || err != nil {
		t.Fatalf("build = %q, %v", v, err)
	}

	// What the kubelet does: a new timestamped directory, a new ..data, the old one removed.
	v2 := filepath.Join(h.dir, "..2026_12_02_11_00_00.000000002")
	mkdir(t, v2)
	writeAtomic(t, v2, "hot.wasm", fixture(t, "hot-b"))
	symlink(t, filepath.Base(v2), filepath.Join(h.dir, "..data_tmp"))
	rename(t, filepath.Join(h.dir, "..data_tmp"), filepath.Join(h.dir, "..data"))
	if err := os.RemoveAll(v1); err != nil {
		t.Fatal(err)
	}
	h.expect(registry.EventSwapped, "hot.wasm")
	if v, _ := build(t, h.reg.Router()); v != "b" {
		t.Fatalf("after the ..data swap, version %q", v)
	}
	h.quiet(200 * time.Millisecond) // the removal of the old directory changes nothing
}

// TestSymlinkTargetWrittenInPlace: a module file that is a symlink to a file outside the
// directory reloads when that file is written in place.
func TestSymlinkTargetWrittenInPlace(t *testing.T) {
	h := newHarness(t, registry.Config{Rescan: -1}, nil)
	outside := filepath.Join(t.TempDir(), "modules")
	mkdir(t, outside)
	target := filepath.Join(outside, "hot.wasm")
	if err := os.WriteFile(target, fixture(t, "hot-a"), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, target, filepath.Join(h.dir, "hot.wasm"))
	h.expect(registry.EventLoaded, "hot.wasm")

	f, err := os.OpenFile(target, os.O_WRONLY|os.O_TRUNC, 0) // in place: same inode
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(fixture(t, "hot-b")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	h.expect(registry.EventSwapped, "hot.wasm")
	if v, _ := build(t, h.reg.Router()); v != "b" {
		t.Fatalf("after the in-place write, version %q", v)
	}
}

// TestRescanFindsUnreportedChanges: a change no watched directory reports (an intermediate
// symlink outside the directory swapped) is found by the slow rescan, and only by it.
func TestRescanFindsUnreportedChanges(t *testing.T) {
	for _, rescan := range []time.Duration{-1, 300 * time.Millisecond} {
		h := newHarness(t, registry.Config{Rescan: rescan}, nil)
		outside := t.TempDir()
		for v, fx := range map[string]string{"v1": "hot-a", "v2": "hot-b"} {
			mkdir(t, filepath.Join(outside, v))
			writeAtomic(t, filepath.Join(outside, v), "hot.wasm", fixture(t, fx))
		}
		symlink(t, "v1", filepath.Join(outside, "current"))
		symlink(t, filepath.Join(outside, "current", "hot.wasm"), filepath.Join(h.dir, "hot.wasm"))
		h.expect(registry.EventLoaded, "hot.wasm")
		symlink(t, "v2", filepath.Join(outside, "next"))
		rename(t, filepath.Join(outside, "next"), filepath.Join(outside, "current"))
		if rescan < 0 {
			h.quiet(time.Second)
			continue
		}
		start := time.Now()
		h.expect(registry.EventSwapped, "hot.wasm")
		if d := time.Since(start); d > 5*rescan {
			t.Errorf("the rescan took %v with an interval of %v", d, rescan)
		}
		if v, _ := build(t, h.reg.Router()); v != "b" {
			t.Fatalf("after the rescan, version %q", v)
		}
		h.quiet(2 * rescan) // the rescan reloads nothing that did not change
	}
}

// TestUnreadableThenReadable: a file that cannot be read is reported once and reloaded
// when it can be read again (a chmod, no write); a serving version made unreadable keeps
// serving. Root reads any file, so as root the test runs itself again as nobody.
func TestUnreadableThenReadable(t *testing.T) {
	if os.Geteuid() == 0 {
		runAsNobody(t)
		return
	}
	h := newHarness(t, registry.Config{Rescan: 200 * time.Millisecond}, nil)
	path := filepath.Join(h.dir, "hot.wasm")
	writeAtomic(t, h.dir, ".hot.tmp", fixture(t, "hot-a"))
	if err := os.Chmod(filepath.Join(h.dir, ".hot.tmp"), 0); err != nil {
		t.Fatal(err)
	}
	rename(t, filepath.Join(h.dir, ".hot.tmp"), path)
	if e := h.expect(registry.EventRejected, "hot.wasm"); e.Stage != "read" || !strings.Contains(e.Reason, "permission denied") {
		t.Fatalf("event %s, want a read rejection", e)
	}
	h.quiet(500 * time.Millisecond) // the rescan does not report it again
	chmod := func(mode os.FileMode) {
		t.Helper()
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	chmod(0o644)
	h.expect(registry.EventLoaded, "hot.wasm")
	if v, err := build(t, h.reg.Router()); v != "a" || err != nil {
		t.Fatalf("build = %q, %v", v, err)
	}

	chmod(0)
	if e := h.expect(registry.EventRejected, "hot.wasm"); e.Stage != "read" {
		t.Fatalf("event %s, want a read rejection", e)
	}
	if v, _ := build(t, h.reg.Router()); v != "a" {
		t.Fatalf("an unreadable file stopped its version: %q", v)
	}
	chmod(0o644)
	h.quiet(500 * time.Millisecond) // same bytes: nothing to swap
	if f := h.reg.Failed(); len(f) != 0 {
		t.Errorf("failed %v after the file is readable again", f)
	}
}

// runAsNobody runs the calling test in a copy of the test binary as user nobody (65534).
func runAsNobody(t *testing.T) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "registry-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "registry.test")
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err == nil {
		_, err = io.Copy(dst, src)
		err = errors.Join(err, dst.Close())
	}
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "HOME=/nonexistent", "TMPDIR=/tmp")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}
