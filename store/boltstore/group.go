package boltstore

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
)

// committer is the store's group commit and the owner of its bbolt file: one goroutine
// runs every write that queued while the previous batch was being made durable as one
// batch, so that one sync acknowledges them all. It keeps one bbolt write transaction
// open, the live transaction: a batch's ops run in it, its puts and deletes are appended
// to the log (wal.go) and synced, and only then is the batch answered; a checkpoint
// commits the live transaction (Options.CheckpointInterval, or when the log is full) and
// opens the next. Reads run in the live transaction too, between batches, so that they
// see every acknowledged write and no other.
//
// Unlike bbolt's Batch it has no timer for a client's write: a lone write is made durable
// at once, and under load a batch is whatever arrived during the last sync, up to
// Options.MaxBatchSize. Background writes (store.Background) wait, up to Options.Linger,
// for a client's write to share a sync with; a client's write waits only for the other
// clients' writes that it can expect (Options.GatherDelay, see take).
type committer struct {
	s        *Store
	max      int
	linger   time.Duration
	gather   time.Duration
	interval time.Duration // Options.CheckpointInterval

	// Owned by the loop.
	log   *wal
	tx    *bolt.Tx  // the live transaction; nil once failed or stopped
	dirty time.Time // when the live transaction took its first write since the last checkpoint; zero: none
	rec   []byte    // the batch's log payload, reused

	mu         sync.Mutex
	queue      []*request
	calls      []*call   // reads and jobs, run between batches
	foreground int       // requests in queue that are not background
	lastFG     int       // the client writes the last batch acknowledged
	lastEnd    time.Time // when the last batch was answered
	stopped    bool
	failed     error // the log or a checkpoint failed: every later call gets it
	stats      Stats
	wake       chan struct{} // a token when there is work
	done       chan struct{} // closed when the loop has returned
	closeErr   error         // the final checkpoint's, once done is closed
}

// call is a queued read (fn runs in the live transaction) or job (exclusive: fn runs with
// the live transaction checkpointed and closed, and gets nil).
type call struct {
	fn        func(tx *bolt.Tx) error
	exclusive bool
	err       chan error
}

