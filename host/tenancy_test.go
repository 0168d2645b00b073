package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/executor"
	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/store"
)

// Tenant b cannot see, delete, route to or list tenant a's tasks and runners: ErrNotFound.
func TestIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.start(t, host.Config{Tenants: []host.Tenant{
		{Name: "a", Runners: runnersDir(t, fixtures+"emit-run.wasm")},
		{Name: "b", Runners: runnersDir(t, fixtures+"ok.wasm")},
	}})
	create(t, h, "a", "secret", fixtureSpec("s", 5000, ""))
	waitTask(t, h, key("a", "secret"), "terminal", isTerminal)
	if _, err := h.GetTask(t.Context(), key("b", "secret")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b gets a's task: %v", err)
	}
	if err := h.DeleteTask(t.Context(), key("b", "secret"), "", 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b deletes a's task: %v", err)
	}
	if _, err := h.TaskRuns(t.Context(), key("b", "secret")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b reads a's runs: %v", err)
	}
	if _, err := h.TaskLogs(t.Context(), key("b", "secret"), 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b reads a's logs: %v", err)
	}
	page, err := h.ListTasks(t.Context(), "b", store.ListOptions{})
	if err != nil || len(page.Tasks) != 0 {
		t.Errorf("b lists %d tasks (%v), want none", len(page.Tasks), err)
	}
	if _, err := h.GetTask(t.Context(), key("a", "secret")); err != nil {
		t.Errorf("a gets its own task: %v", err)
	}
	runners, _ := h.Runners(t.Context(), "b")
	if len(runners) != 1 || runners[0].Name != "fixture-ok" || runners[0].Scope != host.ScopeTenant {
		t.Errorf("b's runners %+v, want only fixture-ok", runners)
	}
	spec, _ := abi.ParseTaskSpec([]byte(fixtureSpec("s", 1000, "")))
	verdicts, err := h.Route(t.Context(), "b", spec)
	if err != nil || len(verdicts) != 1 || verdicts[0].Runner != "fixture-ok" || verdicts[0].Verdict != "chosen" {
		t.Errorf("b's route %+v (%v), want fixture-ok chosen", verdicts, err)
	}
	if err := h.DeleteRunner(t.Context(), "b", "emit-run"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b deletes a's runner: %v", err)
	}
	if _, err := h.Runners(t.Context(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown tenant: %v", err)
	}
	// b's task runs on b's runner, under its own run-id sequence numbers' store.
	create(t, h, "b", "secret", fixtureSpec("s", 5000, ""))
	if task := waitTask(t, h, key("b", "secret"), "terminal", isTerminal); task.Plan.Runner != "fixture-ok" {
		t.Errorf("b's task ran on %q", task.Plan.Runner)
	}
}

// Running and queued tasks are bounded per tenant; creates are rate limited.
func TestRunningQueuedAndRateLimits(t *testing.T) {
	t.Parallel()
	h, _ := oneTenant(t, runnersDir(t, fixtures+"loop-run.wasm"), host.Limits{MaxRunning: 1, MaxQueued: 1}, host.Capabilities{})
	create(t, h, "a", "one", fixtureSpec("s1", 60000, ""))
	waitTask(t, h, key("a", "one"), "running", isRunning)
	create(t, h, "a", "two", fixtureSpec("s2", 60000, ""))
	time.Sleep(50 * time.Millisecond) // a worker parks it: still queued
	if task, _ := h.GetTask(t.Context(), key("a", "two")); task.Status.Phase != store.PhasePending {
		t.Fatalf("two: %s, want pending behind MaxRunning 1", task.Status.Phase)
	}
	m, raw := manifest(t, "three", fixtureSpec("s3", 60000, ""))
	_, err := h.CreateTask(t.Context(), "a", m, raw)
	var qe *host.QuotaError
	if !errors.As(err, &qe) || qe.Limit != "queuedTasks" || qe.Tenant != "a" {
		t.Fatalf("third create: %v, want the queuedTasks quota", err)
	}
	if err := h.DeleteTask(t.Context(), key("a", "one"), "", 0); err != nil {
		t.Fatal(err)
	}
	waitTask(t, h, key("a", "two"), "running", isRunning) // the slot passed on

	rl, _ := oneTenant(t, runnersDir(t, fixtures+"ok.wasm"), host.Limits{CreateRate: 0.5, CreateBurst: 1}, host.Capabilities{})
	create(t, rl, "a", "r1", fixtureSpec("s", 5000, ""))
	m, raw = manifest(t, "r2", fixtureSpec("s", 5000, ""))
	_, err = rl.CreateTask(t.Context(), "a", m, raw)
	if !errors.As(err, &qe) || qe.Limit != "createRate" || qe.RetryAfter <= 0 || qe.RetryAfter > 2*time.Second {
		t.Fatalf("second create: %v, want the createRate quota with a Retry-After", err)
	}
}

