package boltstore

import (
	"context"
	"fmt"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// Sweep removes terminal tasks and finished runs past r (store.Retention's TaskDue and
// RunsDue) in one durable transaction, each swept task a Deleted event, then compacts the
// file if its free space passed the threshold (Options.CompactFreeBytes): writes wait
// meanwhile.
func (s *Store) Sweep(ctx context.Context, now time.Time, r store.Retention) (int, error) {
	n := 0
	err := s.write(ctx, func(w *txn) error {
		n = 0
		var due []*store.Task
		var runKeys [][]byte
		err := w.tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			t, err := decodeTask(v)
			if err != nil {
				return corrupt(fmt.Sprintf("task key %q", k), err)
			}
			if r.TaskDue(t, now) {
				due = append(due, t)
				return nil
			}
			if r.Runs <= 0 && r.RunsPerTask <= 0 {
				return nil
			}
			runs, err := taskRuns(w.tx, t.UID)
			if err != nil {
				return err
			}
			for _, seq := range r.RunsDue(runs, now) {
				runKeys = append(runKeys, runKey(t.UID, seq))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range runKeys {
			if err := w.del(runs, k); err != nil {
				return err
			}
			n++
		}
		for _, t := range due {
			gone, err := w.deleteRuns(t.UID)
			if err != nil {
				return err
			}
			if err := w.commit(store.EventDeleted, t, encodeBody(t)); err != nil {
				return err
			}
			n += 1 + gone
		}
		return nil
	})
	if err != nil {
		return 0, err
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
