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
// whatever arrived during the last fsync, up to Options.MaxBatchSize. Background writes
// (store.Background) wait, up to Options.Linger, for a client's write to share a commit
// with; a client's write waits only for the other clients' writes that it can expect
// (Options.GatherDelay, see take).
type committer struct {
	s      *Store
	max    int
	linger time.Duration
	gather time.Duration

	mu         sync.Mutex
	queue      []*request
	foreground int       // requests in queue that are not background
	lastFG     int       // the client writes the last commit acknowledged
	lastEnd    time.Time // when the last commit ended
	stopped    bool
	stats      Stats
	wake       chan struct{} // a token when the queue has work
	done       chan struct{} // closed when the loop has returned
}

// request is one queued write: op (run again from scratch if its batch is retried), and
// the answer the loop sends once the transaction holding it committed or failed, with
// what apply recorded of op's run: its refusal, or the revision of its last event.
type request struct {
	op         func(w *txn) error
	background bool
	queued     time.Time
	err        chan error
	refused    error
	last       store.Revision
}

// requests recycles requests and their answer channels (a few allocations per write).
var requests = sync.Pool{New: func() any { return &request{err: make(chan error, 1)} }}

// newRequest is a request for op, from the pool.
func newRequest(op func(w *txn) error, background bool) *request {
	r := requests.Get().(*request)
	r.op, r.background = op, background
	return r
}

// release returns r to the pool, once its answer was taken.
func (r *request) release() {
	*r = request{err: r.err}
	requests.Put(r)
}

// Stats counts the store's group commits, for benchmarks and tuning.
type Stats struct {
	// Commits is how many transactions the committer ran; Writes how many writes they held.
	Commits, Writes int64
	// Lingered is how many commits waited for a client's write (Options.Linger).
	Lingered int64
	// Gathered is how many commits waited for more clients' writes (Options.GatherDelay).
	Gathered int64
	// CommitTime is the time the committer spent in transactions, fsync included.
	CommitTime time.Duration
	// PageBytes is what bbolt allocated for the pages its commits wrote.
	PageBytes int64
}

// errFailedInBatch marks an op's failure inside a shared transaction: the batch is rolled
// back and each of its writes is run again alone, so that one write's failure is its own.
var errFailedInBatch = errors.New("a write of the batch failed")

func newCommitter(s *Store, max int, linger, gather time.Duration) *committer {
	c := &committer{s: s, max: max, linger: linger, gather: gather, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.loop()
	return c
}

// do queues op and returns its transaction's result once committed (store.ErrClosed when
// the store closed first).
func (c *committer) do(op func(w *txn) error, background bool) error {
	r := newRequest(op, background)
	defer r.release()
	return c.run(r)
}

// run queues r and returns its transaction's result once committed (store.ErrClosed when
// the store closed first).
func (c *committer) run(r *request) error {
	r.queued = time.Now()
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return store.ErrClosed
	}
	if !r.background {
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
			if wait > 0 { // writes to wait for (take): a token, a new write, or the time is up
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

// take removes up to max queued requests, or none and how long to wait for more:
//   - with only background writes queued, until the oldest has waited Options.Linger;
//   - with client writes queued but fewer than can be expected, until GatherDelay after the
//     last commit ended (or after the oldest client write came, if later). Expected are as
//     many as the last commit took (clients that were answered together come back
//     together), and one more than are queued when one of them came while the last commit
//     ran (another client's write was then in flight: two clients committing one at a time,
//     turn about, would otherwise never share a commit). A lone client's write comes after
//     its previous one committed, and the last commit took only that one: it never waits.
//
// stopped reports that the store is closing and the queue is now empty.
func (c *committer) take() (batch []*request, wait time.Duration, stopped bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) > 0 && !c.stopped && len(c.queue) < c.max {
		if wait = c.waitFor(); wait > 0 {
			return nil, wait, false
		}
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

// waitFor is take's wait for the queue as it is (0: commit now), counting a wait that ended
// in Stats; c.mu is held.
func (c *committer) waitFor() time.Duration {
	now := time.Now()
	if c.foreground == 0 {
		if c.linger <= 0 {
			return 0
		}
		if wait := c.linger - now.Sub(c.queue[0].queued); wait > 0 {
			return wait
		}
		c.stats.Lingered++
		return 0
	}
	if c.gather <= 0 {
		return 0
	}
	var first *request // the oldest client write
	for _, r := range c.queue {
		if !r.background {
			first = r
			break
		}
	}
	want := c.lastFG
	if first.queued.Before(c.lastEnd) {
		want = max(want, c.foreground+1)
	}
	if c.foreground >= want {
		return 0
	}
	from := c.lastEnd
	if first.queued.After(from) {
		from = first.queued
	}
	if wait := c.gather - now.Sub(from); wait > 0 {
		return wait
	}
	c.stats.Gathered++
	return 0
}

// commit runs batch in one transaction; if that fails with more than one write in it, each
// runs again alone and gets its own result.
func (c *committer) commit(batch []*request) {
	start := time.Now()
	var pages int64
	err := c.s.use(func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			if err := c.s.apply(tx, batch); err != nil {
				return err
			}
			tx.OnCommit(func() { st := tx.Stats(); pages = st.GetPageAlloc() })
			return nil
		})
	})
	fg := 0
	for _, r := range batch {
		if !r.background {
			fg++
		}
	}
	c.mu.Lock()
	c.lastFG, c.lastEnd = fg, time.Now()
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
		r.err <- c.s.use(func(db *bolt.DB) error {
			return db.Update(func(tx *bolt.Tx) error { return c.s.apply(tx, []*request{r}) })
		})
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
