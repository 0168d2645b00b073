package host_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/store"
)

// A guest task goes pending -> running -> succeeded: its plan persisted, one run recorded
// with its run id from the store's sequence, output tail and fuel, and its log stream.
func TestGuestLifecycle(t *testing.T) {
	t.Parallel()
	h, _ := oneTenant(t, runnersDir(t, fixtures+"emit-run.wasm"), host.Limits{}, host.Capabilities{})
	created := create(t, h, "a", "hello", fixtureSpec("s1", 5000, ""))
	if created.Generation != 1 || created.Status.Phase != store.PhasePending || created.UID == "" {
		t.Fatalf("created %+v", created)
	}
	task := waitTask(t, h, key("a", "hello"), "terminal", isTerminal)
	st := task.Status
	if st.Phase != store.PhaseSucceeded || st.Attempt != 1 || st.ObservedGeneration != 1 || st.FinishedAt.IsZero() {
		t.Fatalf("status %+v, want succeeded after 1 attempt", st)
	}
	if task.Plan == nil || task.Plan.Runner != "emit-run" || !strings.HasPrefix(task.Plan.Module, "sha256:") || !strings.Contains(string(task.Plan.Plan), "guest") {
		t.Fatalf("plan %+v", task.Plan)
	}
	if !regexp.MustCompile(`^emit-run-s1-[1-9][0-9]*$`).MatchString(task.Plan.RunID) {
		t.Errorf("run id %q, want emit-run-s1-SEQ", task.Plan.RunID)
	}
	runs, err := h.TaskRuns(t.Context(), key("a", "hello"))
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %v, %v", runs, err)
	}
	r := runs[0]
	if r.Phase != store.PhaseSucceeded || r.Attempt != 1 || r.Seq != 1 || r.RunID != task.Plan.RunID || r.FinishedAt == nil || r.FuelUsed <= 0 {
		t.Errorf("run %+v", r)
	}
	if got, want := string(r.OutputTail), "one\ntwo\ncareful\nWARN logged\ndone"; got != want {
		t.Errorf("output tail %q, want %q", got, want)
	}
	if r.WorkloadKind != "fixture" {
		t.Errorf("workload %q %q", r.WorkloadAPIVersion, r.WorkloadKind)
	}

	logs, err := h.TaskLogs(t.Context(), key("a", "hello"), 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	var last uint64
	for ev := range logs { // closes: the task is terminal
		if ev.Seq != last+1 {
			t.Errorf("event seq %d after %d", ev.Seq, last)
		}
		last = ev.Seq
		types = append(types, ev.Type+":"+ev.Line)
	}
	want := []string{"run-started:", "chunk:one", "chunk:two", "chunk:careful", "chunk:WARN logged", "run-finished:"}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Errorf("log events %q, want %q", types, want)
	}
	// Resuming after the fourth event replays only what followed.
	logs, _ = h.TaskLogs(t.Context(), key("a", "hello"), 4)
	var n int
	for ev := range logs {
		if ev.Seq <= 4 {
			t.Errorf("resumed stream replayed seq %d", ev.Seq)
		}
		n++
	}
	if n != 2 {
		t.Errorf("resumed after 4: %d events, want 2", n)
	}
}

// Restart policies: onFailure retries a trapping run until maxRetries is spent (exhausted);
// never ends at the first failure.
func TestRestartPolicies(t *testing.T) {
	t.Parallel()
	h, _ := oneTenant(t, runnersDir(t, fixtures+"trap-run.wasm"), host.Limits{}, host.Capabilities{})
	backoff := `,"backoff":{"jitter":"none","firstMs":1,"maxMs":1,"factor":1}`
	create(t, h, "a", "retry", fixtureSpec("s1", 5000, `,"restart":{"type":"onFailure"},"maxRetries":2`+backoff))
	create(t, h, "a", "once", fixtureSpec("s2", 5000, backoff))
	retry := waitTask(t, h, key("a", "retry"), "terminal", isTerminal)
	if retry.Status.Phase != store.PhaseExhausted || retry.Status.Attempt != 3 || !strings.Contains(retry.Status.Error, "trap") {
		t.Errorf("onFailure with maxRetries 2: %+v, want exhausted after 3 attempts", retry.Status)
	}
	runs, _ := h.TaskRuns(t.Context(), key("a", "retry"))
	if len(runs) != 3 {
		t.Fatalf("%d runs, want 3", len(runs))
	}
	for i, r := range runs {
		if r.Attempt != i+1 || r.Phase != store.PhaseFailed || r.RunID != retry.Plan.RunID {
			t.Errorf("run %d: %+v", i, r)
		}
	}
	once := waitTask(t, h, key("a", "once"), "terminal", isTerminal)
	if once.Status.Phase != store.PhaseFailed || once.Status.Attempt != 1 {
		t.Errorf("never: %+v, want failed after 1 attempt", once.Status)
	}
}

