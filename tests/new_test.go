package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNewScaffolds generates one project per language with solti-wasm new, builds it with the
// commands of its generated README (the ```sh block under "## Build"), inspects the module and
// runs the generated task through it. A missing toolchain skips the language, and fails with
// CI=true. The AssemblyScript project gets guest-sdk/assemblyscript's node_modules (npm ci)
// instead of running its `npm install`, so that the test needs no network.
func TestNewScaffolds(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	for _, lang := range []string{"go", "rust", "c", "assemblyscript"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			switch lang {
			case "rust":
				requireToolchain(t, root, "rust")
				if _, err := os.Stat("/usr/bin/cargo"); err != nil {
					requireTool(t, "cargo (/usr/bin/cargo)")
				}
			case "c", "assemblyscript":
				requireToolchain(t, root, lang)
			}
			dir := filepath.Join(t.TempDir(), "proj")
			name := "hello-" + lang
			r := cli(t, "new", "--lang", lang, "--dir", dir, name)
			expect(t, r, exitOK, []string{"created " + dir}, nil)
			if t.Failed() {
				return
			}
			if lang == "assemblyscript" {
				if err := os.Symlink(filepath.Join(root, "guest-sdk", "assemblyscript", "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
					t.Fatal(err)
				}
			}
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			m := regexp.MustCompile("(?s)## Build\n\n```sh\n(.*?)```").FindSubmatch(readme)
			if m == nil {
				t.Fatalf("README.md has no build block:\n%s", readme)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(m[1])), "\n") {
				if lang == "assemblyscript" && line == "npm install" {
					continue
				}
				cmd := exec.Command("sh", "-c", line)
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("in %s: %s: %v\n%s", dir, line, err, out)
				}
			}
			mod := regexp.MustCompile(`solti-wasm inspect (\S+)`).FindSubmatch(readme)
			if mod == nil {
				t.Fatal("README.md does not say which module to inspect")
			}
			module := filepath.Join(dir, string(mod[1]))
			r = cli(t, "inspect", module)
			expect(t, r, exitOK, []string{"name:         " + name}, nil)

			runners := t.TempDir()
			b, err := os.ReadFile(module)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, runners, name+".wasm", string(b))
			r = cli(t, "run", "--runners", runners, filepath.Join(dir, "task.json"))
			expect(t, r, exitOK, []string{`{"greeting":"hello, world"}`}, nil)
		})
	}
}

// TestNewRefuses checks new's usage errors.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "keep.txt", "x")
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"new", "x"}, `--lang ""`},
		{[]string{"new", "--lang", "cobol", "x"}, `--lang "cobol"`},
		{[]string{"new", "--lang", "c", "bad/name"}, `runner name "bad/name"`},
		{[]string{"new", "--lang", "c", "--kind", "subprocess", "x"}, `kind "subprocess"`},
		{[]string{"new", "--lang", "c", "--dir", dir, "x"}, "exists and is not empty"},
	} {
		r := cli(t, tt.args...)
		expect(t, r, exitUsage, nil, []string{tt.msg})
	}
}