// The output tail is bounded by MaxOutputBytes; the total memory of a tenant's instances by
// MaxTotalMemoryPages: a run that finds no room fails, naming the budget.
func TestOutputAndMemoryLimits(t *testing.T) {
	t.Parallel()
	h, _ := oneTenant(t, runnersDir(t, fixtures+"emit-run.wasm"), host.Limits{MaxOutputBytes: 7}, host.Capabilities{})
	create(t, h, "a", "out", fixtureSpec("s", 5000, ""))
	waitTask(t, h, key("a", "out"), "terminal", isTerminal)
	runs, _ := h.TaskRuns(t.Context(), key("a", "out"))
	if got := string(runs[0].OutputTail); got != "ed\ndone" {
		t.Errorf("tail %q, want the last 7 bytes", got)
	}

	e := newEnv(t)
	mh := e.start(t, host.Config{MemoryWait: -1, Tenants: []host.Tenant{{Name: "a", Runners: runnersDir(t, fixtures+"loop-run.wasm"),
		Limits: host.Limits{MaxMemoryPages: 16, MaxTotalMemoryPages: 48}}}})
	// The pooled instance of supports and build holds 16 pages; two runs take the rest. One
	// task at a time: two builds at once would take a second pooled instance, and then the
	// budget would (rightly) leave room for one run only.
	create(t, mh, "a", "m1", fixtureSpec("s1", 60000, ""))
	waitTask(t, mh, key("a", "m1"), "running", isRunning)
	create(t, mh, "a", "m2", fixtureSpec("s2", 60000, ""))
	waitTask(t, mh, key("a", "m2"), "running", isRunning)
	create(t, mh, "a", "m3", fixtureSpec("s3", 60000, ""))
	task := waitTask(t, mh, key("a", "m3"), "terminal", isTerminal)
	if task.Status.Phase != store.PhaseFailed || !strings.Contains(task.Status.Error, "memory budget") {
		t.Errorf("third run: %+v, want failed on the memory budget", task.Status)
	}
}

