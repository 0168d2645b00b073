package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/internal/testengine"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// buildWasifs builds tests/testdata/wasifs, a Go WASI command that runs file operations given as
// arguments, into dir.
func buildWasifs(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "wasifs.wasm")
	cmd := exec.Command("go", "build", "-o", out, "../tests/testdata/wasifs")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building tests/testdata/wasifs: %v\n%s", err, msg)
	}
	return out
}

// commandConfig is the configuration of a runtime that loads the Go command at wasm. The mounts
// are the engine's file system, whichever way it runs code: the compiler, reading the command
// from the shared test cache warmed outside the race detector (compiling a Go module to
// machine code takes a minute under -race on a busy machine, interpreting it tens of seconds
// of CPU), or the interpreter when there is no shared cache to warm.
func commandConfig(t *testing.T, wasm string, l runtime.Limits) runtime.Config {
	t.Helper()
	if testengine.Name() == "" && testcache.Dir() != "" {
		err := testcache.Warm(testcache.Command, wasm)
		if err == nil {
			return runtime.Config{Engine: "wazero", CacheDir: testcache.Dir(), Limits: l}
		}
		t.Logf("the shared compilation cache is not warm (%v): the interpreter runs the command", err)
	}
	return runtime.Config{Engine: "wazero-interpreter", Limits: l}
}

type cmdResult struct {
	code           int
	err            error
	stdout, stderr string
}

func runCmd(t *testing.T, c *runtime.Command, stdin string, mounts []runtime.Mount, args ...string) cmdResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code, err := c.Run(t.Context(), runtime.CommandIO{Args: args, Stdin: []byte(stdin), Mounts: mounts, Stdout: &stdout, Stderr: &stderr})
	return cmdResult{code, err, stdout.String(), stderr.String()}
}

