package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/store"
)

// CancelTask stops a running attempt with its cause: the run and the task end canceled (not
// deleted), and TaskError is the cause. A task queued behind it is canceled without running.
func TestCancelTask(t *testing.T) {
	t.Parallel()
	h, _ := oneTenant(t, runnersDir(t, fixtures+"loop-run.wasm"), host.Limits{MaxRunning: 1}, host.Capabilities{})
	create(t, h, "a", "first", fixtureSpec("s1", 60000, ""))
	waitTask(t, h, key("a", "first"), "running", isRunning)
	queued := create(t, h, "a", "second", fixtureSpec("s2", 60000, ""))

	if err := h.CancelTask(t.Context(), key("a", "second"), "other-uid", nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("cancel with a wrong uid: %v, want ErrConflict", err)
	}
	if err := h.CancelTask(t.Context(), key("a", "second"), queued.UID, nil); err != nil {
		t.Fatal(err)
	}
	task := waitTask(t, h, key("a", "second"), "terminal", isTerminal)
	if task.Status.Phase != store.PhaseCanceled || task.Status.Attempt != 0 || task.Status.Error != "task canceled" {
		t.Errorf("queued task after cancel: %+v, want canceled before any attempt", task.Status)
	}

	cause := errors.New("stopped by the operator")
	if err := h.CancelTask(t.Context(), key("a", "first"), "", cause); err != nil {
		t.Fatal(err)
	}
	task = waitTask(t, h, key("a", "first"), "terminal", isTerminal)
	if task.Status.Phase != store.PhaseCanceled || task.Status.Attempt != 1 || !strings.Contains(task.Status.Error, cause.Error()) {
		t.Errorf("running task after cancel: %+v, want canceled after 1 attempt with the cause", task.Status)
	}
	if err := h.TaskError(key("a", "first")); !errors.Is(err, cause) {
		t.Errorf("TaskError %v, want the cause", err)
	}
	runs, err := h.TaskRuns(t.Context(), key("a", "first"))
	if err != nil || len(runs) != 1 || runs[0].Phase != store.PhaseCanceled {
		t.Errorf("runs %+v, %v: want one canceled run", runs, err)
	}
	// The slot freed: the canceled second task never runs.
	if runs, _ := h.TaskRuns(t.Context(), key("a", "second")); len(runs) != 0 {
		t.Errorf("the canceled queued task ran: %+v", runs)
	}
	// A terminal task is left alone.
	if err := h.CancelTask(t.Context(), key("a", "first"), "", nil); err != nil {
		t.Errorf("cancel of a terminal task: %v", err)
	}
	if err := h.CancelTask(t.Context(), key("b", "first"), "", nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancel of another tenant's task: %v, want ErrNotFound", err)
	}
}

// A successful guest attempt's run-finished event carries its outcome and its whole output;
// TaskError is nil after a success.
func TestRunFinishedOutput(t *testing.T) {
	t.Parallel()
	h, _ := oneTenant(t, runnersDir(t, fixtures+"emit-run.wasm"), host.Limits{}, host.Capabilities{})
	create(t, h, "a", "out", fixtureSpec("s1", 5000, ""))
	waitTask(t, h, key("a", "out"), "terminal", isTerminal)
	logs, err := h.TaskLogs(t.Context(), key("a", "out"), 0)
	if err != nil {
		t.Fatal(err)
	}
	var fin *host.LogEvent
	for ev := range logs {
		if ev.Type == host.LogRunFinished {
			fin = &ev
		}
	}
	if fin == nil || fin.Outcome != string(router.OutcomeSuccess) || string(fin.Output) != "done" || fin.Phase != string(store.PhaseSucceeded) {
		t.Fatalf("run-finished %+v, want outcome success with output \"done\"", fin)
	}
	if err := h.TaskError(key("a", "out")); err != nil {
		t.Errorf("TaskError after a success: %v", err)
	}
}

// With NoWatch the runners load once: a file that fails is listed by LoadFailures (file,
// stage, cause), and a module added later is not loaded.
func TestNoWatchAndLoadFailures(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, fixtures+"emit-run.wasm")
	if err := os.WriteFile(filepath.Join(dir, "junk.wasm"), []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	h := e.start(t, host.Config{NoWatch: true, Tenants: []host.Tenant{{Name: "a", Runners: dir}}})
	failed, err := h.LoadFailures("a")
	if err != nil || len(failed) != 1 || filepath.Base(failed[0].Path) != "junk.wasm" || failed[0].Stage == "" {
		t.Fatalf("LoadFailures %+v, %v: want junk.wasm", failed, err)
	}
	var le *runtime.LoadError
	if !errors.As(failed[0], &le) {
		t.Fatal("not a LoadError")
	}
	if _, err := h.LoadFailures("b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LoadFailures of an unknown tenant: %v", err)
	}
	data, err := os.ReadFile(fixtures + "loop-run.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "loop-run.wasm"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// A watching registry with the tests' 10 ms debounce loads it well within this wait.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	<-ctx.Done()
	runners, _ := h.Runners(t.Context(), "a")
	if len(runners) != 1 || runners[0].Name != "emit-run" {
		t.Errorf("runners %+v, want only emit-run: nothing is watched", runners)
	}
}
