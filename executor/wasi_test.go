package executor_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/executor"
	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

func TestParseMountGrant(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want executor.MountGrant
	}{
		{"/srv/src:/src", executor.MountGrant{Host: "/srv/src", Guest: "/src"}},
		{"/srv/src:/src:ro", executor.MountGrant{Host: "/srv/src", Guest: "/src"}},
		{"/srv/out:/out:rw", executor.MountGrant{Host: "/srv/out", Guest: "/out", ReadWrite: true}},
		{"rel/dir:/", executor.MountGrant{Host: "rel/dir", Guest: "/"}},
		{"C:/data:/data:rw", executor.MountGrant{Host: "C:/data", Guest: "/data", ReadWrite: true}},
	} {
		g, err := executor.ParseMountGrant(tt.in)
		if err != nil || g != tt.want {
			t.Errorf("ParseMountGrant(%q) = %+v, %v; want %+v", tt.in, g, err, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"/srv/src", "want HOST:GUEST[:ro|rw]"},
		{":/src", "the host directory is empty"},
		{"/srv/src:src", `the guest path "src" is not an absolute, clean slash path`},
		{"/srv/src:/src/", `the guest path "/src/" is not`},
		{"/srv/src:/a/../b:rw", `the guest path "/a/../b" is not`},
		{"/srv/src:/src:RW", `the guest path "RW" is not`},
	} {
		_, err := executor.ParseMountGrant(tt.in)
		if !errors.Is(err, executor.ErrMountGrant) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.in) {
			t.Errorf("ParseMountGrant(%q) = %v, want an ErrMountGrant naming it and containing %q", tt.in, err, tt.want)
		}
	}
}

// TestWasiPolicy: a plan gets only mounts the operator granted, read-write only where granted
// so; every refusal is a fatal *PolicyError naming what was asked for, and Check says the same
// before anything runs.
func TestWasiPolicy(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	grants := []executor.MountGrant{{Host: t.TempDir(), Guest: "/src"}, {Host: t.TempDir(), Guest: "/out", ReadWrite: true}}
	cfg := &executor.Config{Runtime: rt, ModuleDir: modules, Mounts: grants}
	for _, tt := range []struct {
		name   string
		plan   abi.WasiPlan
		policy string
		want   string
	}{
		{"unlisted mount", abi.WasiPlan{Module: "wasi-echo.wasm", Mounts: []abi.WasiMount{{Guest: "/src"}, {Guest: "/data"}}},
			executor.PolicyWasiMount, `wasi mount "/data" denied by policy: not granted (granted: /src ro, /out rw)`},
		{"read-write on a read-only grant", abi.WasiPlan{Module: "wasi-echo.wasm", Mounts: []abi.WasiMount{{Guest: "/src", Mode: abi.MountReadWrite}}},
			executor.PolicyWasiMount, `wasi mount "/src" denied by policy: the plan asks for read-write; it is granted read-only`},
		{"module outside the directory", abi.WasiPlan{Module: "../modules/wasi-echo.wasm"},
			executor.PolicyWasiModule, `wasi module "../modules/wasi-echo.wasm" denied by policy: must be a local path`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := cfg.Check(&abi.Plan{Wasi: &tt.plan})
			var pe *executor.PolicyError
			if !errors.As(err, &pe) || pe.Policy != tt.policy || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check: %v, want a %s PolicyError containing %q", err, tt.policy, tt.want)
			}
			task, _, err := cfg.Task(&router.Built{Plan: &abi.Plan{Wasi: &tt.plan}})
			if err != nil {
				t.Fatal(err)
			}
			var l lines
			_, err = task.Execute(t.Context(), attempt, l.sink)
			if !errors.Is(err, executor.ErrPolicy) || fatalKind(err) != router.ErrorBackendConfigFailed || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Execute: %v, want a fatal policy error containing %q", err, tt.want)
			}
			if len(l.got) != 0 {
				t.Errorf("lines %q: the module ran", l.got)
			}
		})
	}
	noGrants := &executor.Config{Runtime: rt, ModuleDir: modules}
	err := noGrants.Check(&abi.Plan{Wasi: &abi.WasiPlan{Module: "wasi-echo.wasm", Mounts: []abi.WasiMount{{Guest: "/src"}}}})
	if !strings.Contains(err.Error(), `wasi mount "/src" denied by policy: not granted: this host grants wasi plans no directory`) {
		t.Errorf("no grants: %v", err)
	}
	for _, p := range []*abi.Plan{
		{Wasi: &abi.WasiPlan{Module: "wasi-echo.wasm", Mounts: []abi.WasiMount{{Guest: "/out", Mode: abi.MountReadWrite}, {Guest: "/src", Mode: abi.MountReadOnly}}}},
		{Wasi: &abi.WasiPlan{Module: "wasi-echo.wasm"}},
		{Guest: &abi.GuestPlan{}},
	} {
		if err := cfg.Check(p); err != nil {
			t.Errorf("Check(%+v): %v, want nil", p, err)
		}
	}
	err = cfg.Check(&abi.Plan{Exec: &abi.ExecPlan{Command: "rm"}})
	var pe *executor.PolicyError
	if !errors.As(err, &pe) || pe.Policy != executor.PolicyExec || pe.Name != "rm" || err.Error() != `exec of "rm" denied by policy: the allow-list is empty (exec plans are denied by default)` {
		t.Errorf("Check(exec rm): %v", err)
	}
}

