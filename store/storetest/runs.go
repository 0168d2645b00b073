package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

func testRuns(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	cur := mustCreate(t, s, task("a", "x", "s"))
	rev := s.Revision()
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	run := func(seq uint64, p store.Phase) *store.Run {
		return &store.Run{
			Tenant: "a", Task: "x", TaskUID: cur.UID, Seq: seq, Generation: 1, Attempt: int(seq),
			RunID: fmt.Sprintf("echo-s-%d", seq), WorkloadAPIVersion: "solti.io/v1", WorkloadKind: "Wasm",
			Phase: p, StartedAt: start,
		}
	}
	// Out of order: listed in Seq order.
	for _, seq := range []uint64{3, 1, 2} {
		if err := s.PutRun(ctx, run(seq, store.PhaseRunning)); err != nil {
			t.Fatal(err)
		}
	}
	// Replace run 2 with its finished form.
	done := run(2, store.PhaseFailed)
	fin, code := start.Add(time.Second), 1
	done.FinishedAt, done.ExitCode, done.Error, done.OutputTail, done.FuelUsed = &fin, &code, "exit 1", []byte("tail"), 42
	if err := s.PutRun(ctx, done); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(ctx, cur.Key)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 {
		t.Fatalf("%d runs, want 3", len(runs))
	}
	for i, r := range runs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("run %d has Seq %d: want Seq order", i, r.Seq)
		}
	}
	got := runs[1]
	if got.Phase != store.PhaseFailed || got.FinishedAt == nil || !got.FinishedAt.Equal(fin) || *got.ExitCode != 1 ||
		got.Error != "exit 1" || string(got.OutputTail) != "tail" || got.FuelUsed != 42 || got.RunID != "echo-s-2" ||
		got.WorkloadKind != "Wasm" || !got.StartedAt.Equal(start) {
		t.Fatalf("replaced run read back as %+v", got)
	}
	if s.Revision() != rev {
		t.Fatalf("runs moved the task revision from %d to %d", rev, s.Revision())
	}
	_, err = s.ListRuns(ctx, key("a", "missing"))
	wantErr(t, "runs of a missing task", err, store.ErrNotFound)
}

func testRunsDropped(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	cur := mustCreate(t, s, task("a", "x", "s"))
	// No such task; another incarnation's uid: dropped without error.
	if err := s.PutRun(ctx, &store.Run{Tenant: "a", Task: "missing", TaskUID: "u", Seq: 1}); err != nil {
		t.Fatalf("run of a missing task: %v, want nil (dropped)", err)
	}
	if err := s.PutRun(ctx, &store.Run{Tenant: "a", Task: "x", TaskUID: cur.UID + "-old", Seq: 1}); err != nil {
		t.Fatalf("run of another incarnation: %v, want nil (dropped)", err)
	}
	runs, err := s.ListRuns(ctx, cur.Key)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Fatalf("dropped runs were stored: %+v", runs)
	}
	_, err = s.ListRuns(ctx, key("a", "missing"))
	wantErr(t, "runs of a missing task", err, store.ErrNotFound)
}

