package host_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/store"
)

// A host stopped past its grace records the running attempt as interrupted and leaves the
// task unfinished; the next host on the same store resumes it from its persisted plan (the
// same run id: no routing, no build), and the restart policy decides: never ends it failed
// (Interrupted); onFailure runs it again within maxRetries. A run a crash left "running" is
// recorded interrupted by the restart.
func TestRestartRecovery(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, fixtures+"loop-run.wasm")
	e := newEnv(t)
	cfg := host.Config{Tenants: []host.Tenant{{Name: "a", Runners: dir}}}
	h1 := e.start(t, cfg)
	create(t, h1, "a", "never", fixtureSpec("s1", 60000, ""))
	create(t, h1, "a", "retry", fixtureSpec("s2", 300, `,"restart":{"type":"onFailure"},"maxRetries":2,"backoff":{"jitter":"none","firstMs":1,"maxMs":1,"factor":1}`))
	waitTask(t, h1, key("a", "never"), "running", isRunning)
	retry1 := waitTask(t, h1, key("a", "retry"), "running", isRunning)
	grace, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h1.Shutdown(grace); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown past the grace: %v", err)
	}
	if _, err := h1.CreateTask(t.Context(), "a", nil, nil); !errors.Is(err, host.ErrDraining) {
		t.Errorf("create after shutdown: %v, want ErrDraining", err)
	}
	never, _ := e.st.GetTask(t.Context(), key("a", "never"))
	if never.Status.Phase.Terminal() {
		t.Fatalf("stopped task is %s, want unfinished", never.Status.Phase)
	}
	runs, _ := e.st.ListRuns(t.Context(), key("a", "never"))
	if len(runs) != 1 || runs[0].Phase != store.PhaseInterrupted || runs[0].FinishedAt == nil {
		t.Fatalf("runs after the stop: %+v, want one interrupted", runs)
	}
	// A crash instead: the run is left as it was while running.
	runs[0].Phase, runs[0].FinishedAt, runs[0].Error = store.PhaseRunning, nil, ""
	if err := e.st.PutRun(t.Context(), runs[0]); err != nil {
		t.Fatal(err)
	}

	h2 := e.start(t, cfg)
	never = waitTask(t, h2, key("a", "never"), "terminal", isTerminal)
	if never.Status.Phase != store.PhaseFailed || never.Status.Reason != host.ReasonInterrupted {
		t.Errorf("restart never: %+v, want failed, Interrupted", never.Status)
	}
	runs, _ = h2.TaskRuns(t.Context(), key("a", "never"))
	if len(runs) != 1 || runs[0].Phase != store.PhaseInterrupted || runs[0].Error != "interrupted by host restart" {
		t.Errorf("crashed run: %+v", runs[0])
	}
	retry := waitTask(t, h2, key("a", "retry"), "terminal", isTerminal)
	if retry.Status.Phase != store.PhaseExhausted {
		t.Errorf("onFailure: %+v, want exhausted (each attempt times out)", retry.Status)
	}
	runs, _ = h2.TaskRuns(t.Context(), key("a", "retry"))
	if len(runs) < 2 {
		t.Fatalf("retry runs %+v", runs)
	}
	var interrupted int
	for i, r := range runs {
		if r.RunID != retry1.Plan.RunID {
			t.Errorf("run %d has run id %s, want the persisted plan's %s (routed again?)", i, r.RunID, retry1.Plan.RunID)
		}
		if r.Attempt != i+1 {
			t.Errorf("run %d is attempt %d: attempts number on across the restart", i, r.Attempt)
		}
		if r.Phase == store.PhaseInterrupted {
			interrupted++
		}
	}
	if interrupted != 1 || len(runs) != 3 {
		t.Errorf("retry runs: %d, %d interrupted; want 3 attempts (maxRetries 2), one interrupted", len(runs), interrupted)
	}
}

// Shutdown lets running tasks finish within the grace: then nothing is interrupted.
func TestShutdownGrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.start(t, host.Config{Tenants: []host.Tenant{{Name: "a", Runners: runnersDir(t, fixtures+"loop-run.wasm")}}})
	create(t, h, "a", "slow", fixtureSpec("s", 300, "")) // runs until its 300 ms timeout
	waitTask(t, h, key("a", "slow"), "running", isRunning)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown within the grace: %v", err)
	}
	task, _ := e.st.GetTask(t.Context(), key("a", "slow"))
	if task.Status.Phase != store.PhaseTimeout {
		t.Errorf("task %+v, want its own end (timeout) within the grace, not interrupted", task.Status)
	}
}

// A reader that asks for events the buffer no longer holds gets a lagged event counting them.
func TestLogsLagged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h := e.start(t, host.Config{LogEvents: 3, Tenants: []host.Tenant{{Name: "a", Runners: runnersDir(t, fixtures+"emit-run.wasm")}}})
	create(t, h, "a", "chatty", fixtureSpec("s", 5000, ""))
	waitTask(t, h, key("a", "chatty"), "terminal", isTerminal)
	logs, err := h.TaskLogs(t.Context(), key("a", "chatty"), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []host.LogEvent
	for ev := range logs {
		got = append(got, ev)
	}
	// 6 events, 3 held: lagged (3 skipped), then seq 4, 5, 6.
	if len(got) != 4 || got[0].Type != host.LogLagged || got[0].Skipped != 3 || got[1].Seq != 4 || got[3].Type != host.LogRunFinished {
		t.Errorf("events %+v", got)
	}
}
