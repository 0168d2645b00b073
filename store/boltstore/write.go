package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/store/internal/feed"
)

// txn is the writes' view of one transaction, which the writes of a batch share: it hands
// out revisions (read from the meta bucket once, written back once, so that a batch's
// writes get consecutive ones) and records the feed events they commit.
type txn struct {
	tx     *bolt.Tx
	s      *Store
	now    time.Time
	rev    store.Revision // latest revision in this transaction; 0 until read
	events []*store.Event
}

// refusal is an op's answer that is not a failure of the transaction (ErrExists,
// ErrConflict, ErrNotFound): it is returned to the caller without retrying the batch.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }

func refuse(err error) error { return &refusal{err} }

// write runs op in a durable transaction (shared with concurrent writes through the group
// committer when batch is set; a background ctx's write may wait to share one) and returns
// once it committed with fsync and its events are published. op must check before it
// writes: a refusal must leave the transaction untouched.
func (s *Store) write(ctx context.Context, batch bool, op func(w *txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := newRequest(op, store.IsBackground(ctx))
	defer r.release()
	var err error
	if batch {
		err = s.group.run(r)
	} else {
		err = s.use(func(db *bolt.DB) error {
			return db.Update(func(tx *bolt.Tx) error { return s.apply(tx, []*request{r}) })
		})
	}
	if err != nil {
		if errors.Is(err, store.ErrClosed) {
			return err
		}
		return fmt.Errorf("boltstore: %s: %w", s.path, err)
	}
	if r.refused != nil {
		return r.refused
	}
	if r.last != 0 {
		s.pub.wait(r.last)
	}
	return nil
}

// apply runs the ops of batch in tx, which they share (from scratch: a failed batch runs
// again, each write alone), then records the revision, trims the feed and has the events
// published once tx committed. A refused op is answered with its refusal and the others
// go on; another failure fails tx (errFailedInBatch when others share it).
func (s *Store) apply(tx *bolt.Tx, batch []*request) error {
	w := &txn{tx: tx, s: s, now: s.opt.Now()}
	for _, r := range batch {
		r.refused, r.last = nil, 0
		n := len(w.events)
		if err := r.op(w); err != nil {
			if ref := (*refusal)(nil); errors.As(err, &ref) {
				r.refused = ref.err
				w.events = w.events[:n]
				continue
			}
			if len(batch) > 1 {
				return errFailedInBatch
			}
			return err
		}
		if len(w.events) > n {
			r.last = w.rev
		}
	}
	if len(w.events) == 0 {
		return nil
	}
	floor, err := w.finish()
	if err != nil {
		return err
	}
	events := w.events
	tx.OnCommit(func() { s.pub.add(events, floor) })
	return nil
}

// commit stores t (or, for a Deleted event, removes it) at the next revision and records
// its event. body is t's record body (encodeBody), encoded before the write was queued: the
// committer only puts the head before it. t is owned by the feed from here on.
func (w *txn) commit(typ store.EventType, t *store.Task, body []byte) error {
	if w.rev == 0 {
		w.rev = store.Revision(u64(w.tx.Bucket(bucketMeta).Get(keyRev)))
	}
	w.rev++
	t.ResourceVersion = w.rev
	// One allocation holds the task's key, the event's key and the event record, whose tail
	// is the task record (bbolt keeps what it is given until the commit).
	buf := make([]byte, 0, taskKeyLen(t.Key)+8+eventHead+headMax+len(t.UID)+len(body))
	buf = appendTaskKey(buf, t.Key)
	key := buf[:len(buf):len(buf)]
	buf = binary.BigEndian.AppendUint64(buf, uint64(w.rev))
	evKey := buf[len(key):len(buf):len(buf)]
	at := len(buf)
	buf = appendEventHead(buf, typ, w.now)
	buf = append(appendHead(buf, w.rev, t.UID, t.CreatedAt), body...)
	ev := buf[at:]
	tasks := w.tx.Bucket(bucketTasks)
	var err error
	if typ == store.EventDeleted {
		err = tasks.Delete(key)
	} else {
		err = tasks.Put(key, ev[eventHead:])
	}
	if err != nil {
		return err
	}
	events := w.tx.Bucket(bucketEvents)
	// Revisions only grow: pages filled to the brim never take an insert in their middle.
	events.FillPercent = 1
	if err := events.Put(evKey, ev); err != nil {
		return err
	}
	w.events = append(w.events, &store.Event{Type: typ, Revision: w.rev, Task: t})
	return nil
}

// trimMax bounds how many events one transaction drops for their age (an age bound may
// let many expire at once: the next writes drop the rest). The count bound is kept
// exactly.
const trimMax = 1024

// finish records the revision and trims the feed to its bounds; it returns the feed's new
// floor.
func (w *txn) finish() (store.Revision, error) {
	if err := w.tx.Bucket(bucketMeta).Put(keyRev, be64(uint64(w.rev))); err != nil {
		return 0, err
	}
	c := w.tx.Bucket(bucketEvents).Cursor()
	oldest := w.now.Add(-w.s.opt.FeedAge)
	aged := 0
	for {
		k, v := c.First()
		if k == nil {
			return w.rev, nil // (diskFloor of an empty feed)
		}
		held := uint64(w.rev) - binary.BigEndian.Uint64(k) + 1
		if held <= uint64(w.s.opt.FeedEvents) {
			if w.s.opt.FeedAge <= 0 || held <= 1 || aged >= trimMax || !eventTime(v).Before(oldest) {
				return store.Revision(binary.BigEndian.Uint64(k) - 1), nil // diskFloor, from this cursor
			}
			aged++
		}
		if err := c.Delete(); err != nil {
			return 0, err
		}
	}
}

// publisher hands committed events to the feed in revision order: bbolt runs the commit
// handlers of two transactions concurrently, so a later one may arrive first and waits in
// pending for the gap to fill.
type publisher struct {
	feed *feed.Feed

	mu      sync.Mutex
	cond    *sync.Cond
	last    store.Revision
	floor   func(store.Revision)
	pending map[store.Revision]*store.Event
	closed  bool
}

func newPublisher(f *feed.Feed, last store.Revision) *publisher {
	p := &publisher{feed: f, last: last, pending: make(map[store.Revision]*store.Event)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// add publishes evs and every pending event they make contiguous.
func (p *publisher) add(evs []*store.Event, floor store.Revision) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range evs {
		p.pending[e.Revision] = e
	}
	if p.floor != nil {
		p.floor(floor)
	}
	for {
		e, ok := p.pending[p.last+1]
		if !ok {
			break
		}
		delete(p.pending, e.Revision)
		p.feed.Publish(e)
		p.last = e.Revision
	}
	p.cond.Broadcast()
}

// wait returns once rev is published (or the store closed).
func (p *publisher) wait(rev store.Revision) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.last < rev && !p.closed {
		p.cond.Wait()
	}
}

func (p *publisher) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}
