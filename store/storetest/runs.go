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
