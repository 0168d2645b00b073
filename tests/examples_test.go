package tests

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The example modules are committed so that the host can load them without a toolchain. These
// tests rebuild them with the documented commands (examples/gen.go) and fail when a committed
// module differs from what its source builds to.

const staleHint = "run go generate ./examples/..."

// repoRoot is the module root: the tests run in tests/.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod above tests/: %v", err)
	}
	return root
}

func sameFile(t *testing.T, built, committed, rel string) {
	t.Helper()
	sameFileHint(t, built, committed, rel, staleHint)
}

// sameFileHint is sameFile with the command that rebuilds the module.
func sameFileHint(t *testing.T, built, committed, rel, hint string) {
	t.Helper()
	a, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(committed)
	if err != nil {
		t.Fatalf("%s is missing: %s", rel, hint)
	}
	if sha256.Sum256(a) != sha256.Sum256(b) {
		t.Errorf("%s is stale: %s (built %d bytes with %s, committed %d bytes; a module built "+
			"by another release of its toolchain differs too)", rel, hint, len(a), runtime.Version(), len(b))
	}
}

// TestExamplesGoModulesFresh rebuilds every Go example, examples/runners/NAME/, with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -o examples/runners/NAME.wasm ./examples/runners/NAME
//
// into a temporary directory and compares it with the committed module.
func TestExamplesGoModulesFresh(t *testing.T) {
	root := repoRoot(t)
	dirs, err := filepath.Glob(filepath.Join(root, "examples", "runners", "*", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range dirs {
		names[filepath.Base(filepath.Dir(f))] = true
	}
	if len(names) == 0 {
		t.Fatal("no Go examples under examples/runners/")
	}
	tmp := t.TempDir()
	for name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(tmp, name+".wasm")
			cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-buildmode=c-shared",
				"-o", out, "./examples/runners/"+name)
			cmd.Dir = root
			// CGO_ENABLED is recorded in the module's build info: pin it as committed, so a
			// cgo-enabled test run (the wasmtime engine's) checks the same bytes.
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("building %s: %v\n%s", name, err, msg)
			}
			sameFile(t, out, filepath.Join(root, "examples", "runners", name+".wasm"), "examples/runners/"+name+".wasm")
		})
	}
}

// TestExamplesWatModulesFresh rebuilds every *.wat under examples/ and tests/testdata/ that has
// a committed module, next to it (X.wat -> X.wasm) or at the documented path of a runner
// directory (examples/runners/NAME/*.wat -> examples/runners/NAME.wasm), with
//
//	wat2wasm FILE.wat -o OUT.wasm
//
// plus any flags named on a ";; wat2wasm-flags: ..." line of the source (say, --no-check for
// a deliberately invalid test module). A .wat without a committed module is not checked.
func TestExamplesWatModulesFresh(t *testing.T) {
	root := repoRoot(t)
	type pair struct{ src, committed string }
	var pairs []pair
	for _, dir := range []string{"examples", filepath.Join("tests", "testdata")} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && d == nil {
				return fs.SkipDir // tests/testdata/ may not exist
			}
			if err != nil || d.IsDir() || filepath.Ext(p) != ".wat" {
				return err
			}
			candidates := []string{strings.TrimSuffix(p, ".wat") + ".wasm"}
			if parent := filepath.Dir(p); filepath.Base(filepath.Dir(parent)) == "runners" {
				candidates = append(candidates, parent+".wasm")
			}
			for _, c := range candidates {
				if _, err := os.Stat(c); err == nil {
					pairs = append(pairs, pair{p, c})
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(pairs) == 0 {
		t.Skip("no .wat file with a committed module")
	}
	requireTool(t, "wat2wasm")
	tmp := t.TempDir()
	for i, p := range pairs {
		rel, _ := filepath.Rel(root, p.committed)
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			out := filepath.Join(tmp, strconv.Itoa(i)+".wasm")
			args := append(watFlags(t, p.src), p.src, "-o", out)
			if msg, err := exec.Command("wat2wasm", args...).CombinedOutput(); err != nil {
				t.Fatalf("wat2wasm %s: %v\n%s", strings.Join(args, " "), err, msg)
			}
			sameFile(t, out, p.committed, filepath.ToSlash(rel))
		})
	}
}

// watFlags returns the flags of a ";; wat2wasm-flags:" line in src.
func watFlags(t *testing.T, src string) []string {
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	const marker = ";; wat2wasm-flags:"
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, marker) {
			return strings.Fields(strings.TrimPrefix(line, marker))
		}
	}
	return nil
}