// TestWasiStdinAndMounts runs tests/testdata/wasifs (a Go WASI command) through the executor:
// the plan's stdin reaches it, a granted mount is visible where the plan asked for it, a
// read-only grant or request refuses writes, and a directory the plan did not ask for is
// not mounted even though it is granted.
func TestWasiStdinAndMounts(t *testing.T) {
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "wasifs.wasm"), "../tests/testdata/wasifs")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building tests/testdata/wasifs: %v\n%s", err, msg)
	}
	src, out := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The compiler, reading the command from the shared test cache warmed outside the race
	// detector: compiling a Go module to machine code takes minutes under -race on a busy
	// machine, and each attempt loads the command again. Without a shared cache to warm, the
	// interpreter.
	rtCfg := runtime.Config{Engine: "wazero-interpreter", Limits: runtime.Limits{MaxInputBytes: 16}}
	if testcache.Dir() != "" {
		if err := testcache.Warm(testcache.Command, filepath.Join(dir, "wasifs.wasm")); err != nil {
			t.Logf("the shared compilation cache is not warm (%v): the interpreter runs the command", err)
		} else {
			rtCfg.Engine, rtCfg.CacheDir = "wazero", testcache.Dir()
		}
	}
	rt := newRuntime(t, rtCfg)
	cfg := &executor.Config{Runtime: rt, ModuleDir: dir, Mounts: []executor.MountGrant{{Host: src, Guest: "/src"}, {Host: out, Guest: "/out", ReadWrite: true}}}
	run := func(stdin string, mounts []abi.WasiMount, args ...string) ([]string, error) {
		t.Helper()
		task, _, err := cfg.Task(&router.Built{Plan: &abi.Plan{Wasi: &abi.WasiPlan{Module: "wasifs.wasm", Args: args, Stdin: []byte(stdin), Mounts: mounts}}})
		if err != nil {
			t.Fatal(err)
		}
		var l lines
		_, err = task.Execute(t.Context(), attempt, l.sink)
		return l.got, err
	}

	got, err := run("line 1\nline 2", nil, "stdin")
	if err != nil || !slices.Equal(got, []string{"stdout line 1", "stdout line 2"}) {
		t.Errorf("stdin: %q, %v", got, err)
	}
	_, err = run(strings.Repeat("x", 17), nil, "stdin")
	if !errors.Is(err, runtime.ErrInputTooLarge) || fatalKind(err) == "" {
		t.Errorf("stdin over the limit: %v, want a fatal ErrInputTooLarge", err)
	}

	got, err = run("", []abi.WasiMount{{Guest: "/src"}}, "cat:main.go", "ls:/src")
	if err != nil || !slices.Equal(got, []string{"stdout package main", "stdout main.go"}) {
		t.Errorf("read-only mount: %q, %v", got, err)
	}
	got, err = run("", []abi.WasiMount{{Guest: "/src"}}, "write:/src/x:y")
	if ee := (*supervisor.ExitError)(nil); !errors.As(err, &ee) || len(got) != 1 || !strings.Contains(strings.ToLower(got[0]), "read-only file system") {
		t.Errorf("writing to a read-only grant: %q, %v; want exit 1 with read-only file system", got, err)
	}
	// The plan asks for /out read-only: it gets that, though the grant is read-write.
	got, err = run("", []abi.WasiMount{{Guest: "/out", Mode: abi.MountReadOnly}}, "write:/out/x:y")
	if err == nil || len(got) != 1 || !strings.Contains(strings.ToLower(got[0]), "read-only file system") {
		t.Errorf("a read-only request of a read-write grant: %q, %v", got, err)
	}
	got, err = run("", []abi.WasiMount{{Guest: "/out"}}, "write:/out/x:y", "cat:/out/x")
	if err != nil || !slices.Equal(got, []string{"stdout y"}) {
		t.Errorf("read-write mount: %q, %v", got, err)
	}
	// Granted but not asked for: not there.
	got, err = run("", []abi.WasiMount{{Guest: "/out"}}, "cat:/src/main.go")
	if err == nil || slices.Contains(got, "stdout package main") {
		t.Errorf("an unrequested grant was mounted: %q, %v", got, err)
	}
	// A granted directory that has gone is a fatal configuration error, not the module's.
	gone := &executor.Config{Runtime: rt, ModuleDir: dir, Mounts: []executor.MountGrant{{Host: filepath.Join(src, "gone"), Guest: "/gone"}}}
	task, _, _ := gone.Task(&router.Built{Plan: &abi.Plan{Wasi: &abi.WasiPlan{Module: "wasifs.wasm", Mounts: []abi.WasiMount{{Guest: "/gone"}}}}})
	_, err = task.Execute(t.Context(), attempt, func(supervisor.Line) {})
	if !errors.Is(err, runtime.ErrBadMount) || fatalKind(err) != router.ErrorBackendConfigFailed {
		t.Errorf("a missing granted directory: %v, want a fatal backend_config_failed ErrBadMount", err)
	}
}
