package wazero

import (
	"os"
	"path/filepath"
	"testing"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

// TestRootFSConfinement checks at the sys.FS level what wazero's DirFS does not guarantee: a
// symlink out of the directory is not followed, and the guest cannot create one.
func TestRootFSConfinement(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "mnt")
	if err := os.MkdirAll(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(tmp, "secret"), filepath.Join(dir, "a", "out")); err != nil {
		t.Fatal(err)
	}
	_, roots, err := mountFS([]engine.Mount{{HostDir: dir, GuestPath: "/m"}})
	if err != nil {
		t.Fatal(err)
	}
	defer closeRoots(roots)
	fsys := &rootFS{root: roots[0]}

	// wazero's DirFS follows the link: this is what rootFS exists for.
	if f, e := sysfs.DirFS(dir).OpenFile("a/out", experimentalsys.O_RDONLY, 0); e != 0 {
		t.Logf("wazero's DirFS no longer follows a symlink out of its directory (%v): rootFS may be redundant", e)
	} else {
		_ = f.Close()
	}
	if _, e := fsys.OpenFile("a/out", experimentalsys.O_RDONLY, 0); e != experimentalsys.EPERM {
		t.Errorf("open a/out (a link out): errno %v, want EPERM", e)
	}
	if _, e := fsys.Stat("a/out"); e != experimentalsys.EPERM {
		t.Errorf("stat a/out: errno %v, want EPERM", e)
	}
	if st, e := fsys.Lstat("a/out"); e != 0 || st.Mode&os.ModeSymlink == 0 {
		t.Errorf("lstat a/out: %v, errno %v; want the link itself", st.Mode, e)
	}
	for _, target := range []string{filepath.Join(tmp, "secret"), "../../secret", "x/../../../secret"} {
		if e := fsys.Symlink(target, "a/new"); e != experimentalsys.EPERM {
			t.Errorf("symlink a/new -> %s: errno %v, want EPERM", target, e)
		}
	}
	if e := fsys.Symlink("..", "up"); e != experimentalsys.EPERM {
		t.Errorf("symlink up -> ..: errno %v, want EPERM", e)
	}
	for link, target := range map[string]string{"a/up": "../a", "a/in": "../secret", "a/dot": "."} { // all inside
		if e := fsys.Symlink(target, link); e != 0 {
			t.Errorf("symlink %s -> %s (inside): errno %v", link, target, e)
		}
	}
	ro := &readOnlyFS{ReadFS: sysfs.ReadFS{FS: fsys}}
	for _, flag := range []experimentalsys.Oflag{experimentalsys.O_CREAT, experimentalsys.O_TRUNC, experimentalsys.O_WRONLY, experimentalsys.O_RDWR | experimentalsys.O_APPEND} {
		if _, e := ro.OpenFile("a/f", flag, 0o644); e != experimentalsys.EROFS {
			t.Errorf("read-only open with flags %v: errno %v, want EROFS", flag, e)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "a", "f")); !os.IsNotExist(err) {
		t.Errorf("a read-only open created a/f (%v)", err)
	}
}

// BenchmarkMountOpenRead compares opening, reading and closing a file three directories deep
// through rootFS (os.Root: one openat per path component) and through wazero's DirFS (one
// open of the joined path).
func BenchmarkMountOpenRead(b *testing.B) {
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b", "c"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "b", "c", "f.go"), make([]byte, 4096), 0o644); err != nil {
		b.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	for _, bc := range []struct {
		name string
		fs   experimentalsys.FS
	}{
		{"rootfs", &rootFS{root: root}},
		{"wazero-dirfs", sysfs.DirFS(dir)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 8192)
			b.ReportAllocs()
			for b.Loop() {
				f, e := bc.fs.OpenFile("a/b/c/f.go", experimentalsys.O_RDONLY, 0)
				if e != 0 {
					b.Fatal(e)
				}
				if n, e := f.Read(buf); e != 0 || n != 4096 {
					b.Fatal(n, e)
				}
				_ = f.Close()
			}
		})
	}
}
