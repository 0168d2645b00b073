package tests

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGuestStackTraces builds runners whose supports traps three calls deep
// (tests/testdata/trace/) and checks the guest's stack in route's detail and in run's
// warnings: function names and file:line from DWARF (C and Rust built with -g), names only
// (C without -g: the name section), and function indexes (C stripped). Without the
// toolchain a language is skipped (failed with CI=true).
func TestGuestStackTraces(t *testing.T) {
	skipOnWasmtime(t, "guest stack traces from wasmtime's frames (file:line, demangling)")
	t.Parallel()
	root := repoRoot(t)
	src := filepath.Join(root, "tests", "testdata", "trace")
	clang := func(t *testing.T, out string, flags ...string) {
		requireToolchain(t, root, "c")
		args := append([]string{"--target=wasm32", "-O1", "-mbulk-memory", "-nostdlib", "-Wl,--no-entry", "-I" + filepath.Join(root, "guest-sdk", "c")}, flags...)
		build(t, "", "clang", append(args, "-o", out, filepath.Join(src, "trap.c"))...)
	}
	tests := []struct {
		name  string
		build func(t *testing.T, out string)
		// want are the stack's parts, in order; absent must not appear.
		want   []string
		absent []string
	}{
		{"c with debug info", func(t *testing.T, out string) { clang(t, out, "-g") },
			[]string{"; guest stack: trap_depth3 at ", "trap.c:6:", " <- trap_depth2 at ", "trap.c:9:", " <- trap_depth1 at ", "trap.c:10:", " <- solti__supports at "}, nil},
		{"c with names only", func(t *testing.T, out string) { clang(t, out) },
			[]string{"; guest stack: trap_depth3 <- trap_depth2 <- trap_depth1 <- solti__supports"}, []string{"trap.c"}},
		{"c stripped", func(t *testing.T, out string) { clang(t, out, "-Wl,--strip-all") },
			[]string{"; guest stack: $"}, []string{"trap_depth", "trap.c"}},
		{"rust with debug info", func(t *testing.T, out string) {
			rustc := rustWasm(t)
			flags := []string{"--edition", "2021", "--target", "wasm32-unknown-unknown", "-C", "opt-level=1", "-C", "panic=abort", "-g"}
			rlib := filepath.Join(filepath.Dir(out), "libsolti.rlib")
			build(t, filepath.Join(root, "guest-sdk", "rust"), rustc, append(flags, "--crate-type", "rlib", "--crate-name", "solti", "-o", rlib, "src/lib.rs")...)
			build(t, src, rustc, append(flags, "--crate-type", "cdylib", "--crate-name", "runner", "--extern", "solti="+rlib, "-o", out, "trap.rs")...)
		}, []string{"; guest stack: ", "runner::trap_depth3 at ", "trap.rs:9:", " <- runner::trap_depth2 at ", " <- runner::trap_depth1 at ", " <- supports at ", "trap.rs:32:"}, []string{"_ZN6runner"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.build(t, filepath.Join(dir, "trap.wasm"))
			check := func(where, s string) {
				t.Helper()
				at := 0
				for _, w := range tt.want {
					i := strings.Index(s[at:], w)
					if i < 0 {
						t.Errorf("%s lacks %q (after byte %d):\n%s", where, w, at, s)
						return
					}
					at += i + len(w)
				}
				for _, a := range tt.absent {
					if strings.Contains(s, a) {
						t.Errorf("%s holds %q:\n%s", where, a, s)
					}
				}
			}

			// --call-timeout=0: supports runs unmetered, on the module as built. Metered
			// calls run the fuel pass's rewrite, whose code offsets no longer match the
			// DWARF, which the pass therefore drops (checked below): names only.
			r := cli(t, "--call-timeout=0", "route", "--runners", dir, "-o", "json", fixtureTask(t, 2000))
			expect(t, r, exitNoRunner, nil, nil)
			var rep routeReport
			decode(t, r, &rep)
			if len(rep.Runners) != 1 || rep.Runners[0].Verdict != "supports-error" {
				t.Fatalf("route: %+v, want one supports-error", rep.Runners)
			}
			check("route's detail", rep.Runners[0].Detail)

			r = cli(t, "--call-timeout=0", "run", "--runners", dir, fixtureTask(t, 2000))
			expect(t, r, exitNoRunner, nil, []string{`msg="supports failed"`})
			check("run's warning", r.stderr)

			if tt.name == "c with debug info" {
				r = cli(t, "route", "--runners", dir, "-o", "json", fixtureTask(t, 2000))
				decode(t, r, &rep)
				d := rep.Runners[0].Detail
				if !strings.Contains(d, "; guest stack: trap_depth3 <- trap_depth2 <- trap_depth1") || strings.Contains(d, "trap.c") {
					t.Errorf("metered trace %q: want the names without file:line (the fuel pass drops DWARF)", d)
				}
			}
		})
	}
}

// build runs a toolchain command in dir ("" for the module root) and fails the test if it fails.
func build(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if dir == "" {
		cmd.Dir = cliRoot
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in %s: %s %s: %v\n%s", cmd.Dir, name, strings.Join(args, " "), err, out)
	}
}
