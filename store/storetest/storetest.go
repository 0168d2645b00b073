// Package storetest is the behaviour every store.Store and store.Queue backend must show,
// as a test suite a backend's tests run:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
//	}
//
// Each case opens its own store and closes it when done (the suite calls Close; a second
// Close must return nil or store.ErrClosed). The cases run in parallel.
//
// The feed cases write until the backend forgets old events, up to MaxFeedWrites writes:
// open should bound the backend's feed (its event history) to a few hundred events so
// that they run fast.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// MaxFeedWrites bounds how many writes the feed cases make while waiting for the backend
// to expire an event or end a slow watcher.
const MaxFeedWrites = 20000

// wait bounds how long a case waits for an event the backend owes it.
const wait = 10 * time.Second

// Run runs the store conformance suite, each case on a store from open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateDefaults", testCreateDefaults},
		{"CreateExists", testCreateExists},
		{"SpecVerbatim", testSpecVerbatim},
		{"Copies", testCopies},
		{"UpdateConditional", testUpdateConditional},
		{"DeleteConditional", testDeleteConditional},
		{"DeleteDropsRuns", testDeleteDropsRuns},
		{"Invalid", testInvalid},
		{"RevisionsIncrease", testRevisionsIncrease},
		{"ConcurrentWrites", testConcurrentWrites},
		{"ListFilters", testListFilters},
		{"ListPaging", testListPaging},
		{"ListExpired", testListExpired},
		{"TenantIsolation", testTenantIsolation},
		{"WatchOrder", testWatchOrder},
		{"WatchReplay", testWatchReplay},
		{"WatchExpired", testWatchExpired},
		{"WatchSlowClosed", testWatchSlowClosed},
		{"WatchEnds", testWatchEnds},
		{"Runs", testRuns},
		{"RunsDropped", testRunsDropped},
		{"UpdateWithRun", testUpdateWithRun},
		{"NextRunSeq", testNextRunSeq},
		{"Unfinished", testUnfinished},
		{"SweepTasks", testSweepTasks},
		{"SweepRuns", testSweepRuns},
		{"Closed", testClosed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
					t.Errorf("Close: %v", err)
				}
			})
			c.fn(t, s)
		})
	}
}

// ctxT is a context that ends with the test.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// key is tenant/name.
func key(tenant, name string) store.Key { return store.Key{Tenant: tenant, Name: name} }

// task is a pending task of tenant/name in slot.
func task(tenant, name, slot string) *store.Task {
	return &store.Task{
		Key:    key(tenant, name),
		Spec:   []byte(fmt.Sprintf(`{"slot":%q,"timeout":1000}`, slot)),
		Status: store.TaskStatus{Phase: store.PhasePending},
	}
}

// mustCreate creates t or fails the test.
func mustCreate(t *testing.T, s store.Store, tk *store.Task) *store.Task {
	t.Helper()
	got, err := s.CreateTask(ctxT(t), tk)
	if err != nil {
		t.Fatalf("CreateTask %s/%s: %v", tk.Tenant, tk.Name, err)
	}
	return got
}

// mustUpdate updates t unconditionally or fails the test.
func mustUpdate(t *testing.T, s store.Store, tk *store.Task) *store.Task {
	t.Helper()
	got, err := s.UpdateTask(ctxT(t), tk, 0)
	if err != nil {
		t.Fatalf("UpdateTask %s/%s: %v", tk.Tenant, tk.Name, err)
	}
	return got
}

// wantErr fails the test unless errors.Is(err, want).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// next receives the next event of ch or fails the test when none comes or ch closed.
func next(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed, want an event")
		}
		return ev
	case <-time.After(wait):
		t.Fatal("no event within", wait)
	}
	panic("unreachable")
}

// wantClosed fails the test unless ch closes (after any events still buffered) in time.
func wantClosed(t *testing.T, ch <-chan store.Event) {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch channel not closed within", wait)
		}
	}
}

// phases is a shorthand for ListOptions.Phases.
func phases(p ...store.Phase) []store.Phase { return p }