// request is one queued write: op (run again from scratch if its batch is retried), and
// the answer the loop sends once its batch is durable or failed, with what apply recorded
// of op's run: its refusal.
type request struct {
	op         func(w *txn) error
	background bool
	queued     time.Time
	err        chan error
	refused    error
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

// Stats counts the store's group commits and checkpoints, for benchmarks and tuning.
type Stats struct {
	// Commits is how many batches the committer made durable (a log sync each, or a
	// checkpoint when the log was full); Writes how many writes they held.
	Commits, Writes int64
	// Lingered is how many batches waited for a client's write (Options.Linger).
	Lingered int64
	// Gathered is how many batches waited for more clients' writes (Options.GatherDelay).
	Gathered int64
	// CommitTime is the time the committer spent making batches durable: their ops and
	// the log's write and sync (or the checkpoint that replaced them).
	CommitTime time.Duration
	// LogBytes is what the batches appended to the log.
	LogBytes int64
	// Checkpoints is how many times the live transaction was committed to the bbolt file,
	// taking CheckpointTime.
	Checkpoints    int64
	CheckpointTime time.Duration
	// PageBytes is what bbolt allocated for the pages its checkpoints wrote.
	PageBytes int64
	// Recovered is how many log records Open applied to the file: the batches a crash
	// had left in the log only.
	Recovered int64
}

// errFailedInBatch marks an op's failure inside a shared batch: the live transaction is
// rebuilt without the batch and each of its writes is run again alone, so that one
// write's failure is its own.
var errFailedInBatch = errors.New("a write of the batch failed")

// errStopped is in the error of every call after the log or a checkpoint failed: the
// store refuses them all; a reopen applies the log, which holds every acknowledged write.
var errStopped = errors.New("the store stopped after a failure (reopen it to recover what was acknowledged)")

func newCommitter(s *Store, log *wal, tx *bolt.Tx) *committer {
	o := s.opt
	c := &committer{s: s, max: o.MaxBatchSize, linger: o.Linger, gather: o.GatherDelay, interval: o.CheckpointInterval,
		log: log, tx: tx, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.loop()
	return c
}

// do queues op and returns its batch's result once durable (store.ErrClosed when the
// store closed first).
func (c *committer) do(op func(w *txn) error, background bool) error {
	r := newRequest(op, background)
	defer r.release()
	return c.run(r)
}

// run queues r and returns its batch's result once durable (store.ErrClosed when the
// store closed first).
func (c *committer) run(r *request) error {
	r.queued = time.Now()
	c.mu.Lock()
	if err := c.refusing(); err != nil {
		c.mu.Unlock()
		return err
	}
	if !r.background {
		c.foreground++
	}
	c.queue = append(c.queue, r)
	c.signal()
	c.mu.Unlock()
	return <-r.err
}

// view runs fn in the live transaction, between batches: it sees every acknowledged write.
// fn must copy what it keeps of the values it reads.
func (c *committer) view(fn func(tx *bolt.Tx) error) error { return c.enqueue(fn, false) }

// snapshot returns a read-only transaction that holds every write acknowledged before the
// call, for a read that may take long (a listing): it runs beside the loop, not in it, so
// that it holds no write up. The loop checkpoints first when the live transaction holds
// writes (snapshots asked for together share that checkpoint). The caller must roll it
// back; until then a checkpoint that has to grow the file's mapping waits for it.
func (c *committer) snapshot() (*bolt.Tx, error) {
	var snap *bolt.Tx
	err := c.view(func(*bolt.Tx) error {
		if !c.dirty.IsZero() {
			if err := c.checkpoint(true); err != nil {
				return err
			}
		}
		var err error
		snap, err = c.s.db.Begin(false)
		return err
	})
	return snap, err
}

// exclusive runs fn between batches with the live transaction checkpointed and closed
// (fn may replace c.s.db: compaction).
func (c *committer) exclusive(fn func() error) error {
	return c.enqueue(func(*bolt.Tx) error { return fn() }, true)
}

// enqueue queues fn for the loop, to run between batches, and returns its result.
func (c *committer) enqueue(fn func(tx *bolt.Tx) error, exclusive bool) error {
	k := &call{fn: fn, exclusive: exclusive, err: make(chan error, 1)}
	c.mu.Lock()
	if err := c.refusing(); err != nil {
		c.mu.Unlock()
		return err
	}
	c.calls = append(c.calls, k)
	c.signal()
	c.mu.Unlock()
	return <-k.err
}

// refusing is why a new call is refused: closed, or failed; c.mu is held.
func (c *committer) refusing() error {
	if c.stopped {
		return store.ErrClosed
	}
	return c.failed
}

// closed is store.ErrClosed once the store is closing (or its failure).
func (c *committer) closed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refusing()
}

// signal leaves the loop a token; c.mu is held (stop closes wake under it).
func (c *committer) signal() {
	select {
	case c.wake <- struct{}{}:
	default: // a token is already there: the loop has yet to take the work
	}
}

func (c *committer) loop() {
	defer close(c.done)
	var timer *time.Timer
	// sleep waits for a token, up to d (0: no bound); it reports whether time ran out.
	sleep := func(d time.Duration) bool {
		if d <= 0 {
			<-c.wake
			return false
		}
		if timer == nil {
			timer = time.NewTimer(d)
		} else {
			timer.Reset(d)
		}
		defer timer.Stop()
		select {
		case <-c.wake:
			return false
		case <-timer.C:
			return true
		}
	}
	for {
		var due time.Duration // until the checkpoint a quiet store still owes
		if !c.dirty.IsZero() {
			due = max(c.interval-time.Since(c.dirty), time.Nanosecond)
		}
		if sleep(due) {
			c.checkpoint(true)
			continue
		}
		for {
			c.serve()
			batch, wait, stopped := c.take()
			if wait > 0 { // writes to wait for (take): a token, a new write, or the time is up
				sleep(wait)
				continue
			}
			if len(batch) > 0 {
				c.commit(batch)
			}
			if !c.dirty.IsZero() && time.Since(c.dirty) >= c.interval {
				c.checkpoint(true)
			}
			if stopped {
				c.serve()
				c.shutdown()
				return
			}
			if len(batch) < c.max {
				break // the queue was emptied: wait for the next token
			}
		}
	}
}

// serve runs the queued reads and jobs, in order.
func (c *committer) serve() {
	c.mu.Lock()
	calls := c.calls
	c.calls = nil
	c.mu.Unlock()
	for _, k := range calls {
		switch {
		case k.exclusive:
			k.err <- c.runJob(func() error { return k.fn(nil) })
		case c.tx == nil:
			k.err <- c.failedErr()
		default:
			k.err <- k.fn(c.tx)
		}
	}
}

// runJob runs fn with the live transaction checkpointed and closed, then opens the next.
func (c *committer) runJob(fn func() error) error {
	if err := c.checkpoint(false); err != nil {
		return err
	}
	err := fn()
	if berr := c.begin(); berr != nil {
		return berr
	}
	return err
}

// begin opens the next live transaction (a failure fails the store).
func (c *committer) begin() error {
	tx, err := c.s.db.Begin(true)
	if err != nil {
		c.fail(fmt.Errorf("opening a transaction: %w", err))
		return c.failedErr()
	}
	c.tx = tx
	return nil
}

// failedErr is the store's failure; the loop's own read of it.
func (c *committer) failedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed != nil {
		return c.failed
	}
	return store.ErrClosed
}

// fail makes the store refuse every later call with err (what failed, and that a reopen
// recovers from the log what was acknowledged); the live transaction is dropped.
func (c *committer) fail(err error) {
	if c.tx != nil {
		_ = c.tx.Rollback()
		c.tx = nil
	}
	c.mu.Lock()
	if c.failed == nil {
		c.failed = fmt.Errorf("boltstore: %s: %w: %w", c.s.path, errStopped, err)
	}
	c.mu.Unlock()
}

