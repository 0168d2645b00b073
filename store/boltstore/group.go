package boltstore

import (
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
)

// committer is the store's group commit: one goroutine runs every write that queued while
// the previous transaction was committing in one transaction, so that one fsync
// acknowledges them all. Unlike bbolt's Batch it has no timer: a lone write commits at
// once (one fsync, not a delay plus one), and under load a batch is whatever arrived during
// the last fsync, up to Options.MaxBatchSize.
type committer struct {
	s   *Store
	max int

	mu      sync.Mutex
	queue   []*request
	stopped bool
	wake    chan struct{} // a token when the queue has work
	done    chan struct{} // closed when the loop has returned
}

// request is one queued write: op (run again from scratch if its batch is retried), and
// the answer the loop sends once the transaction holding it committed or failed.
type request struct {
	op  func(tx *bolt.Tx) error
	err chan error
}

// errFailedInBatch marks an op's failure inside a shared transaction: the batch is rolled
// back and each of its writes is run again alone, so that one write's failure is its own.
var errFailedInBatch = errors.New("a write of the batch failed")

func newCommitter(s *Store, max int) *committer {
	c := &committer{s: s, max: max, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.loop()
	return c
}

// do queues op and returns its transaction's result once committed (store.ErrClosed when
// the store closed first).
func (c *committer) do(op func(tx *bolt.Tx) error) error {
	r := &request{op: op, err: make(chan error, 1)}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return store.ErrClosed
	}
	c.queue = append(c.queue, r)
	select { // under mu: stop closes wake under it
	case c.wake <- struct{}{}:
	default: // a token is already there: the loop has yet to take the queue
	}
	c.mu.Unlock()
	return <-r.err
}

func (c *committer) loop() {
	defer close(c.done)
	for {
		<-c.wake // a token, or closed by stop: the queue is drained either way
		for {
			batch, stopped := c.take()
			if len(batch) > 0 {
				c.commit(batch)
			}
			if stopped {
				return
			}
			if len(batch) < c.max {
				break // the queue was emptied: wait for the next token
			}
		}
	}
}

// take removes up to max queued requests; stopped reports that the store is closing and
// the queue is now empty.
func (c *committer) take() (batch []*request, stopped bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(c.queue), c.max)
	batch = c.queue[:n:n]
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	return batch, c.stopped && len(c.queue) == 0
}

// commit runs batch in one transaction; if that fails with more than one write in it, each
// runs again alone and gets its own result.
func (c *committer) commit(batch []*request) {
	err := c.s.use(func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			for _, r := range batch {
				if err := r.op(tx); err != nil {
					if len(batch) == 1 {
						return err
					}
					return errFailedInBatch
				}
			}
			return nil
		})
	})
	if err == nil || len(batch) == 1 || errors.Is(err, store.ErrClosed) {
		for _, r := range batch {
			r.err <- err
		}
		return
	}
	for _, r := range batch {
		r.err <- c.s.use(func(db *bolt.DB) error { return db.Update(r.op) })
	}
}

// stop makes later writes store.ErrClosed, lets the loop commit what is queued and waits
// for it to return.
func (c *committer) stop() {
	c.mu.Lock()
	if !c.stopped {
		c.stopped = true
		close(c.wake)
	}
	c.mu.Unlock()
	<-c.done
}
