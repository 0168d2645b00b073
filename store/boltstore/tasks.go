package boltstore

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
)

// getTask reads k's task in tx; nil when absent.
func getTask(tx *bolt.Tx, k store.Key) (*store.Task, error) {
	b := tx.Bucket(bucketTasks).Get(taskKey(k))
	if b == nil {
		return nil, nil
	}
	t, err := decodeTask(b)
	if err != nil {
		return nil, corrupt("task "+k.Tenant+"/"+k.Name, err)
	}
	return t, nil
}

// getHead reads what a conditional write checks of k's task in tx: its head, whose uid is
// valid for the transaction; ok is false when the task is absent.
func getHead(tx *bolt.Tx, k store.Key) (h head, ok bool, err error) {
	b := tx.Bucket(bucketTasks).Get(taskKey(k))
	if b == nil {
		return head{}, false, nil
	}
	if h, err = readHead(b); err != nil {
		return head{}, false, corrupt("task "+k.Tenant+"/"+k.Name, err)
	}
	return h, true, nil
}

func notFound(k store.Key) error {
	return fmt.Errorf("task %s/%s: %w", k.Tenant, k.Name, store.ErrNotFound)
}

// CreateTask stores a new task, durably. An empty UID gets a new random one, a zero
// Generation 1, a zero CreatedAt the current time.
func (s *Store) CreateTask(ctx context.Context, t *store.Task) (*store.Task, error) {
	if err := store.CheckTask(t); err != nil {
		return nil, err
	}
	n := t.Clone()
	if n.UID == "" {
		n.UID = store.NewUID()
	}
	if n.Generation == 0 {
		n.Generation = 1
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = s.opt.Now().UTC()
	}
	body := encodeBody(n)
	err := s.write(ctx, func(w *txn) error {
		if w.bucket(tasks).Get(taskKey(n.Key)) != nil {
			return refuse(fmt.Errorf("task %s/%s: %w", n.Tenant, n.Name, store.ErrExists))
		}
		return w.commit(store.EventAdded, n, body)
	})
	if err != nil {
		return nil, err
	}
	return n.Clone(), nil
}

// UpdateTask replaces a task if its revision is want (0: any), durably. The stored UID and
// CreatedAt are kept; a non-empty t.UID that differs from the stored one is
// store.ErrConflict (the task was deleted and created again).
func (s *Store) UpdateTask(ctx context.Context, t *store.Task, want store.Revision) (*store.Task, error) {
	if err := store.CheckTask(t); err != nil {
		return nil, err
	}
	return s.update(ctx, t, want, nil)
}

// UpdateTaskWithRun is UpdateTask that also stores r, in the same transaction.
func (s *Store) UpdateTaskWithRun(ctx context.Context, t *store.Task, want store.Revision, r *store.Run) (*store.Task, error) {
	if err := store.CheckRunOf(t, r); err != nil {
		return nil, err
	}
	return s.update(ctx, t, want, r)
}

// update replaces t's task and, when r is set, stores r with it (dropped if it is a run of
// another uid, as PutRun drops it).
func (s *Store) update(ctx context.Context, t *store.Task, want store.Revision, r *store.Run) (*store.Task, error) {
	var run []byte
	if r != nil {
		run = encodeRun(r)
	}
	// Everything but the head is encoded here, before the write is queued.
	n := t.Clone()
	body := encodeBody(n)
	err := s.write(ctx, func(w *txn) error {
		cur, ok, err := getHead(w.tx, t.Key)
		if err != nil {
			return err
		}
		if !ok {
			return refuse(notFound(t.Key))
		}
		if (t.UID != "" && t.UID != string(cur.uid)) || (want != 0 && want != cur.rev) {
			return refuse(store.CheckPrecondition(cur.task(t.Key), t.UID, want))
		}
		if n.UID != string(cur.uid) { // (the caller's uid, as a rule: no allocation)
			n.UID = string(cur.uid)
		}
		n.CreatedAt = cur.createdAt
		if r != nil && r.TaskUID == n.UID {
			if err := w.put(runs, runKey(r.TaskUID, r.Seq), run); err != nil {
				return err
			}
		}
		return w.commit(store.EventModified, n, body)
	})
	if err != nil {
		return nil, err
	}
	return n.Clone(), nil
}