// take removes up to max queued requests, or none and how long to wait for more:
//   - with only background writes queued, until the oldest has waited Options.Linger;
//   - with client writes queued but fewer than can be expected, until GatherDelay after the
//     last batch was answered (or after the oldest client write came, if later). Expected
//     are as many as the last batch took (clients that were answered together come back
//     together), and one more than are queued when one of them came while the last batch
//     was being made durable (another client's write was then in flight: two clients
//     taking turns would otherwise never share a sync). A lone client's write comes after
//     its previous one was answered, and the last batch took only that one: it never
//     waits.
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

// commit makes batch durable and answers it; when one of its writes failed (and the live
// transaction was rebuilt without the batch), each runs again alone and gets its own
// result.
func (c *committer) commit(batch []*request) {
	start := time.Now()
	logged := c.log.off
	err := c.durable(batch)
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
	c.stats.LogBytes += max(c.log.off-logged, 0)
	c.mu.Unlock()
	if !errors.Is(err, errFailedInBatch) {
		for _, r := range batch {
			r.err <- err
		}
		return
	}
	for _, r := range batch {
		r.err <- c.durable([]*request{r})
	}
}

// durable runs batch's ops in the live transaction, logs what they wrote and syncs it (or,
// when the log is full, checkpoints), then publishes their events. An op's failure rebuilds
// the live transaction from the log, without the batch.
func (c *committer) durable(batch []*request) error {
	if c.tx == nil {
		return c.failedErr()
	}
	w := &txn{tx: c.tx, s: c.s, now: c.s.opt.Now(), rec: c.rec[:0]}
	events, floor, err := c.s.apply(w, batch)
	c.rec = w.rec[:0]
	if err != nil {
		if rerr := c.rebuild(); rerr != nil {
			c.fail(fmt.Errorf("rebuilding the live transaction after a failed write: %w", rerr))
			return c.failedErr()
		}
		return err
	}
	if len(w.rec) > 0 {
		if c.dirty.IsZero() {
			c.dirty = time.Now()
		}
		err := c.log.append(w.rec)
		if errors.Is(err, errLogFull) {
			err = c.checkpoint(true) // it holds the batch: that is its durability
		} else if err != nil {
			c.fail(err)
		}
		if err != nil {
			return c.failedErr()
		}
	}
	if len(events) > 0 {
		c.s.publish(events, floor)
	}
	return nil
}

// rebuild replaces the live transaction with one that holds what the log holds since the
// last checkpoint: the acknowledged writes, without the batch that failed.
func (c *committer) rebuild() error {
	_ = c.tx.Rollback()
	c.tx = nil
	payloads, err := c.log.payloads()
	if err != nil {
		return err
	}
	tx, err := c.s.db.Begin(true)
	if err != nil {
		return err
	}
	for _, p := range payloads {
		if err := replay(tx, p); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	c.tx = tx
	return nil
}

// checkpoint commits the live transaction to the bbolt file, recording the last log record
// it holds, and starts the log again; then, when next is set, opens the next transaction.
// A failure fails the store: the log still holds every acknowledged write.
func (c *committer) checkpoint(next bool) error {
	if c.tx == nil {
		return c.failedErr()
	}
	if !c.dirty.IsZero() {
		start := time.Now()
		if err := c.tx.Bucket(bucketMeta).Put(keyLogApplied, be64(c.log.lsn)); err != nil {
			c.fail(fmt.Errorf("checkpoint: %w", err))
			return c.failedErr()
		}
		var pages int64
		tx := c.tx
		tx.OnCommit(func() { st := tx.Stats(); pages = st.GetPageAlloc() })
		err := c.tx.Commit()
		c.tx, c.dirty = nil, time.Time{}
		if err != nil {
			c.fail(fmt.Errorf("checkpoint: %w", err))
			return c.failedErr()
		}
		c.log.reset()
		c.mu.Lock()
		c.stats.Checkpoints++
		c.stats.CheckpointTime += time.Since(start)
		c.stats.PageBytes += pages
		c.mu.Unlock()
	} else {
		_ = c.tx.Rollback()
		c.tx = nil
	}
	if !next {
		return nil
	}
	return c.begin()
}

// shutdown is the loop's end: a final checkpoint, and the log removed once the file holds
// all of it (kept after a failure: the next Open applies it).
func (c *committer) shutdown() {
	err := c.checkpoint(false)
	if errors.Is(err, store.ErrClosed) {
		err = nil
	}
	if cerr := c.log.close(err == nil); err == nil && cerr != nil {
		err = fmt.Errorf("boltstore: %s: closing the log: %w", c.s.path, cerr)
	}
	c.closeErr = err
}

// stop makes later calls store.ErrClosed, lets the loop make durable what is queued and
// checkpoint, and waits for it to return; it returns the final checkpoint's error.
func (c *committer) stop() error {
	c.mu.Lock()
	if !c.stopped {
		c.stopped = true
		close(c.wake)
	}
	c.mu.Unlock()
	<-c.done
	return c.closeErr
}

// Stats returns the group commit's counters since Open.
func (s *Store) Stats() Stats {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	st := s.group.stats
	st.Recovered = s.recovered
	return st
}
