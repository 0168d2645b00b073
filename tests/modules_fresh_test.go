package tests

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNonGoModulesFresh rebuilds every committed module that a //go:generate line of
// examples/gen.go or tests/conformance/gen.go builds with a non-Go toolchain (Rust, C,
// AssemblyScript), plus the Go and WAT conformance runners, with exactly that line's command but a
// temporary output, and fails when a committed module differs from what its source builds to.
// (The Go and WAT examples and fixtures are checked by TestExamplesGoModulesFresh and
// TestExamplesWatModulesFresh.) Without a toolchain the language is skipped, except with
// CI=true, where .ci/run has installed them all. A Rust or AssemblyScript build whose inputs
// are unchanged since an earlier run on this machine is not run again (buildmemo_test.go).
func TestNonGoModulesFresh(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	found := 0
	for _, gen := range []string{"examples/gen.go", "tests/conformance/gen.go", "tests/sdkbench/gen.go"} {
		for i, line := range generateLines(t, filepath.Join(root, gen)) {
			args := strings.Fields(line)
			lang := generateLang(args)
			if lang == "" || gen == "examples/gen.go" && (lang == "go" || lang == "wat") {
				continue
			}
			out := outputArg(args)
			if out < 0 {
				t.Fatalf("%s: cannot tell the output of %q", gen, line)
			}
			found++
			dir := filepath.Dir(filepath.Join(root, gen))
			committed := filepath.Join(dir, args[out])
			rel, _ := filepath.Rel(root, committed)
			t.Run(filepath.ToSlash(rel), func(t *testing.T) {
				t.Parallel() // each build writes only its own temporary output
				requireToolchain(t, root, lang)
				key := memoKey(t, root, lang, dir, args, out)
				args := append([]string(nil), args...)
				args[out] = filepath.Join(t.TempDir(), strconv.Itoa(i)+".wasm")
				if memoLoad(key, args[out]) {
					t.Logf("%s: the output of an earlier build of the same inputs (buildmemo_test.go)", rel)
				} else {
					cmd := exec.Command(args[0], args[1:]...)
					cmd.Dir = dir
					cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // Go modules record it; committed with 0
					if msg, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("in %s: %s: %v\n%s", filepath.Dir(gen), strings.Join(args, " "), err, msg)
					}
					memoStore(t, key, args[out])
				}
				sameFileHint(t, args[out], committed, filepath.ToSlash(rel), "run go generate ./"+filepath.ToSlash(filepath.Dir(gen))+"/ (the toolchains are in .ci/run)")
			})
		}
	}
	if found < 8 {
		t.Fatalf("found %d module builds to check in the go:generate lines, want at least 8", found)
	}
}

// generateLines returns the commands of the //go:generate lines of a file.
func generateLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if cmd, ok := strings.CutPrefix(sc.Text(), "//go:generate "); ok {
			out = append(out, cmd)
		}
	}
	return out
}

// generateLang names the toolchain a go:generate command uses ("" for others).
func generateLang(args []string) string {
	switch {
	case strings.HasSuffix(args[0], "guest-sdk/rust/build.sh"):
		return "rust"
	case strings.HasSuffix(args[0], "guest-sdk/assemblyscript/build.sh"):
		return "assemblyscript"
	case args[0] == "clang":
		return "c"
	case args[0] == "env" && slicesContains(args, "go"):
		return "go"
	case args[0] == "wat2wasm":
		return "wat"
	}
	return ""
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// outputArg is the index of a command's output file: after -o, else the last argument.
func outputArg(args []string) int {
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			return i + 1
		}
	}
	if strings.HasSuffix(args[len(args)-1], ".wasm") {
		return len(args) - 1
	}
	return -1
}

// requireToolchain skips (or, with CI=true, fails) a test whose toolchain is missing.
func requireToolchain(t *testing.T, root, lang string) {
	t.Helper()
	switch lang {
	case "rust":
		rustc := os.Getenv("RUSTC")
		if rustc == "" {
			rustc = "/usr/bin/rustc" // the build script's default (Debian's, with the wasm32 target)
		}
		if _, err := os.Stat(rustc); err != nil {
			requireTool(t, "rustc-with-wasm32 ("+rustc+")")
		}
	case "wat":
		requireTool(t, "wat2wasm")
	case "c":
		requireTool(t, "clang")
		requireTool(t, "wasm-ld")
	case "assemblyscript":
		requireTool(t, "node")
		asc := filepath.Join(root, "guest-sdk", "assemblyscript", "node_modules", ".bin", "asc")
		if _, err := os.Stat(asc); err != nil {
			requireTool(t, "asc (npm ci in guest-sdk/assemblyscript)")
		}
	}
}

// TestCSDKWithLibc builds the C conformance runner against wasi-libc (the SDK's other mode:
// its arena then takes memory from malloc) and checks that the host loads it.
func TestCSDKWithLibc(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	requireToolchain(t, root, "c")
	if _, err := os.Stat("/usr/lib/wasm32-wasi/libc.a"); err != nil {
		requireTool(t, "wasi-libc (/usr/lib/wasm32-wasi/libc.a)")
	}
	out := filepath.Join(t.TempDir(), "conformance-c-libc.wasm")
	cmd := exec.Command("clang", "--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-Wall", "-Wextra", "-Werror",
		"-Iguest-sdk/c", "-o", out, "tests/conformance/runners/c/conformance.c")
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, msg)
	}
	r := cli(t, "inspect", out)
	expect(t, r, exitOK, []string{"name:         conformance-c", "_initialize: func () -> ()"}, nil)
}
