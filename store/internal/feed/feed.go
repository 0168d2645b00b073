// Package feed is the change feed the store backends share: a ring of the latest events,
// fanned out to watchers that each read it at their own pace from a goroutine, so that no
// watcher ever holds a write back. A backend that keeps older events (boltstore, on disk)
// gives an Older reader; a watcher that falls out of the ring then reads from it, and one
// that falls behind everything held is ended (its channel closed).
package feed

import (
	"context"
	"fmt"
	"sync"

	"github.com/solti-wasm/solti-wasm/store"
)

// Older reads the events after rev that the backend still holds beyond the ring, up to max
// of them, appending to dst. It returns store.ErrExpired when it no longer holds the event
// right after rev.
type Older func(dst []*store.Event, after store.Revision, max int) ([]*store.Event, error)

// batch bounds how many events a watcher copies out per lock or read.
const batch = 256

// Feed is the ring and its watchers. Events are owned by the feed once published: nobody
// may change them; watchers get copies.
type Feed struct {
	older Older
	floor func() store.Revision // the newest revision older no longer holds; nil: none

	mu   sync.Mutex
	ring []*store.Event
	head int            // index of the oldest event held
	n    int            // events held
	base store.Revision // the ring holds base+1 .. base+n
	// changed is closed and replaced at each Publish and at Close: watchers wait on it.
	changed chan struct{}
	closed  bool

	done     chan struct{} // closed by Close
	watchers sync.WaitGroup
}

// New returns a feed of a ring of size events (at least 1) whose latest revision is last.
// older and floor, both nil or both set, reach the events the ring no longer holds.
func New(size int, last store.Revision, older Older, floor func() store.Revision) *Feed {
	return &Feed{
		older: older, floor: floor,
		ring: make([]*store.Event, max(size, 1)), base: last,
		changed: make(chan struct{}), done: make(chan struct{}),
	}
}

// Last is the revision of the latest published event.
func (f *Feed) Last() store.Revision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.base + store.Revision(f.n)
}

// Publish appends e, whose Revision must be Last()+1, and wakes the watchers.
func (f *Feed) Publish(e *store.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := f.base + store.Revision(f.n) + 1; e.Revision != want {
		// A backend bug: publishing out of order would break every watcher's promise.
		panic(fmt.Sprintf("feed: published revision %d, want %d", e.Revision, want))
	}
	if f.n == len(f.ring) {
		f.ring[f.head] = nil
		f.head = (f.head + 1) % len(f.ring)
		f.n--
		f.base++
	}
	f.ring[(f.head+f.n)%len(f.ring)] = e
	f.n++
	close(f.changed)
	f.changed = make(chan struct{})
}

// Floor is the newest revision whose event is no longer held anywhere: every event after
// it can be watched.
func (f *Feed) Floor() store.Revision {
	f.mu.Lock()
	base := f.base
	f.mu.Unlock()
	if f.floor == nil {
		return base
	}
	return min(base, f.floor())
}

// Holds reports whether every event after rev is held (in the ring or by Older).
func (f *Feed) Holds(rev store.Revision) bool { return rev >= f.Floor() }

// Watch streams tenant's events after from (0: from the latest) until ctx ends or the feed
// closes; store.ErrExpired when they are no longer all held.
func (f *Feed) Watch(ctx context.Context, tenant string, from store.Revision) (<-chan store.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if from == 0 {
		from = f.Last()
	}
	if floor := f.Floor(); from < floor {
		return nil, fmt.Errorf("watch tenant %q from revision %d: %w (the feed begins after %d)", tenant, from, store.ErrExpired, floor)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, store.ErrClosed
	}
	out := make(chan store.Event, 16)
	f.watchers.Add(1)
	go f.watch(ctx, tenant, from, out)
	return out, nil
}

// watch feeds out from cursor on until ctx ends, the feed closes or the watcher lags out of
// what is held.
func (f *Feed) watch(ctx context.Context, tenant string, cursor store.Revision, out chan<- store.Event) {
	defer f.watchers.Done()
	defer close(out)
	var evs []*store.Event
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return
		}
		last := f.base + store.Revision(f.n)
		wait := f.changed
		var err error
		if cursor >= f.base {
			evs = evs[:0]
			for cursor < last && len(evs) < batch {
				cursor++
				evs = append(evs, f.ring[(f.head+int(cursor-f.base-1))%len(f.ring)])
			}
			f.mu.Unlock()
		} else {
			f.mu.Unlock()
			if f.older == nil {
				return // lagged out of the ring
			}
			evs, err = f.older(evs[:0], cursor, batch)
			if err != nil {
				return // lagged out of what is held, or the backend closed
			}
			if len(evs) == 0 {
				return // the backend lost events it said it held
			}
			cursor = evs[len(evs)-1].Revision
		}
		for _, e := range evs {
			if e.Task == nil || e.Task.Tenant != tenant {
				continue
			}
			select {
			case out <- e.Clone():
			case <-ctx.Done():
				return
			case <-f.done:
				return
			}
		}
		if cursor < last {
			continue
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return
		case <-f.done:
			return
		}
	}
}

// Close ends every watcher (their channels close) and waits for their goroutines; later
// watches are store.ErrClosed.
func (f *Feed) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		f.watchers.Wait()
		return
	}
	f.closed = true
	close(f.done)
	f.mu.Unlock()
	f.watchers.Wait()
}
