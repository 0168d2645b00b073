package boltstore

import (
	"errors"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
)

// committer is the store's group commit: one goroutine runs every write that queued while
// the previous transaction was committing in one transaction, so that one fsync
// acknowledges them all. Unlike bbolt's Batch it has no timer for a client's write: a lone
// write commits at once (one fsync, not a delay plus one), and under load a batch is
// whatever arrived during the last fsync, up to Options.MaxBatchSize. Only background
// writes (store.Background) wait, up to Options.Linger, for a client's write to share a
// commit with.
type committer struct {
	s      *Store
	max    int
	linger time.Duration

	mu         sync.Mutex
	queue      []*request
	foreground int // requests in queue that are not background
	stopped    bool
	stats      Stats
	wake       chan struct{} // a token when the queue has work
	done       chan struct{} // closed when the loop has returned
}

// request is one queued write: op (run again from scratch if its batch is retried), and
// the answer the loop sends once the transaction holding it committed or failed.
type request struct {
	op         func(tx *bolt.Tx) error
	background bool
	queued     time.Time
	err        chan error
}

// Stats counts the store's group commits, for benchmarks and tuning.
type Stats struct {
	// Commits is how many transactions the committer ran; Writes how many writes they held.
	Commits, Writes int64
	// Lingered is how many commits waited for a client's write (Options.Linger).
	Lingered int64
	// CommitTime is the time the committer spent in transactions, fsync included.
	CommitTime time.Duration
	// PageBytes is what bbolt allocated for the pages its commits wrote.
	PageBytes int64
}

// errFailedInBatch marks an op's failure inside a shared transaction: the batch is rolled
// back and each of its writes is run again alone, so that one write's failure is its own.
var errFailedInBatch = errors.New("a write of the batch failed")

func newCommitter(s *Store, max int, linger time.Duration) *committer {
	c := &committer{s: s, max: max, linger: linger, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.loop()
	return c
}

// do queues op and returns its transaction's result once committed (store.ErrClosed when
// the store closed first).
func (c *committer) do(op func(tx *bolt.Tx) error, background bool) error {
	r := &request{op: op, background: background, err: make(chan error, 1)}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return store.ErrClosed
	}
	if background {
		r.queued = time.Now()
	} else {
		c.foreground++
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
	var timer *time.Timer
	for {
		<-c.wake // a token, or closed by stop: the queue is drained either way
		for {
			batch, wait, stopped := c.take()
			if wait > 0 { // background writes only: give a client's write time to come
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-c.wake:
				case <-timer.C:
				}
				timer.Stop()
				continue
			}
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

// take removes up to max queued requests. With only background writes queued, the oldest
// younger than the linger, it takes none and says how long to wait. stopped reports that
// the store is closing and the queue is now empty.
func (c *committer) take() (batch []*request, wait time.Duration, stopped bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.linger > 0 && len(c.queue) > 0 && c.foreground == 0 && !c.stopped && len(c.queue) < c.max {
		if wait = c.linger - time.Since(c.queue[0].queued); wait > 0 {
			return nil, wait, false
		}
		c.stats.Lingered++
	}
	n := min(len(c.queue), c.max)
	batch = c.queue[:n:n]
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	for _, r := range batch {
		if !r.background {
			c.foreground--
		}
	}
	return batch, 0, c.stopped && len(c.queue) == 0
}

// commit runs batch in one transaction; if that fails with more than one write in it, each
// runs again alone and gets its own result.
func (c *committer) commit(batch []*request) {
	start := time.Now()
	var pages int64
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
			tx.OnCommit(func() { st := tx.Stats(); pages = st.GetPageAlloc() })
			return nil
		})
	})
	c.mu.Lock()
	c.stats.Commits++
	c.stats.Writes += int64(len(batch))
	c.stats.CommitTime += time.Since(start)
	c.stats.PageBytes += pages
	c.mu.Unlock()
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

// Stats returns the group commit's counters since Open.
func (s *Store) Stats() Stats {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return s.group.stats
}
