package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
)

// A Rust or AssemblyScript build of a committed module takes ~6 s of CPU, and
// TestNonGoModulesFresh makes eight of them on every run of the suite. buildMemo remembers,
// in the shared test cache, what a build command produced from the exact content of its
// inputs, so that a run over unchanged sources compares the committed module with that
// output instead of building it again, as go test does for packages. The key is the command
// line, its working directory, the toolchain's own version report, and every file (path and
// bytes) of the SDK directory and of the runner's source directory; any change builds again.
// With SOLTI_TEST_CACHE=off, or for other languages (C builds in a fraction of a second),
// every run builds.

// memoKey is the key of a build, or "" when it is not memoized: lang's toolchain is asked
// for its version (an error there is left for the build itself to report).
func memoKey(t *testing.T, root, lang, dir string, args []string, out int) string {
	t.Helper()
	if testcache.Dir() == "" {
		return ""
	}
	h := sha256.New()
	line := slices.Clone(args)
	line[out] = "OUT"
	rel, _ := filepath.Rel(root, dir)
	fmt.Fprintf(h, "%q %q\n", rel, line)
	var sdk string
	switch lang {
	case "rust":
		rustc := os.Getenv("RUSTC")
		if rustc == "" {
			rustc = "/usr/bin/rustc"
		}
		v, err := exec.Command(rustc, "-vV").Output()
		if err != nil {
			return ""
		}
		h.Write(v)
		sdk = filepath.Join(root, "guest-sdk", "rust")
	case "assemblyscript":
		sdk = filepath.Join(root, "guest-sdk", "assemblyscript")
		v, err := exec.Command("node", "--version").Output()
		if err != nil {
			return ""
		}
		h.Write(v)
		// The compiler npm installed (package-lock.json, hashed with the SDK, pins it; a
		// node_modules that drifted from it is caught here).
		asc, err := os.ReadFile(filepath.Join(sdk, "node_modules", "assemblyscript", "package.json"))
		if err != nil {
			return ""
		}
		h.Write(asc)
	default:
		return ""
	}
	src := ""
	for _, a := range args[1:] {
		if strings.HasSuffix(a, ".rs") || strings.HasSuffix(a, ".ts") {
			src = filepath.Dir(filepath.Join(dir, a))
			break
		}
	}
	if src == "" {
		t.Fatalf("cannot tell the source directory of %q", args)
	}
	for _, tree := range []string{sdk, src} {
		if err := hashTree(h, root, tree); err != nil {
			t.Fatalf("hashing the inputs of %q: %v", args, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashTree writes the path (relative to root) and bytes of every regular file under dir to
// h, in lexical order, leaving out node_modules (the compiler, keyed by its version).
func hashTree(h io.Writer, root, dir string) error {
	return filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && e.Name() == "node_modules" {
			return filepath.SkipDir
		}
		if !e.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "%q %d\n", filepath.ToSlash(rel), len(b))
		_, err = h.Write(b)
		return err
	})
}

// memoPath is where the output of the build keyed key is kept.
func memoPath(key string) string {
	return filepath.Join(testcache.Dir(), "toolchain-builds", key+".wasm")
}

// memoLoad copies a remembered output to out; false when there is none.
func memoLoad(key, out string) bool {
	if key == "" {
		return false
	}
	b, err := os.ReadFile(memoPath(key))
	return err == nil && os.WriteFile(out, b, 0o644) == nil
}

// memoStore remembers the output at out under key (atomically: concurrent test binaries may
// store the same key). A failure only means the next run builds again.
func memoStore(t *testing.T, key, out string) {
	if key == "" {
		return
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	p := memoPath(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Logf("not remembering the build: %v", err)
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		t.Logf("not remembering the build: %v", err)
		return
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		t.Logf("not remembering the build: %v", err)
	}
}

// A memo key changes with every input it names, and only with them.
func TestMemoKeyFollowsInputs(t *testing.T) {
	t.Parallel()
	if testcache.Dir() == "" {
		t.Skip("no shared test cache (SOLTI_TEST_CACHE=off): nothing is memoized")
	}
	requireTool(t, "node")
	root := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("guest-sdk/assemblyscript/assembly/index.ts", "sdk")
	write("guest-sdk/assemblyscript/node_modules/assemblyscript/package.json", `{"version":"1"}`)
	write("r/src/index.ts", "runner")
	write("r/src/util.ts", "util")
	write("other/x.ts", "elsewhere")
	args := []string{"../guest-sdk/assemblyscript/build.sh", "src/index.ts", "out.wasm"}
	dir := filepath.Join(root, "r")
	key := func() string { return memoKey(t, root, "assemblyscript", dir, args, 2) }
	base := key()
	if base == "" || key() != base {
		t.Fatalf("keys of the same inputs: %q, %q", base, key())
	}
	write("other/x.ts", "changed elsewhere")
	if key() != base {
		t.Error("a file outside the SDK and the source directory changed the key")
	}
	args[2] = "elsewhere.wasm"
	if key() != base {
		t.Error("the output path changed the key")
	}
	for _, change := range []struct{ file, content string }{
		{"r/src/util.ts", "util 2"},
		{"guest-sdk/assemblyscript/assembly/index.ts", "sdk 2"},
		{"guest-sdk/assemblyscript/node_modules/assemblyscript/package.json", `{"version":"2"}`},
		{"r/src/new.ts", "a new file"},
	} {
		prev := key()
		write(change.file, change.content)
		if key() == prev {
			t.Errorf("changing %s left the key as it was", change.file)
		}
	}
	prev := key()
	args[1] = "src/util.ts"
	if key() == prev {
		t.Error("another command line kept the key")
	}
}
