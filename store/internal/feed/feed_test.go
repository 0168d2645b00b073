package feed

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ev(rev store.Revision, tenant string) *store.Event {
	return &store.Event{Type: store.EventAdded, Revision: rev, Task: &store.Task{Key: store.Key{Tenant: tenant, Name: "x"}, ResourceVersion: rev}}
}

func recv(t *testing.T, ch <-chan store.Event) (store.Event, bool) {
	t.Helper()
	select {
	case e, ok := <-ch:
		return e, ok
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received")
	}
	return store.Event{}, false
}

// A watcher that falls out of the ring reads on from Older, then back from the ring.
func TestLaggingWatcherReadsOlder(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	disk := map[store.Revision]*store.Event{}
	older := func(dst []*store.Event, after store.Revision, max int) ([]*store.Event, error) {
		mu.Lock()
		defer mu.Unlock()
		if disk[after+1] == nil {
			return dst, store.ErrExpired
		}
		for r := after + 1; disk[r] != nil && len(dst) < max; r++ {
			dst = append(dst, disk[r])
		}
		return dst, nil
	}
	f := New(4, 0, older, func() store.Revision { return 0 })
	defer f.Close()
	ch, err := f.Watch(context.Background(), "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	for r := store.Revision(1); r <= 40; r++ {
		tenant := "a"
		if r%3 == 0 {
			tenant = "b"
		}
		e := ev(r, tenant)
		mu.Lock()
		disk[r] = e
		mu.Unlock()
		f.Publish(e)
	}
	for r := store.Revision(1); r <= 40; r++ {
		if r%3 == 0 {
			continue
		}
		e, ok := recv(t, ch)
		if !ok || e.Revision != r || e.Task.Tenant != "a" {
			t.Fatalf("got %d %v (open %v), want revision %d of tenant a", e.Revision, e.Task, ok, r)
		}
	}
}

func TestLaggingWatcherWithoutOlderEnds(t *testing.T) {
	t.Parallel()
	f := New(4, 10, nil, nil)
	defer f.Close()
	if _, err := f.Watch(context.Background(), "a", 9); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("watch before the ring: %v, want ErrExpired", err)
	}
	ch, err := f.Watch(context.Background(), "a", 10)
	if err != nil {
		t.Fatal(err)
	}
	for r := store.Revision(11); r <= 60; r++ {
		f.Publish(ev(r, "a"))
	}
	n := 0
	for {
		_, ok := recv(t, ch)
		if !ok {
			break
		}
		n++
	}
	if n >= 50 {
		t.Fatalf("a watcher that never read got all %d events from a ring of 4", n)
	}
}

func TestPublishOutOfOrderPanics(t *testing.T) {
	t.Parallel()
	f := New(4, 5, nil, nil)
	defer f.Close()
	defer func() {
		if recover() == nil {
			t.Fatal("publishing revision 7 after 5 did not panic")
		}
	}()
	f.Publish(ev(7, "a"))
}

func TestCloseEndsWatchers(t *testing.T) {
	t.Parallel()
	f := New(4, 0, nil, nil)
	ch, err := f.Watch(context.Background(), "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, ok := recv(t, ch); ok {
		t.Fatal("an event after Close")
	}
	if _, err := f.Watch(context.Background(), "a", 0); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("watch after Close: %v, want ErrClosed", err)
	}
	f.Close() // idempotent
}