// Apply with a changed spec is a new generation: the running attempt is canceled and the new
// one runs; the same spec again changes nothing. Delete during a run cancels and removes it.
func TestApplyGenerationsAndDelete(t *testing.T) {
	t.Parallel()
	h, _ := oneTenant(t, runnersDir(t, fixtures+"loop-run.wasm"), host.Limits{}, host.Capabilities{})
	k := key("a", "looper")
	m, raw := manifest(t, "looper", fixtureSpec("s", 60000, ""))
	first, created, err := h.ApplyTask(t.Context(), "a", m, raw, "", 0)
	if err != nil || !created {
		t.Fatalf("apply: %v, created %v", err, created)
	}
	waitTask(t, h, k, "running", isRunning)
	m2, raw2 := manifest(t, "looper", fixtureSpec("s", 50000, ""))
	second, created, err := h.ApplyTask(t.Context(), "a", m2, raw2, first.UID, 0)
	if err != nil || created || second.Generation != 2 {
		t.Fatalf("apply a changed spec: %+v, created %v, %v", second, created, err)
	}
	task := waitTask(t, h, k, "running generation 2", func(t *store.Task) bool {
		return isRunning(t) && t.Status.ObservedGeneration == 2
	})
	if task.Plan == nil || task.Plan.Generation != 2 {
		t.Errorf("plan %+v, want generation 2's", task.Plan)
	}
	runs, _ := h.TaskRuns(t.Context(), k)
	if len(runs) != 2 || runs[0].Generation != 1 || runs[0].Phase != store.PhaseCanceled || runs[1].Generation != 2 {
		t.Errorf("runs %+v, want generation 1 canceled, then generation 2", runs)
	}
	before, err := h.GetTask(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	same, _, err := h.ApplyTask(t.Context(), "a", m2, raw2, "", 0)
	if err != nil || same.Generation != 2 || same.ResourceVersion != before.ResourceVersion {
		t.Errorf("apply the same manifest: generation %d, resourceVersion %d (was %d), %v; want 2, unchanged",
			same.Generation, same.ResourceVersion, before.ResourceVersion, err)
	}
	m3, raw3 := manifest(t, "looper", fixtureSpec("s", 50000, ""))
	m3.Metadata.Labels = map[string]string{"team": "blue"}
	relabeled, _, err := h.ApplyTask(t.Context(), "a", m3, raw3, "", 0)
	if err != nil || relabeled.Generation != 2 || relabeled.ResourceVersion <= before.ResourceVersion || relabeled.Labels["team"] != "blue" {
		t.Errorf("apply new labels: %+v, %v; want generation 2, a newer resourceVersion, the label", relabeled, err)
	}
	if _, _, err := h.ApplyTask(t.Context(), "a", m2, raw2, "not-the-uid", 0); !errorsIs(err, store.ErrConflict) {
		t.Errorf("apply with a wrong uid: %v, want ErrConflict", err)
	}

	if err := h.DeleteTask(t.Context(), k, "", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := h.GetTask(t.Context(), k); !errorsIs(err, store.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if _, err := h.TaskRuns(context.Background(), k); !errorsIs(err, store.ErrNotFound) {
		t.Errorf("runs after delete: %v", err)
	}
}
