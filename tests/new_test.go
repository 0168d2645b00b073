package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNewScaffolds does what a new user does, in each language, from a temporary directory
// outside any checkout: runs solti-wasm new there, then the indented lines it prints under
// "build it:", verbatim, in one shell from that directory (solti-wasm on PATH), then
// solti-wasm run on the generated task. The Go project builds with GOPROXY=off and
// GOFLAGS=-mod=mod, which proves that it needs no proxy; the AssemblyScript project's npm
// install prefers npm's local cache. The generated README must give the same build commands.
// A missing toolchain skips the language, and fails with CI=true.
func TestNewScaffolds(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	bin := t.TempDir()
	// solti-wasm on PATH, with the package's shared compilation cache.
	writeFile(t, bin, "solti-wasm", "#!/bin/sh\nexec "+shellQuote(cliBin)+" --cache-dir "+shellQuote(cliCache)+` "$@"`+"\n")
	if err := os.Chmod(filepath.Join(bin, "solti-wasm"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"go", "rust", "c", "assemblyscript"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			switch lang {
			case "rust":
				requireRustWasm(t)
			case "c":
				requireToolchain(t, root, lang)
			case "assemblyscript":
				requireTool(t, "node")
				requireTool(t, "npm")
			}
			work := t.TempDir()
			if c, err := filepath.Rel(root, work); err == nil && !strings.HasPrefix(c, "..") {
				t.Fatalf("the temporary directory %s lies in the checkout %s", work, root)
			}
			name := "hello-" + lang
			newCmd := exec.Command(filepath.Join(bin, "solti-wasm"), "new", "--lang", lang, name)
			newCmd.Dir = work
			out, err := newCmd.CombinedOutput()
			if err != nil {
				t.Fatalf("in %s: solti-wasm new --lang %s %s: %v\n%s", work, lang, name, err, out)
			}
			_, steps, ok := strings.Cut(string(out), "\nbuild it:\n")
			if !ok {
				t.Fatalf("solti-wasm new prints no \"build it:\" steps:\n%s", out)
			}
			var lines []string
			for _, line := range strings.Split(strings.TrimRight(steps, "\n"), "\n") {
				cmd, ok := strings.CutPrefix(line, "    ")
				if !ok {
					t.Fatalf("build step %q is not indented by 4 spaces:\n%s", line, out)
				}
				lines = append(lines, cmd)
			}
			if len(lines) < 3 || lines[0] != "cd "+name || !strings.HasPrefix(lines[len(lines)-1], "solti-wasm inspect ") {
				t.Fatalf("build steps %q: want cd %s, the build, solti-wasm inspect MODULE", lines, name)
			}
			dir := filepath.Join(work, name)
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			if m := regexp.MustCompile("(?s)## Build\n\n```sh\n(.*?)```").FindSubmatch(readme); m == nil {
				t.Errorf("README.md has no build block:\n%s", readme)
			} else if got, want := strings.TrimSpace(string(m[1])), strings.Join(lines[1:len(lines)-1], "\n"); got != want {
				t.Errorf("README.md's build block:\n%s\nwant the printed steps:\n%s", got, want)
			}

			script := exec.Command("sh", "-e", "-x", "-c", strings.Join(lines, "\n"))
			script.Dir = work
			script.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"GOPROXY=off", "GOFLAGS=-mod=mod", "npm_config_prefer_offline=true", "npm_config_audit=false", "npm_config_fund=false")
			if out, err := script.CombinedOutput(); err != nil {
				t.Fatalf("in %s, the printed steps failed: %v\n%s", work, err, out)
			} else if !strings.Contains(string(out), "name:         "+name) {
				t.Fatalf("solti-wasm inspect does not show the runner's name %q:\n%s", name, out)
			}
			module := filepath.Join(dir, strings.TrimPrefix(lines[len(lines)-1], "solti-wasm inspect "))
			b, err := os.ReadFile(module)
			if err != nil {
				t.Fatal(err)
			}
			runners := t.TempDir()
			writeFile(t, runners, name+".wasm", string(b))
			r := cli(t, "run", "--runners", runners, filepath.Join(dir, "task.json"))
			// Every SDK's template logs the run's id, as a logfmt pair.
			expect(t, r, exitOK, []string{`{"greeting":"hello, world"}`, "log    | INFO greeting runId=" + name + "-demo-1\n"}, nil)
		})
	}
}

// TestNewGoInCheckout checks that a Go project generated inside a checkout (or with
// --solti-wasm) uses the checkout's SDK through a replace directive, and one generated
// outside gets the vendored copy, of the CLI's version.
func TestNewGoInCheckout(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	outside := filepath.Join(t.TempDir(), "p")
	r := cli(t, "new", "--lang", "go", "--dir", outside, "--solti-wasm", root, "p")
	expect(t, r, exitOK, nil, nil)
	gomod, err := os.ReadFile(filepath.Join(outside, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(outside, root)
	if !strings.Contains(string(gomod), "replace github.com/solti-wasm/solti-wasm => "+filepath.ToSlash(rel)+"\n") {
		t.Errorf("go.mod with --solti-wasm %s does not replace the module with the checkout:\n%s", root, gomod)
	}
	if _, err := os.Stat(filepath.Join(outside, "third_party")); err == nil {
		t.Errorf("with --solti-wasm, the project still gets a vendored SDK")
	}
	r = cli(t, "new", "--lang", "go", "--dir", outside+"2", "--solti-wasm", t.TempDir(), "p")
	expect(t, r, exitUsage, nil, []string{"not a solti-wasm checkout"})
}

// requireRustWasm skips (or fails, with CI=true) a test that needs a rustc with the
// wasm32-unknown-unknown standard library and a cargo, found as solti-wasm new finds them.
func requireRustWasm(t *testing.T) {
	t.Helper()
	rustWasm(t)
	requireTool(t, "cargo")
}

// rustWasm returns the first rustc, of the one on PATH and Debian's /usr/bin/rustc, that has
// the wasm32-unknown-unknown standard library; without one the test skips (fails with CI=true).
func rustWasm(t *testing.T) string {
	t.Helper()
	for _, rustc := range []string{"rustc", "/usr/bin/rustc"} {
		out, err := exec.Command(rustc, "--print", "target-libdir", "--target", "wasm32-unknown-unknown").Output()
		if err != nil {
			continue
		}
		if libs, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "libstd-*.rlib")); len(libs) > 0 {
			return rustc
		}
	}
	requireTool(t, "rustc-with-wasm32-unknown-unknown")
	return ""
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestNewRefuses checks new's usage errors.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "keep.txt", "x")
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"new", "x"}, "--lang is required"},
		{[]string{"new", "--lang", "cobol", "x"}, `--lang "cobol"`},
		{[]string{"new", "--lang", "c", "bad/name"}, `runner name "bad/name"`},
		{[]string{"new", "--lang", "c", "--kind", "subprocess", "x"}, `kind "subprocess"`},
		{[]string{"new", "--lang", "c", "--dir", dir, "x"}, "exists and is not empty"},
	} {
		r := cli(t, tt.args...)
		expect(t, r, exitUsage, nil, []string{tt.msg})
	}
}