// TestCommandStdinAndMounts: a command reads the stdin it is given, sees exactly the mounts it
// is given, writes only where a mount is read-write, and cannot leave a mount: not with "..",
// not through a symlink on the host, not through one it creates.
func TestCommandStdinAndMounts(t *testing.T) {
	tmp := t.TempDir()
	wasm := buildWasifs(t, tmp)
	rt, err := runtime.New(t.Context(), commandConfig(t, wasm, runtime.Limits{MaxInputBytes: 64}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	c, err := rt.LoadCommand(t.Context(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })

	// Host layout: src (read-only to the guest) and out (read-write), next to a secret.
	src, out := filepath.Join(tmp, "src"), filepath.Join(tmp, "out")
	for _, d := range []string{src, out, filepath.Join(tmp, "elsewhere")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(tmp, "secret.txt")
	write(secret, "SECRET")
	write(filepath.Join(tmp, "elsewhere", "x.txt"), "SECRET")
	write(filepath.Join(src, "main.go"), "package main\n")
	for link, target := range map[string]string{
		"abs-out":   secret,                              // absolute, out of the mount
		"rel-out":   "../secret.txt",                     // relative, out of the mount
		"dir-out":   filepath.Join(tmp, "elsewhere"),     // a directory out of the mount
		"rel-in":    "main.go",                           // inside: allowed
		"rel-round": "../src/main.go",                    // leaves and comes back: os.Root refuses it
		"nested":    filepath.Join("..", "out", "x.txt"), // into a sibling mount's host dir
	} {
		if err := os.Symlink(target, filepath.Join(src, link)); err != nil {
			t.Fatal(err)
		}
	}
	mounts := []runtime.Mount{{HostDir: src, GuestPath: "/src", ReadOnly: true}, {HostDir: out, GuestPath: "/out"}}

	t.Run("stdin", func(t *testing.T) {
		r := runCmd(t, c, "hello\nworld", nil, "stdin")
		if r.err != nil || r.code != 0 || r.stdout != "hello\nworld" {
			t.Errorf("stdin copy: %+v, want hello\\nworld", r)
		}
		if r := runCmd(t, c, "", nil, "stdin"); r.err != nil || r.code != 0 || r.stdout != "" {
			t.Errorf("empty stdin: %+v, want nothing", r)
		}
		at := strings.Repeat("x", 64)
		if r := runCmd(t, c, at, nil, "stdin"); r.err != nil || r.stdout != at {
			t.Errorf("stdin at the 64-byte limit: %+v", r)
		}
		r = runCmd(t, c, at+"x", nil, "stdin")
		if !errors.Is(r.err, runtime.ErrInputTooLarge) || !errors.Is(r.err, runtime.ErrSetup) ||
			!strings.Contains(r.err.Error(), "stdin of 65 bytes exceeds the 64-byte input limit") {
			t.Errorf("stdin over the limit: %v, want a setup ErrInputTooLarge naming both sizes", r.err)
		}
	})

	t.Run("read-only mount", func(t *testing.T) {
		r := runCmd(t, c, "", mounts, "cat:/src/main.go", "cat:main.go", "pwd", "ls:/src")
		if r.err != nil || r.code != 0 {
			t.Fatalf("%+v", r)
		}
		// The first mount is a Go program's working directory.
		want := "package main\npackage main\n/src\nabs-out\ndir-out\nmain.go\nnested\nrel-in\nrel-out\nrel-round\n"
		if r.stdout != want {
			t.Errorf("stdout %q, want %q", r.stdout, want)
		}
		for _, op := range []string{"write:/src/main.go:x", "write:/src/new.go:x", "append:/src/main.go:x", "mkdir:/src/d", "rm:/src/main.go", "symlink:main.go:/src/l"} {
			r := runCmd(t, c, "", mounts, op)
			if r.code != 1 || !strings.Contains(strings.ToLower(r.stderr), "read-only file system") {
				t.Errorf("%s: %+v, want exit 1 with read-only file system", op, r)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(src, "main.go")); string(b) != "package main\n" {
			t.Errorf("src/main.go is now %q", b)
		}
		if _, err := os.Lstat(filepath.Join(src, "new.go")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("src/new.go was created (%v)", err)
		}
	})

	t.Run("read-write mount", func(t *testing.T) {
		r := runCmd(t, c, "", mounts, "write:/out/a.txt:one", "append:/out/a.txt:two", "mkdir:/out/d", "write:/out/d/b.txt:b", "rm:/out/d/b.txt", "rm:/out/d",
			"symlink:a.txt:/out/link", "readlink:/out/link", "cat:/out/link")
		if r.err != nil || r.code != 0 || r.stdout != "a.txt\nonetwo" {
			t.Fatalf("%+v, want the link's target and the file through it", r)
		}
		if b, err := os.ReadFile(filepath.Join(out, "a.txt")); err != nil || string(b) != "onetwo" {
			t.Errorf("out/a.txt on the host: %q, %v", b, err)
		}
		if _, err := os.Lstat(filepath.Join(out, "d")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("out/d still exists (%v)", err)
		}
	})

	t.Run("escapes", func(t *testing.T) {
		write(filepath.Join(out, "x.txt"), "SECRET")
		// Symlinks that leave the mount are refused as "operation not permitted"; paths that
		// name no mount find no file system ("bad file number", EBADF).
		for _, op := range []string{
			"cat:/src/abs-out", "cat:/src/rel-out", "ls:/src/dir-out", "cat:/src/dir-out/x.txt",
			"cat:/src/rel-round", "cat:/src/nested",
			"cat:/src/../secret.txt", "cat:../secret.txt", "cat:/secret.txt", "cat:" + secret,
		} {
			r := runCmd(t, c, "", mounts, op)
			want := "operation not permitted"
			if !strings.HasPrefix(op, "cat:/src/") && !strings.HasPrefix(op, "ls:/src/") || strings.Contains(op, "..") {
				want = "bad file number"
			}
			if r.code != 1 || strings.Contains(r.stdout, "SECRET") || !strings.Contains(strings.ToLower(r.stderr), want) {
				t.Errorf("%s: %+v, want a failure (%s) that reads nothing", op, r, want)
			}
		}
		if r := runCmd(t, c, "", mounts, "cat:/src/rel-in"); r.code != 0 || r.stdout != "package main\n" {
			t.Errorf("a symlink inside the mount: %+v", r)
		}
		// Links the guest makes may not point out of the mount.
		for _, op := range []string{"symlink:" + secret + ":/out/l", "symlink:../secret.txt:/out/l", "symlink:../../secret.txt:/out/d2/l"} {
			r := runCmd(t, c, "", mounts, op)
			if r.code != 1 || !strings.Contains(strings.ToLower(r.stderr), "operation not permitted") {
				t.Errorf("%s: %+v, want operation not permitted", op, r)
			}
		}
		if _, err := os.Lstat(filepath.Join(out, "l")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("out/l was created (%v)", err)
		}
		// A link planted on the host in a read-write mount is not followed out either, and
		// writing through it leaves the secret alone.
		if err := os.Symlink(secret, filepath.Join(out, "planted")); err != nil {
			t.Fatal(err)
		}
		if r := runCmd(t, c, "", mounts, "write:/out/planted:pwned"); r.code != 1 {
			t.Errorf("writing through a planted link: %+v, want a failure", r)
		}
		if b, _ := os.ReadFile(secret); string(b) != "SECRET" {
			t.Errorf("secret.txt is now %q", b)
		}
	})

	t.Run("no mounts", func(t *testing.T) {
		r := runCmd(t, c, "", nil, "cat:/src/main.go")
		if r.code != 1 || r.stdout != "" {
			t.Errorf("%+v, want a failure: nothing is mounted", r)
		}
	})

	t.Run("bad mounts", func(t *testing.T) {
		for _, tt := range []struct {
			mounts []runtime.Mount
			want   string
		}{
			{[]runtime.Mount{{HostDir: filepath.Join(tmp, "missing"), GuestPath: "/m"}}, "mount /m: "},
			{[]runtime.Mount{{HostDir: secret, GuestPath: "/m"}}, "mount /m: "},
			{[]runtime.Mount{{HostDir: src, GuestPath: "m"}}, `guest path "m" is not an absolute, clean slash path`},
			{[]runtime.Mount{{HostDir: src, GuestPath: "/m/"}}, `guest path "/m/" is not an absolute`},
			{[]runtime.Mount{{HostDir: src, GuestPath: "/m"}, {HostDir: out, GuestPath: "/m"}}, `guest path "/m" is mounted twice`},
		} {
			r := runCmd(t, c, "", tt.mounts, "pwd")
			if !errors.Is(r.err, runtime.ErrBadMount) || !errors.Is(r.err, runtime.ErrSetup) || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("%+v: %v, want a setup ErrBadMount containing %q", tt.mounts, r.err, tt.want)
			}
		}
	})
}
