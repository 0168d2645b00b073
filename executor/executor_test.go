package executor_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/executor"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const modules = "../tests/testdata/modules"

// lines collects a sink's lines as "stream text".
type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) sink(x supervisor.Line) {
	l.mu.Lock()
	l.got = append(l.got, string(x.Stream)+" "+x.Text)
	l.mu.Unlock()
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

// byStream keeps the lines of one stream, in order (stdout and stderr interleave freely).
func (l *lines) byStream(s supervisor.Stream) []string {
	var out []string
	for _, x := range l.all() {
		if t, ok := strings.CutPrefix(x, string(s)+" "); ok {
			out = append(out, t)
		}
	}
	return out
}

var attempt = supervisor.Attempt{RunID: "r-x-1", Number: 2}

func execTask(cmd string, args []string, mut ...func(*executor.Exec)) *executor.Exec {
	e := &executor.Exec{Plan: &abi.ExecPlan{Command: cmd, Args: args, FailOnNonZero: true}, Policy: executor.ExecPolicy{Allow: []string{cmd}}}
	for _, m := range mut {
		m(e)
	}
	return e
}

func fatalKind(err error) string {
	var fe *supervisor.FatalError
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return ""
}

func TestExecStreamsLines(t *testing.T) {
	var l lines
	res, err := execTask("sh", []string{"-c", "echo one; echo two; echo oops >&2; printf 'no newline'"}).Execute(t.Context(), attempt, l.sink)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode == nil || *res.ExitCode != 0 {
		t.Errorf("exit code %v, want 0", res.ExitCode)
	}
	if got, want := l.byStream(supervisor.Stdout), []string{"one", "two", "no newline"}; !slices.Equal(got, want) {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got, want := l.byStream(supervisor.Stderr), []string{"oops"}; !slices.Equal(got, want) {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

func TestExecEnvMergeAndCwd(t *testing.T) {
	var l lines
	dir := t.TempDir()
	e := execTask("sh", []string{"-c", "echo $A $B $C; pwd"}, func(e *executor.Exec) {
		e.BaseEnv = []string{"A=base", "B=base", "PATH=" + os.Getenv("PATH")}
		e.Plan.Env = abi.EnvFromMap(map[string]string{"B": "plan", "C": "plan"})
		e.Plan.Cwd = dir
		e.Policy.Cwd = []string{dir}
	})
	if _, err := e.Execute(t.Context(), attempt, l.sink); err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if got, want := l.byStream(supervisor.Stdout), []string{"base plan plan", real}; !slices.Equal(got, want) {
		t.Errorf("stdout %q, want %q (the plan's env wins over the base)", got, want)
	}
}

func TestExecFailOnNonZero(t *testing.T) {
	res, err := execTask("sh", []string{"-c", "exit 3"}).Execute(t.Context(), attempt, func(supervisor.Line) {})
	var ee *supervisor.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || err.Error() != "process exited with non-zero code: 3" || fatalKind(err) != "" {
		t.Errorf("error %v, want a retryable ExitError of code 3", err)
	}
	if res.ExitCode == nil || *res.ExitCode != 3 {
		t.Errorf("exit code %v, want 3", res.ExitCode)
	}
	res, err = execTask("sh", []string{"-c", "exit 3"}, func(e *executor.Exec) { e.Plan.FailOnNonZero = false }).
		Execute(t.Context(), attempt, func(supervisor.Line) {})
	if err != nil || res.ExitCode == nil || *res.ExitCode != 3 {
		t.Errorf("failOnNonZero=false: %v, exit code %v; want success with code 3", err, res.ExitCode)
	}
}

func TestExecPolicy(t *testing.T) {
	for _, allow := range [][]string{nil, {"echo", "ls"}} {
		e := execTask("rm", []string{"-rf", "/nonexistent"}, func(e *executor.Exec) { e.Policy.Allow = allow })
		_, err := e.Execute(t.Context(), attempt, func(supervisor.Line) {})
		if !errors.Is(err, executor.ErrPolicy) || fatalKind(err) != router.ErrorBackendConfigFailed {
			t.Fatalf("allow %v: error %v, want a fatal policy error", allow, err)
		}
		if !strings.Contains(err.Error(), `exec of "rm" denied by policy: `) {
			t.Errorf("error %q does not name the policy and the command", err)
		}
	}
	_, err := execTask("rm", nil, func(e *executor.Exec) { e.Policy.Allow = nil }).Execute(t.Context(), attempt, nil)
	if !strings.Contains(err.Error(), "denied by default") {
		t.Errorf("error %q: want it to say exec is denied by default", err)
	}
	_, err = execTask("echo", nil, func(e *executor.Exec) { e.Policy.Allow = []string{"echo", "ls"} }).Execute(t.Context(), attempt, func(supervisor.Line) {})
	if err != nil {
		t.Errorf("allowed command: %v", err)
	}
}

func TestExecSpawnFailureIsFatal(t *testing.T) {
	_, err := execTask("/no/such/command", nil).Execute(t.Context(), attempt, func(supervisor.Line) {})
	if fatalKind(err) != router.ErrorSpawnFailed {
		t.Errorf("error %v, want fatal spawn_failed", err)
	}
	_, err = execTask("sh", []string{"-c", "true"}, func(e *executor.Exec) { e.Plan.Cwd, e.Policy.Cwd = "/no/such/dir", []string{"/"} }).Execute(t.Context(), attempt, func(supervisor.Line) {})
	if fatalKind(err) != router.ErrorSpawnFailed {
		t.Errorf("missing cwd: %v, want fatal spawn_failed", err)
	}
}

// alive reports whether pid still runs: a killed orphan stays a zombie until init reaps it.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// waitDead polls until pid is gone; killing with SIGKILL is asynchronous.
func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestExecCancelKillsTheGroup: a shell that starts a background sleep and waits; canceling
// the attempt kills both, and the attempt reports the cancellation's cause.
func TestExecCancelKillsTheGroup(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	pids := make(chan int, 1)
	sink := func(l supervisor.Line) {
		if pid, err := strconv.Atoi(l.Text); err == nil {
			pids <- pid
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := execTask("sh", []string{"-c", "sleep 300 & echo $!; wait"}).Execute(ctx, attempt, sink)
		done <- err
	}()
	child := <-pids
	cause := errors.New("stop it")
	cancel(cause)
	if err := <-done; !errors.Is(err, cause) {
		t.Errorf("error %v, want the cancel cause", err)
	}
	waitDead(t, child)
}

func TestExecTimeoutKillsTheGroup(t *testing.T) {
	timeout := &supervisor.TimeoutError{Timeout: 500 * time.Millisecond}
	ctx, cancel := context.WithTimeoutCause(t.Context(), timeout.Timeout, timeout)
	defer cancel()
	var l lines
	start := time.Now()
	_, err := execTask("sh", []string{"-c", "sleep 300 & echo $!; wait"}).Execute(ctx, attempt, l.sink)
	if !errors.Is(err, timeout) {
		t.Errorf("error %v, want the timeout cause", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	pid, _ := strconv.Atoi(l.byStream(supervisor.Stdout)[0])
	waitDead(t, pid)
}

// TestExecLeftoversAreKilled: a command that exits leaving a background process behind (which
// holds its stdout) ends promptly, and the leftover is killed.
func TestExecLeftoversAreKilled(t *testing.T) {
	var l lines
	start := time.Now()
	_, err := execTask("sh", []string{"-c", "sleep 300 & echo $!"}).Execute(t.Context(), attempt, l.sink)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: the leftover's pipe held the attempt", d)
	}
	pid, _ := strconv.Atoi(l.byStream(supervisor.Stdout)[0])
	waitDead(t, pid)
}

func newRuntime(t *testing.T, cfg runtime.Config) *runtime.Runtime {
	t.Helper()
	rt, err := runtime.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	return rt
}

func wasiTask(rt *runtime.Runtime, module string, args []string, env map[string]string) *executor.Wasi {
	return &executor.Wasi{Plan: &abi.WasiPlan{Module: module, Args: args, Env: abi.EnvFromMap(env)}, Runtime: rt, ModuleDir: modules}
}

func TestWasiArgsEnvOutputExitCode(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	var l lines
	res, err := wasiTask(rt, "wasi-echo.wasm", []string{"a", "b c"}, map[string]string{"K": "V", "Z": "1"}).Execute(t.Context(), attempt, l.sink)
	var ee *supervisor.ExitError
	if !errors.As(err, &ee) || ee.Code != 2 || res.ExitCode == nil || *res.ExitCode != 2 {
		t.Errorf("error %v, exit code %v; want a retryable exit 2 (two args)", err, res.ExitCode)
	}
	if got, want := l.byStream(supervisor.Stdout), []string{"a", "b c"}; !slices.Equal(got, want) {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got, want := l.byStream(supervisor.Stderr), []string{"K=V", "Z=1"}; !slices.Equal(got, want) {
		t.Errorf("stderr %q, want %q: the plan's env and nothing of the host's", got, want)
	}
	res, err = wasiTask(rt, "wasi-echo.wasm", nil, nil).Execute(t.Context(), attempt, func(supervisor.Line) {})
	if err != nil || res.ExitCode == nil || *res.ExitCode != 0 {
		t.Errorf("no args: %v, exit code %v; want success, 0", err, res.ExitCode)
	}
}

func TestWasiNothingGranted(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	res, _ := wasiTask(rt, "wasi-sandbox.wasm", nil, nil).Execute(t.Context(), attempt, func(supervisor.Line) {})
	if res.ExitCode == nil || *res.ExitCode != 8 {
		t.Errorf("exit code %v, want 8 (EBADF: no preopened directory)", res.ExitCode)
	}
}

func TestWasiFailures(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	_, err := wasiTask(rt, "wasi-trap.wasm", nil, nil).Execute(t.Context(), attempt, func(supervisor.Line) {})
	if !errors.Is(err, runtime.ErrTrap) || fatalKind(err) != "" {
		t.Errorf("trap: %v, want a retryable ErrTrap", err)
	}
	for _, tt := range []struct{ module, kind, want string }{
		{"../modules/wasi-echo.wasm", router.ErrorBackendConfigFailed, "must be a local path"},
		{"/etc/passwd", router.ErrorBackendConfigFailed, "must be a local path"},
		{"missing.wasm", router.ErrorModuleLoadFailed, "no such file"},
		{"ok.wasm", router.ErrorModuleLoadFailed, "a WASI command may import only"},
		{"wasi-plan.wasm", router.ErrorModuleLoadFailed, "imports func solti.output"},
	} {
		_, err := wasiTask(rt, tt.module, nil, nil).Execute(t.Context(), attempt, func(supervisor.Line) {})
		if fatalKind(err) != tt.kind || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want fatal %s mentioning %q", tt.module, err, tt.kind, tt.want)
		}
	}
	_, err = (&executor.Wasi{Plan: &abi.WasiPlan{Module: "x.wasm"}}).Execute(t.Context(), attempt, nil)
	if !errors.Is(err, executor.ErrPolicy) || fatalKind(err) == "" {
		t.Errorf("no module dir: %v, want a fatal policy error", err)
	}
}

func TestWasiStopsOnContext(t *testing.T) {
	for _, callTimeout := range []time.Duration{0, runtime.NoCallTimeout} {
		rt := newRuntime(t, runtime.Config{Limits: runtime.Limits{CallTimeout: callTimeout}})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		_, err := wasiTask(rt, "wasi-loop.wasm", nil, nil).Execute(ctx, attempt, func(supervisor.Line) {})
		cancel()
		if !errors.Is(err, runtime.ErrDeadline) {
			t.Errorf("call timeout %v: %v, want ErrDeadline", callTimeout, err)
		}
	}
}

func loadModule(t *testing.T, rt *runtime.Runtime, name string) *runtime.Module {
	t.Helper()
	m, err := rt.Load(t.Context(), filepath.Join(modules, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func TestGuest(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	ok := loadModule(t, rt, "ok.wasm")
	g := &executor.Guest{Runner: ok, Env: abi.EnvFromMap(map[string]string{"A": "1"}), Payload: []byte(`{"x":1}`)}
	res, err := g.Execute(t.Context(), attempt, func(supervisor.Line) {})
	if err != nil {
		t.Fatal(err)
	}
	var in abi.RunInput
	if err := json.Unmarshal(res.Output, &in); err != nil {
		t.Fatal(err)
	}
	if in.RunID != "r-x-1" || in.Attempt != 2 || string(in.Payload) != `{"x":1}` || len(in.Env) != 1 || res.ExitCode != nil {
		t.Errorf("run input %s: want the attempt's run id and number, the env and the payload", res.Output)
	}
}

func TestGuestStreamsLines(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	var l lines
	res, err := (&executor.Guest{Runner: loadModule(t, rt, "emit-run.wasm")}).Execute(t.Context(), attempt, l.sink)
	if err != nil || string(res.Output) != "done" {
		t.Fatalf("%v, output %q", err, res.Output)
	}
	if want := []string{"stdout one", "stdout two", "stderr careful", "log WARN logged"}; !slices.Equal(l.all(), want) {
		t.Errorf("lines %q, want %q", l.all(), want)
	}
}

func TestGuestFailures(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	_, err := (&executor.Guest{Runner: loadModule(t, rt, "trap-run.wasm")}).Execute(t.Context(), attempt, func(supervisor.Line) {})
	if !errors.Is(err, runtime.ErrTrap) || fatalKind(err) != "" {
		t.Errorf("trap: %v, want a retryable trap", err)
	}
	noRun := loadModule(t, rt, "wasi-plan.wasm")
	_, err = (&executor.Guest{Runner: noRun}).Execute(t.Context(), attempt, func(supervisor.Line) {})
	if fatalKind(err) != router.ErrorModuleLoadFailed || !errors.Is(err, runtime.ErrNoRun) {
		t.Errorf("no run export: %v, want fatal module_load_failed", err)
	}
	closed := loadModule(t, rt, "ok.wasm")
	_ = closed.Close(t.Context())
	_, err = (&executor.Guest{Runner: closed}).Execute(t.Context(), attempt, func(supervisor.Line) {})
	if fatalKind(err) != router.ErrorModuleLoadFailed || !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("closed module: %v, want fatal", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go cancel()
	_, err = (&executor.Guest{Runner: loadModule(t, rt, "loop-run.wasm")}).Execute(ctx, attempt, func(supervisor.Line) {})
	if !errors.Is(err, runtime.ErrCanceled) || fatalKind(err) != "" {
		t.Errorf("canceled: %v, want ErrCanceled", err)
	}
}

// TestThroughSupervisor runs an exec plan under the supervisor with the real clock: a
// failing command retried onFailure until maxRetries, with its exit code in the status.
func TestThroughSupervisor(t *testing.T) {
	sup := supervisor.New(supervisor.Config{})
	defer sup.Close(context.Background())
	spec := &abi.TaskSpec{Slot: "s", TimeoutMs: 5000, Restart: abi.RestartPolicy{Type: abi.RestartOnFailure}, MaxRetries: 1,
		Backoff: abi.BackoffPolicy{Jitter: abi.JitterNone, FirstMs: 1, MaxMs: 1, Factor: 1}}
	cfg := &executor.Config{Exec: executor.ExecPolicy{Allow: []string{"sh"}}}
	task, rtype, err := cfg.Task(&router.Built{Plan: &abi.Plan{Exec: &abi.ExecPlan{Command: "sh", Args: []string{"-c", "exit 4"}, FailOnNonZero: true}}})
	if err != nil || rtype != router.RunnerSubprocess {
		t.Fatal(err, rtype)
	}
	h, err := sup.Submit(t.Context(), supervisor.Job{RunID: "x", Spec: spec, Task: task, RunnerType: rtype})
	if err != nil {
		t.Fatal(err)
	}
	st, err := h.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != supervisor.PhaseExhausted || st.Attempt != 2 || st.ExitCode == nil || *st.ExitCode != 4 {
		t.Errorf("status %+v", st)
	}
}
