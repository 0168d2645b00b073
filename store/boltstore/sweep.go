package boltstore

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
)

// sweepBatch bounds what one of Sweep's writes removes (tasks, or runs): the committer runs
// the other writes between them.
const sweepBatch = 256

// Sweep removes terminal tasks and finished runs past r (store.Retention's TaskDue and
// RunsDue), each swept task a Deleted event, then compacts the file if its free space passed
// the threshold (Options.CompactFreeBytes; writes wait meanwhile). It finds what is due in a
// snapshot, beside the committer, and removes it in durable writes of at most sweepBatch
// records each, so that a large sweep never holds the other writes up for long; a task that
// changed since the snapshot (another revision) is left for the next sweep.
func (s *Store) Sweep(ctx context.Context, now time.Time, r store.Retention) (int, error) {
	type due struct {
		key store.Key
		uid string
		rev store.Revision
	}
	var tasks []due
	var runKeys [][]byte
	err := s.snapshot(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			t, err := decodeTask(v)
			if err != nil {
				return corrupt(fmt.Sprintf("task key %q", k), err)
			}
			if r.TaskDue(t, now) {
				tasks = append(tasks, due{t.Key, t.UID, t.ResourceVersion})
				return nil
			}
			if r.Runs <= 0 && r.RunsPerTask <= 0 {
				return nil
			}
			runs, err := taskRuns(tx, t.UID)
			if err != nil {
				return err
			}
			for _, seq := range r.RunsDue(runs, now) {
				runKeys = append(runKeys, runKey(t.UID, seq))
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for len(runKeys) > 0 {
		batch := runKeys[:min(sweepBatch, len(runKeys))]
		runKeys = runKeys[len(batch):]
		gone := 0
		err := s.write(ctx, func(w *txn) error {
			gone = 0 // (an op may run again)
			for _, k := range batch {
				if w.bucket(runs).Get(k) == nil {
					continue // its task went since the snapshot
				}
				if err := w.del(runs, k); err != nil {
					return err
				}
				gone++
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += gone
	}
	for len(tasks) > 0 {
		batch := tasks[:min(sweepBatch, len(tasks))]
		tasks = tasks[len(batch):]
		gone := 0
		err := s.write(ctx, func(w *txn) error {
			gone = 0
			for _, d := range batch {
				t, err := getTask(w.tx, d.key)
				if err != nil {
					return err
				}
				if t == nil || t.UID != d.uid || t.ResourceVersion != d.rev {
					continue // deleted, or changed, since the snapshot
				}
				runsGone, err := w.remove(t)
				if err != nil {
					return err
				}
				gone += 1 + runsGone
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += gone
	}
	if err := s.compactNow(false); err != nil {
		return n, err
	}
	return n, nil
}

// compactNow compacts the file in the committer's loop, with no transaction open: always
// when force is set, else when it is worth it.
func (s *Store) compactNow(force bool) error {
	return s.group.exclusive(func() error {
		if force {
			return s.compact()
		}
		return s.compactIfWorth()
	})
}

// Compact compacts the file now, whatever its free space: writes wait meanwhile.
func (s *Store) Compact() error { return s.compactNow(true) }