// DeleteTask removes a task and its runs, durably. It returns the task as the Deleted
// event carries it (the last state, at the delete's revision).
func (s *Store) DeleteTask(ctx context.Context, k store.Key, uid string, want store.Revision) (*store.Task, error) {
	if err := store.CheckKey(k); err != nil {
		return nil, err
	}
	var out *store.Task
	err := s.write(ctx, func(w *txn) error {
		cur, err := getTask(w.tx, k)
		if err != nil {
			return err
		}
		if cur == nil {
			return refuse(notFound(k))
		}
		if err := store.CheckPrecondition(cur, uid, want); err != nil {
			return refuse(err)
		}
		if _, err := w.remove(cur); err != nil {
			return err
		}
		out = cur
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out.Clone(), nil
}

// remove deletes t and its runs and commits the Deleted event; it returns how many runs
// went.
func (w *txn) remove(t *store.Task) (int, error) {
	n, err := w.deleteRuns(t.UID)
	if err != nil {
		return n, err
	}
	return n, w.commit(store.EventDeleted, t, encodeBody(t))
}

// deleteRuns removes every run of the task with uid, and counts them.
func (w *txn) deleteRuns(uid string) (int, error) {
	prefix := runPrefix(uid)
	c := w.bucket(runs).Cursor()
	n := 0
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := w.delAt(runs, c, k); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// GetTask returns one task.
func (s *Store) GetTask(ctx context.Context, k store.Key) (*store.Task, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *store.Task
	err := s.view(func(tx *bolt.Tx) error {
		t, err := getTask(tx, k)
		out = t
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, notFound(k)
	}
	return out, nil
}

// ListTasks returns a page of a tenant's tasks in name order, read in one transaction: a
// snapshot beside the committer, so that a long listing holds no write up. A
// continuation (opt.AtRevision set) lists the current state; it is store.ErrExpired once
// the feed no longer reaches back to opt.AtRevision, so that a client following the list
// with a watch from Page.Revision misses nothing. Remaining is exact: the rest of the
// tenant's tasks are read to count the matching ones.
func (s *Store) ListTasks(ctx context.Context, tenant string, opt store.ListOptions) (*store.Page, error) {
	if opt.Limit < 0 {
		return nil, fmt.Errorf("list tasks of tenant %q: %w: negative limit %d", tenant, store.ErrInvalid, opt.Limit)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opt.AtRevision != 0 {
		if floor := s.feed.Floor(); opt.AtRevision < floor {
			return nil, fmt.Errorf("list tasks of tenant %q at revision %d: %w (the feed begins after %d)",
				tenant, opt.AtRevision, store.ErrExpired, floor)
		}
	}
	page := &store.Page{}
	err := s.snapshot(func(tx *bolt.Tx) error {
		page.Revision = store.Revision(u64(tx.Bucket(bucketMeta).Get(keyRev)))
		prefix := tenantPrefix(tenant)
		start := append(append([]byte(nil), prefix...), opt.After...)
		c := tx.Bucket(bucketTasks).Cursor()
		k, v := c.Seek(start)
		if opt.After != "" && bytes.Equal(k, start) {
			k, v = c.Next()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			t, err := decodeTask(v)
			if err != nil {
				return corrupt("task "+tenant+"/"+string(k[len(prefix):]), err)
			}
			if !opt.Matches(t, store.SpecSlot(t.Spec)) {
				continue
			}
			if opt.Limit > 0 && len(page.Tasks) == opt.Limit {
				page.Remaining++
				continue
			}
			page.Tasks = append(page.Tasks, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if opt.AtRevision != 0 {
		page.Revision = opt.AtRevision
	}
	if page.Remaining > 0 {
		page.Next = page.Tasks[len(page.Tasks)-1].Name
	}
	return page, nil
}

// Unfinished returns every non-terminal task, oldest first (store.SortOldestFirst).
func (s *Store) Unfinished(ctx context.Context) ([]*store.Task, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*store.Task
	err := s.snapshot(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			t, err := decodeTask(v)
			if err != nil {
				return corrupt(fmt.Sprintf("task key %q", k), err)
			}
			if !t.Status.Phase.Terminal() {
				out = append(out, t)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	store.SortOldestFirst(out)
	return out, nil
}

// Revision is the latest revision whose event is published (every write returns after
// its own is).
func (s *Store) Revision() store.Revision { return s.feed.Last() }
