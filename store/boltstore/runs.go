package boltstore

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
)

// PutRun stores r, durably, replacing the run of the same task uid and Seq. A run whose
// task is gone, or is another incarnation (another uid), is dropped: nil error, nothing
// stored.
func (s *Store) PutRun(ctx context.Context, r *store.Run) error {
	if err := store.CheckRun(r); err != nil {
		return err
	}
	rec := encodeRun(r)
	return s.write(ctx, func(w *txn) error {
		t, ok, err := getHead(w.tx, store.Key{Tenant: r.Tenant, Name: r.Task})
		if err != nil {
			return err
		}
		if !ok || string(t.uid) != r.TaskUID {
			return nil
		}
		return w.put(runs, runKey(r.TaskUID, r.Seq), rec)
	})
}

// taskRuns reads the runs of the task with uid, in Seq order.
func taskRuns(tx *bolt.Tx, uid string) ([]*store.Run, error) {
	prefix := runPrefix(uid)
	var out []*store.Run
	c := tx.Bucket(bucketRuns).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		r, err := decodeRun(v)
		if err != nil {
			return nil, fmt.Errorf("boltstore: run key %q: corrupt record: %w", k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// ListRuns returns a task's runs in Seq order (store.ErrNotFound when there is no task).
func (s *Store) ListRuns(ctx context.Context, k store.Key) ([]*store.Run, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*store.Run
	found := false
	err := s.view(func(tx *bolt.Tx) error {
		t, ok, err := getHead(tx, k) // only its uid: no need to decode the task
		if err != nil || !ok {
			return err
		}
		found = true
		out, err = taskRuns(tx, string(t.uid))
		return err
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound(k)
	}
	if out == nil {
		out = []*store.Run{}
	}
	return out, nil
}

// NextRunSeq returns the next run-id number. Numbers are reserved on disk a block
// (Options.RunSeqBlock) at a time, so most calls touch no disk; a crash skips what was
// left of the block, and no number is ever handed out twice.
func (s *Store) NextRunSeq(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if s.seqNext > s.seqLimit {
		limit := s.seqLimit + s.opt.RunSeqBlock
		err := s.write(ctx, func(w *txn) error { return w.put(meta, keyRunSeq, be64(limit)) })
		if err != nil {
			return 0, err
		}
		s.seqLimit = limit
	} else if err := s.group.closed(); err != nil {
		return 0, err
	}
	n := s.seqNext
	s.seqNext++
	return n, nil
}
