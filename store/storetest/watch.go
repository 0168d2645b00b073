package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/solti-wasm/solti-wasm/store"
)

// wantEvent fails the test unless ev is of type typ for the task name, and consistent
// (its task's ResourceVersion is its Revision).
func wantEvent(t *testing.T, ev store.Event, typ store.EventType, name string) {
	t.Helper()
	if ev.Type != typ || ev.Task == nil || ev.Task.Name != name {
		t.Fatalf("event %s %+v, want %s of %s", ev.Type, ev.Task, typ, name)
	}
	if ev.Task.ResourceVersion != ev.Revision {
		t.Fatalf("%s event of %s at revision %d carries ResourceVersion %d", ev.Type, name, ev.Revision, ev.Task.ResourceVersion)
	}
}

func testWatchOrder(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	mustCreate(t, s, task("a", "before", "s")) // before the watch: not seen from 0
	ch, err := s.Watch(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	x := mustCreate(t, s, task("a", "x", "s"))
	mustCreate(t, s, task("b", "x", "s")) // another tenant's: not seen
	x.Status.Phase = store.PhaseRunning
	x = mustUpdate(t, s, x)
	y := mustCreate(t, s, task("a", "y", "s"))
	gone, err := s.DeleteTask(ctx, x.Key, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		typ  store.EventType
		name string
		rev  store.Revision
	}{
		{store.EventAdded, "x", 0}, {store.EventModified, "x", x.ResourceVersion},
		{store.EventAdded, "y", y.ResourceVersion}, {store.EventDeleted, "x", gone.ResourceVersion},
	}
	var last store.Revision
	for i, w := range want {
		ev := next(t, ch)
		wantEvent(t, ev, w.typ, w.name)
		if ev.Task.Tenant != "a" {
			t.Fatalf("tenant a's watch got tenant %s's event", ev.Task.Tenant)
		}
		if ev.Revision <= last || (w.rev != 0 && ev.Revision != w.rev) {
			t.Fatalf("event %d at revision %d (after %d), want %d", i, ev.Revision, last, w.rev)
		}
		last = ev.Revision
	}
	if want[3].typ == store.EventDeleted && gone.Status.Phase != store.PhaseRunning {
		t.Fatalf("the deleted task is not as it was last: %+v", gone.Status)
	}
}

func testWatchReplay(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var revs []store.Revision
	for i := range 5 {
		revs = append(revs, mustCreate(t, s, task("a", fmt.Sprint("t", i), "s")).ResourceVersion)
	}
	ch, err := s.Watch(ctx, "a", revs[1])
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i < 5; i++ {
		ev := next(t, ch)
		wantEvent(t, ev, store.EventAdded, fmt.Sprint("t", i))
		if ev.Revision != revs[i] {
			t.Fatalf("replayed revision %d, want %d", ev.Revision, revs[i])
		}
	}
	// Live events follow the replay.
	live := mustCreate(t, s, task("a", "live", "s"))
	if ev := next(t, ch); ev.Revision != live.ResourceVersion {
		t.Fatalf("after the replay: revision %d, want %d", ev.Revision, live.ResourceVersion)
	}
	// From the current revision: nothing old.
	ch2, err := s.Watch(ctx, "a", s.Revision())
	if err != nil {
		t.Fatal(err)
	}
	z := mustCreate(t, s, task("a", "z", "s"))
	if ev := next(t, ch2); ev.Revision != z.ResourceVersion {
		t.Fatalf("watch from now: revision %d, want %d", ev.Revision, z.ResourceVersion)
	}
}

func testWatchExpired(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	cur := mustCreate(t, s, task("a", "x", "s"))
	first := cur.ResourceVersion
	for i := 0; ; i++ {
		if i == MaxFeedWrites {
			t.Fatalf("Watch from revision %d still works after %d writes: the backend must bound its feed", first, i)
		}
		wctx, cancel := context.WithCancel(ctx)
		_, err := s.Watch(wctx, "a", first)
		cancel()
		if errors.Is(err, store.ErrExpired) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		cur = mustUpdate(t, s, cur)
	}
	// A watch from a revision still held works, and begins right after it.
	from := s.Revision() - 1
	ch, err := s.Watch(ctx, "a", from)
	if err != nil {
		t.Fatalf("Watch from %d (one before the latest): %v", from, err)
	}
	if ev := next(t, ch); ev.Revision != from+1 {
		t.Fatalf("first event at %d, want %d", ev.Revision, from+1)
	}
}

func testWatchSlowClosed(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	ch, err := s.Watch(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	cur := mustCreate(t, s, task("a", "x", "s"))
	// Read one event per ten writes: the watcher falls further behind until the backend
	// ends it. Writes must never block on it meanwhile.
	var last store.Revision
	for i := 1; ; i++ {
		if i == MaxFeedWrites {
			t.Fatalf("a watcher reading one event in ten is still open after %d writes", i)
		}
		cur = mustUpdate(t, s, cur)
		if i%10 != 0 {
			continue
		}
		ev, ok := <-ch
		if !ok {
			break
		}
		if ev.Revision <= last {
			t.Fatalf("slow watcher got revision %d after %d", ev.Revision, last)
		}
		last = ev.Revision
	}
	if last == 0 {
		t.Fatal("the watcher was ended before it got any event")
	}
	// The store still serves watches that keep up.
	ch2, err := s.Watch(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	cur = mustUpdate(t, s, cur)
	if ev := next(t, ch2); ev.Revision != cur.ResourceVersion {
		t.Fatalf("new watch: revision %d, want %d", ev.Revision, cur.ResourceVersion)
	}
}

func testWatchEnds(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(ctxT(t))
	ch, err := s.Watch(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	wantClosed(t, ch)
	_, err = s.Watch(ctx, "a", 0)
	wantErr(t, "Watch with an ended context", err, context.Canceled)

	ch2, err := s.Watch(ctxT(t), "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantClosed(t, ch2)
}