// Exec plans run under the tenant's allow-list; without it they are refused before any
// attempt (PolicyDenied). Wasi plans run modules of the tenant's wasi directory.
//
// Not parallel: the Go runner's compilation under the race detector, beside the other tests'
// compilations, can overrun the runtime's compile budget (then nothing routes).
func TestExecAndWasiPlans(t *testing.T) {
	subprocess := `{"slot":"x","kind":{"subprocess":{"mode":{"command":{"command":"echo","args":["hi","there"]}},"failOnNonZero":true}},"timeout":10000}`
	dir := runnersDir(t, examples+"go-subprocess.wasm")
	h, _ := oneTenant(t, dir, host.Limits{}, host.Capabilities{Exec: []string{"echo"}})
	routable(t, h, subprocess)
	create(t, h, "a", "exec", subprocess)
	task := waitTask(t, h, key("a", "exec"), "terminal", isTerminal)
	runs, _ := h.TaskRuns(t.Context(), key("a", "exec"))
	if len(runs) == 0 {
		t.Fatalf("exec: no run: %+v", task.Status)
	}
	if task.Status.Phase != store.PhaseSucceeded || task.Status.ExitCode == nil || *task.Status.ExitCode != 0 || string(runs[0].OutputTail) != "hi there\n" {
		t.Errorf("exec: %+v, tail %q", task.Status, runs[0].OutputTail)
	}
	denied, _ := oneTenant(t, dir, host.Limits{}, host.Capabilities{})
	routable(t, denied, subprocess)
	create(t, denied, "a", "exec", subprocess)
	task = waitTask(t, denied, key("a", "exec"), "terminal", isTerminal)
	if task.Status.Phase != store.PhaseFailed || task.Status.Reason != host.ReasonPolicyDenied || task.Status.Attempt != 0 {
		t.Errorf("exec without the grant: %+v, want PolicyDenied before any attempt", task.Status)
	}
	var pe *executor.PolicyError
	if err := denied.TaskError(key("a", "exec")); !errors.As(err, &pe) || pe.Policy != executor.PolicyExec || pe.Name != "echo" {
		t.Errorf("TaskError %v, want the exec policy's refusal of echo", err)
	}

	wasiDir := runnersDir(t, fixtures+"wasi-echo.wasm")
	wh, _ := oneTenant(t, runnersDir(t, fixtures+"wasi-plan.wasm"), host.Limits{}, host.Capabilities{WasiDir: wasiDir})
	create(t, wh, "a", "wasi", fixtureSpec("w", 10000, ""))
	task = waitTask(t, wh, key("a", "wasi"), "terminal", isTerminal)
	runs, _ = wh.TaskRuns(t.Context(), key("a", "wasi"))
	if task.Status.ExitCode == nil || *task.Status.ExitCode != 2 || !strings.HasPrefix(string(runs[0].OutputTail), "a\nb\n") {
		t.Errorf("wasi: %+v, tail %q, want exit 2 with the args on stdout", task.Status, runs[0].OutputTail)
	}
}

// PushRunner loads a module as hot reload would before writing it; a rejection writes
// nothing. DeleteRunner removes it; RunnerEvents reports both.
func TestPushAndDeleteRunner(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h, _ := oneTenant(t, dir, host.Limits{}, host.Capabilities{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events, err := h.RunnerEvents(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	wasm, _ := os.ReadFile(fixtures + "ok.wasm")
	info, err := h.PushRunner(t.Context(), "a", "ok.wasm", wasm)
	if err != nil || info.Name != "fixture-ok" || info.File != "ok.wasm" || info.LoadedAt.IsZero() || !strings.HasPrefix(info.Digest, "sha256:") {
		t.Fatalf("push: %+v, %v", info, err)
	}
	if ev := <-events; ev.Type != "loaded" || ev.Runner != "fixture-ok" {
		t.Errorf("event %+v, want loaded", ev)
	}
	bad, _ := os.ReadFile(fixtures + "bad-name.wasm")
	_, err = h.PushRunner(t.Context(), "a", "bad.wasm", bad)
	var le *runtime.LoadError
	if !errors.As(err, &le) {
		t.Errorf("push of a bad module: %v, want a *runtime.LoadError", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.wasm")); !os.IsNotExist(err) {
		t.Errorf("the rejected module was written: %v", err)
	}
	if _, err := h.PushRunner(t.Context(), "a", "../x.wasm", wasm); !errors.As(err, &le) {
		t.Errorf("push to a path: %v, want a *runtime.LoadError", err)
	}
	if _, err := h.PushRunner(t.Context(), "a", "again.wasm", wasm); !errors.As(err, &le) || !errors.Is(err, runtime.ErrDuplicateName) {
		t.Errorf("push of a runner name another file serves: %v", err)
	}
	if err := h.DeleteRunner(t.Context(), "a", "fixture-ok"); err != nil {
		t.Fatal(err)
	}
	if rs, _ := h.Runners(t.Context(), "a"); len(rs) != 0 {
		t.Errorf("runners after delete: %+v", rs)
	}
	if err := h.DeleteRunner(t.Context(), "a", "fixture-ok"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// routable waits until the Go runner's supports answers within its deadline: its first
// instantiation under the race detector, with other tests compiling beside it, may not.
func routable(t *testing.T, h *host.Host, spec string) {
	t.Helper()
	s, err := abi.ParseTaskSpec([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		vs, err := h.Route(t.Context(), "a", s)
		if err == nil && len(vs) > 0 && vs[0].Verdict == "chosen" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never routable: %+v, %v", vs, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
