package memstore

import (
	"context"
	"fmt"

	"github.com/solti-wasm/solti-wasm/store"
)

// feed is a ring of the last events, contiguous in revision: it holds base+1 .. base+n.
type feed struct {
	ring []*store.Event
	head int            // index of the oldest event
	n    int            // events held
	base store.Revision // revision of the newest event no longer held (0: none dropped)
}

func newFeed(size int) feed { return feed{ring: make([]*store.Event, size)} }

// add appends e, whose revision is the next one, dropping the oldest event when full.
func (f *feed) add(e *store.Event) {
	if f.n == len(f.ring) {
		f.ring[f.head] = nil
		f.head = (f.head + 1) % len(f.ring)
		f.n--
		f.base++
	}
	f.ring[(f.head+f.n)%len(f.ring)] = e
	f.n++
}

// holdsAfter reports whether every event after rev is still held.
func (f *feed) holdsAfter(rev store.Revision) bool { return rev >= f.base }

// after appends to dst up to max events of tenant after rev, and returns the revision
// read up to (events of other tenants are passed over). The caller checked holdsAfter.
func (f *feed) after(dst []*store.Event, tenant string, rev store.Revision, max int) ([]*store.Event, store.Revision) {
	last := f.base + store.Revision(f.n)
	for rev < last && len(dst) < max {
		rev++
		e := f.ring[(f.head+int(rev-f.base-1))%len(f.ring)]
		if e.Task.Tenant == tenant {
			dst = append(dst, e)
		}
	}
	return dst, rev
}

// watchBatch bounds how many events a watcher copies out of the feed per lock.
const watchBatch = 256

// Watch streams tenant's events after from (0: from now). Each watcher has a goroutine that
// reads the feed at its own pace; one that lags by more than the feed holds is ended (its
// channel closed) instead of holding writes back.
func (s *Store) Watch(ctx context.Context, tenant string, from store.Revision) (<-chan store.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	if from == 0 {
		from = s.rev
	}
	if !s.feed.holdsAfter(from) {
		return nil, fmt.Errorf("watch tenant %q from revision %d: %w (the feed begins after %d)",
			tenant, from, store.ErrExpired, s.feed.base)
	}
	out := make(chan store.Event, 16)
	s.watchers.Add(1)
	go s.watch(ctx, tenant, from, out)
	return out, nil
}

// watch feeds out from the feed, from cursor on, until ctx ends, the store closes or the
// watcher lags out of the feed.
func (s *Store) watch(ctx context.Context, tenant string, cursor store.Revision, out chan<- store.Event) {
	defer s.watchers.Done()
	defer close(out)
	var batch []*store.Event
	for {
		s.mu.Lock()
		if s.closed || !s.feed.holdsAfter(cursor) {
			s.mu.Unlock()
			return
		}
		batch, cursor = s.feed.after(batch[:0], tenant, cursor, watchBatch)
		wait := s.changed
		caughtUp := cursor == s.rev
		s.mu.Unlock()
		for _, e := range batch {
			select {
			case out <- e.Clone():
			case <-ctx.Done():
				return
			case <-s.done:
				return
			}
		}
		if !caughtUp {
			continue
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
	}
}
