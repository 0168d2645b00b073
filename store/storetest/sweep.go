package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

func testSweepTasks(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	mk := func(name string, p store.Phase, finished time.Duration) *store.Task {
		tk := task("a", name, "s")
		tk.Status.Phase = p
		tk.Status.UpdatedAt = now.Add(-finished)
		if p.Terminal() {
			tk.Status.FinishedAt = now.Add(-finished)
		}
		return mustCreate(t, s, tk)
	}
	old := mk("old", store.PhaseSucceeded, 2*time.Hour)
	mk("edge", store.PhaseFailed, time.Hour) // exactly at the bound: due
	mk("recent", store.PhaseCanceled, 30*time.Minute)
	mk("running", store.PhaseRunning, 5*time.Hour) // never swept: not terminal
	noFinish := task("a", "nofinish", "s")         // terminal without FinishedAt: UpdatedAt counts
	noFinish.Status = store.TaskStatus{Phase: store.PhaseTimeout, UpdatedAt: now.Add(-3 * time.Hour)}
	mustCreate(t, s, noFinish)
	for seq := uint64(1); seq <= 2; seq++ {
		if err := s.PutRun(ctx, &store.Run{Tenant: "a", Task: "old", TaskUID: old.UID, Seq: seq, Phase: store.PhaseSucceeded}); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := s.Watch(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Retention zero: nothing goes.
	if n, err := s.Sweep(ctx, now, store.Retention{}); err != nil || n != 0 {
		t.Fatalf("Sweep with zero retention: %d, %v; want 0 (zero keeps for ever)", n, err)
	}
	n, err := s.Sweep(ctx, now, store.Retention{Tasks: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 { // old + its 2 runs, edge, nofinish
		t.Fatalf("Sweep removed %d records, want 5 (3 tasks, 2 runs)", n)
	}
	page, err := s.ListTasks(ctx, "a", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(page.Tasks); !reflect.DeepEqual(got, []string{"recent", "running"}) {
		t.Fatalf("after Sweep: %v, want [recent running]", got)
	}
	deleted := map[string]bool{}
	for range 3 {
		ev := next(t, ch)
		if ev.Type != store.EventDeleted {
			t.Fatalf("Sweep's event is %s, want DELETED", ev.Type)
		}
		deleted[ev.Task.Name] = true
	}
	if !deleted["old"] || !deleted["edge"] || !deleted["nofinish"] {
		t.Fatalf("Sweep's Deleted events: %v", deleted)
	}
	if n, err := s.Sweep(ctx, now, store.Retention{Tasks: time.Hour}); err != nil || n != 0 {
		t.Fatalf("second Sweep: %d, %v; want 0", n, err)
	}
}

func testSweepRuns(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	cur := mustCreate(t, s, task("a", "x", "s"))
	put := func(seq uint64, finishedAgo time.Duration) {
		r := &store.Run{Tenant: "a", Task: "x", TaskUID: cur.UID, Seq: seq, Phase: store.PhaseRunning, StartedAt: now.Add(-3 * time.Hour)}
		if finishedAgo >= 0 {
			f := now.Add(-finishedAgo)
			r.FinishedAt, r.Phase = &f, store.PhaseFailed
		}
		if err := s.PutRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	put(1, 2*time.Hour)    // old: goes by age
	put(2, -1)             // unfinished: never goes
	put(3, 10*time.Minute) // goes by count (oldest finished beyond 3)
	put(4, 9*time.Minute)  // goes by count
	put(5, 8*time.Minute)  // kept
	put(6, 7*time.Minute)  // kept
	put(7, -1)             // unfinished
	rev := s.Revision()
	n, err := s.Sweep(ctx, now, store.Retention{Runs: time.Hour, RunsPerTask: 4})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(ctx, cur.Key)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, r := range runs {
		seqs = append(seqs, r.Seq)
	}
	if fmt.Sprint(seqs) != "[2 5 6 7]" || n != 3 {
		t.Fatalf("after Sweep (removed %d): runs %v, want [2 5 6 7] and 3 removed", n, seqs)
	}
	if s.Revision() != rev {
		t.Fatalf("sweeping runs moved the revision from %d to %d", rev, s.Revision())
	}
	if _, err := s.GetTask(ctx, cur.Key); err != nil {
		t.Fatalf("sweeping runs removed their running task: %v", err)
	}
	// Only unfinished runs beyond the bound: they all stay.
	n, err = s.Sweep(ctx, now, store.Retention{RunsPerTask: 1})
	if err != nil {
		t.Fatal(err)
	}
	runs, _ = s.ListRuns(ctx, cur.Key)
	if n != 2 || len(runs) != 2 {
		t.Fatalf("RunsPerTask 1 over [2 5 6 7]: removed %d, left %d; want 2 removed (5, 6), 2 unfinished left", n, len(runs))
	}
}

func testClosed(t *testing.T, s store.Store) {
	ctx := context.Background()
	cur := mustCreate(t, s, task("a", "x", "s"))
	ch, err := s.Watch(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantClosed(t, ch)
	_, err = s.CreateTask(ctx, task("a", "y", "s"))
	wantErr(t, "CreateTask after Close", err, store.ErrClosed)
	_, err = s.UpdateTask(ctx, cur, 0)
	wantErr(t, "UpdateTask after Close", err, store.ErrClosed)
	_, err = s.DeleteTask(ctx, cur.Key, "", 0)
	wantErr(t, "DeleteTask after Close", err, store.ErrClosed)
	_, err = s.GetTask(ctx, cur.Key)
	wantErr(t, "GetTask after Close", err, store.ErrClosed)
	_, err = s.ListTasks(ctx, "a", store.ListOptions{})
	wantErr(t, "ListTasks after Close", err, store.ErrClosed)
	_, err = s.Unfinished(ctx)
	wantErr(t, "Unfinished after Close", err, store.ErrClosed)
	err = s.PutRun(ctx, &store.Run{Tenant: "a", Task: "x", TaskUID: cur.UID, Seq: 1})
	wantErr(t, "PutRun after Close", err, store.ErrClosed)
	_, err = s.ListRuns(ctx, cur.Key)
	wantErr(t, "ListRuns after Close", err, store.ErrClosed)
	_, err = s.NextRunSeq(ctx)
	wantErr(t, "NextRunSeq after Close", err, store.ErrClosed)
	_, err = s.Watch(ctx, "a", 0)
	wantErr(t, "Watch after Close", err, store.ErrClosed)
	_, err = s.Sweep(ctx, time.Now(), store.DefaultRetention)
	wantErr(t, "Sweep after Close", err, store.ErrClosed)
	if err := s.Close(); err != nil && err != store.ErrClosed {
		t.Fatalf("second Close: %v", err)
	}
}
