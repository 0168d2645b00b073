package boltstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
)

// txn is the writes' view of the live transaction for one batch, which the batch's
// writes share: it hands out revisions (read from the meta bucket once, written back once,
// so that a batch's writes get consecutive ones), records the feed events they commit, and
// appends what they put and delete to the batch's log payload (put, del: every write goes
// through them).
type txn struct {
	tx      *bolt.Tx
	s       *Store
	now     time.Time
	rev     store.Revision // latest revision in this transaction; 0 until read
	events  []*store.Event
	rec     []byte // the batch's log payload (wal.go)
	buckets [4]*bolt.Bucket
}

// The buckets, by index into txn.buckets.
const (
	meta = iota
	tasks
	runs
	events
)

var bucketNames = [...][]byte{meta: bucketMeta, tasks: bucketTasks, runs: bucketRuns, events: bucketEvents}

// bucket is the live transaction's bucket b.
func (w *txn) bucket(b int) *bolt.Bucket {
	if w.buckets[b] == nil {
		w.buckets[b] = w.tx.Bucket(bucketNames[b])
		if b == events {
			// Revisions only grow: pages filled to the brim never take an insert in their middle.
			w.buckets[b].FillPercent = 1
		}
	}
	return w.buckets[b]
}

// put stores k: v in bucket b, and logs it.
func (w *txn) put(b int, k, v []byte) error {
	if err := w.bucket(b).Put(k, v); err != nil {
		return err
	}
	w.rec = appendEntry(w.rec, logPut, bucketNames[b], k, v)
	return nil
}

// del removes k from bucket b, and logs it.
func (w *txn) del(b int, k []byte) error {
	w.rec = appendEntry(w.rec, logDelete, bucketNames[b], k, nil) // (k may not outlive the delete)
	return w.bucket(b).Delete(k)
}

// delAt removes the key c (a cursor of bucket b) is at, and logs it.
func (w *txn) delAt(b int, c *bolt.Cursor, k []byte) error {
	w.rec = appendEntry(w.rec, logDelete, bucketNames[b], k, nil)
	return c.Delete()
}

// refusal is an op's answer that is not a failure of the transaction (ErrExists,
// ErrConflict, ErrNotFound): it is returned to the caller without retrying the batch.
type refusal struct{ err error }

func (r *refusal) Error() string { return r.err.Error() }

func refuse(err error) error { return &refusal{err} }

// write runs op in the live transaction, in a batch with concurrent writes (a background
// ctx's write may wait to share one), and returns once the batch is durable and its
// events are published. op must check before it writes: a refusal must leave the
// transaction untouched.
func (s *Store) write(ctx context.Context, op func(w *txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := newRequest(op, store.IsBackground(ctx))
	defer r.release()
	if err := s.group.run(r); err != nil {
		if errors.Is(err, store.ErrClosed) || errors.Is(err, errStopped) {
			return err
		}
		return fmt.Errorf("boltstore: %s: %w", s.path, err)
	}
	return r.refused
}

// apply runs the ops of batch in w (from scratch: a failed batch runs again, each write
// alone), then records the revision and trims the feed; it returns the events to publish
// once the batch is durable, and the feed's new floor. A refused op is answered with its
// refusal and the others go on; another failure fails the batch (errFailedInBatch when
// others share it).
func (s *Store) apply(w *txn, batch []*request) ([]*store.Event, store.Revision, error) {
	for _, r := range batch {
		r.refused = nil
		n := len(w.events)
		if err := r.op(w); err != nil {
			if ref := (*refusal)(nil); errors.As(err, &ref) {
				r.refused = ref.err
				w.events = w.events[:n]
				continue
			}
			if len(batch) > 1 {
				return nil, 0, errFailedInBatch
			}
			return nil, 0, err
		}
	}
	if len(w.events) == 0 {
		return nil, 0, nil
	}
	floor, err := w.finish()
	if err != nil {
		return nil, 0, err
	}
	return w.events, floor, nil
}

// commit stores t (or, for a Deleted event, removes it) at the next revision and records
// its event. body is t's record body (encodeBody), encoded before the write was queued: the
// committer only puts the head before it. t is owned by the feed from here on.
func (w *txn) commit(typ store.EventType, t *store.Task, body []byte) error {
	if w.rev == 0 {
		w.rev = store.Revision(u64(w.bucket(meta).Get(keyRev)))
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
	var err error
	if typ == store.EventDeleted {
		err = w.del(tasks, key)
	} else {
		err = w.put(tasks, key, ev[eventHead:])
	}
	if err != nil {
		return err
	}
	if err := w.put(events, evKey, ev); err != nil {
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
	if err := w.put(meta, keyRev, be64(uint64(w.rev))); err != nil {
		return 0, err
	}
	c := w.bucket(events).Cursor()
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
		if err := w.delAt(events, c, k); err != nil {
			return 0, err
		}
	}
}

// publish hands a durable batch's events to the feed, after raising the feed's floor to
// what the batch trimmed. The committer alone calls it, in revision order, before it
// answers the batch: a watch opened after a write returns never replays it.
func (s *Store) publish(evs []*store.Event, floor store.Revision) {
	if uint64(floor) > s.floor.Load() {
		s.floor.Store(uint64(floor))
	}
	for _, e := range evs {
		s.feed.Publish(e)
	}
}