// testUpdateWithRun: a task's update and its run are stored together, in one change of the
// feed; a refused update stores neither; a run of another task is invalid.
func testUpdateWithRun(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	cur := mustCreate(t, s, task("a", "x", "s"))
	ch, err := s.Watch(ctx, "a", cur.ResourceVersion)
	if err != nil {
		t.Fatal(err)
	}
	run := &store.Run{Tenant: "a", Task: "x", TaskUID: cur.UID, Seq: 1, Generation: 1, Attempt: 1,
		RunID: "echo-s-1", Phase: store.PhaseRunning, StartedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	upd := cur.Clone()
	upd.Status = store.TaskStatus{ObservedGeneration: 1, Phase: store.PhaseRunning, Attempt: 1}
	got, err := s.UpdateTaskWithRun(ctx, upd, cur.ResourceVersion, run)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != store.PhaseRunning || got.ResourceVersion != cur.ResourceVersion+1 {
		t.Fatalf("updated task %+v, want running at revision %d", got, cur.ResourceVersion+1)
	}
	if ev := next(t, ch); ev.Type != store.EventModified || ev.Revision != got.ResourceVersion {
		t.Fatalf("event %s at %d, want one MODIFIED at %d", ev.Type, ev.Revision, got.ResourceVersion)
	}
	runs, err := s.ListRuns(ctx, cur.Key)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].RunID != "echo-s-1" || runs[0].Phase != store.PhaseRunning {
		t.Fatalf("runs after the update: %+v", runs)
	}

	// A stale revision: neither the task nor the run changes.
	fin := run.Clone()
	fin.Phase = store.PhaseSucceeded
	stale := got.Clone()
	stale.Status.Phase = store.PhaseSucceeded
	_, err = s.UpdateTaskWithRun(ctx, stale, cur.ResourceVersion, fin)
	wantErr(t, "update with run at a stale revision", err, store.ErrConflict)
	runs, _ = s.ListRuns(ctx, cur.Key)
	read, _ := s.GetTask(ctx, cur.Key)
	if len(runs) != 1 || runs[0].Phase != store.PhaseRunning || read.Status.Phase != store.PhaseRunning {
		t.Fatalf("a refused update changed the run (%+v) or the task (%s)", runs, read.Status.Phase)
	}
	_, err = s.UpdateTaskWithRun(ctx, task("a", "missing", "s"), 0, &store.Run{Tenant: "a", Task: "missing", TaskUID: "u", Seq: 1})
	wantErr(t, "update with run of a missing task", err, store.ErrNotFound)

	// A run of another task, or one lacking its Seq, is invalid and stores nothing.
	_, err = s.UpdateTaskWithRun(ctx, stale, 0, &store.Run{Tenant: "a", Task: "y", TaskUID: cur.UID, Seq: 2})
	wantErr(t, "update with another task's run", err, store.ErrInvalid)
	_, err = s.UpdateTaskWithRun(ctx, stale, 0, &store.Run{Tenant: "a", Task: "x", TaskUID: cur.UID})
	wantErr(t, "update with a run of Seq 0", err, store.ErrInvalid)
	if read, _ := s.GetTask(ctx, cur.Key); read.ResourceVersion != got.ResourceVersion {
		t.Fatalf("an invalid update moved the task to revision %d", read.ResourceVersion)
	}

	// The finished run and the terminal status, together.
	stale.Status.Phase = store.PhaseSucceeded
	if _, err := s.UpdateTaskWithRun(ctx, stale, got.ResourceVersion, fin); err != nil {
		t.Fatal(err)
	}
	runs, _ = s.ListRuns(ctx, cur.Key)
	if len(runs) != 1 || runs[0].Phase != store.PhaseSucceeded {
		t.Fatalf("runs after the final update: %+v", runs)
	}
}

func testNextRunSeq(t *testing.T, s store.Store) {
	const workers, each = 8, 200
	var mu sync.Mutex
	seen := make(map[uint64]bool)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				n, err := s.NextRunSeq(context.Background())
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				dup := seen[n]
				seen[n] = true
				mu.Unlock()
				if n == 0 || dup {
					errs <- fmt.Errorf("NextRunSeq gave %d (repeated: %v)", n, dup)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != workers*each {
		t.Fatalf("%d distinct numbers from %d calls", len(seen), workers*each)
	}
}

func testUnfinished(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	mk := func(tenant, name string, p store.Phase, age time.Duration) {
		tk := task(tenant, name, "s")
		tk.Status.Phase = p
		tk.CreatedAt = base.Add(-age)
		mustCreate(t, s, tk)
	}
	mk("a", "run", store.PhaseRunning, 1*time.Minute)
	mk("b", "pend", store.PhasePending, 3*time.Minute)
	mk("a", "done", store.PhaseSucceeded, 5*time.Minute)
	mk("b", "fail", store.PhaseFailed, 5*time.Minute)
	mk("a", "exh", store.PhaseExhausted, 5*time.Minute)
	mk("a", "old", store.PhasePending, 9*time.Minute)
	mk("c", "same1", store.PhaseRunning, 2*time.Minute)
	mk("b", "same2", store.PhaseRunning, 2*time.Minute)
	got, err := s.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, tk := range got {
		keys = append(keys, tk.Tenant+"/"+tk.Name)
	}
	want := fmt.Sprint([]string{"a/old", "b/pend", "b/same2", "c/same1", "a/run"})
	if fmt.Sprint(keys) != want {
		t.Fatalf("Unfinished: %v, want %v (oldest first, then by key)", keys, want)
	}
}
