package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// ErrSettled: a delivery was acked or nacked already.
var ErrSettled = errors.New("delivery already settled")

// Queue is the process-local run queue: FIFO, bounded, at least once within the process.
// A popped item is out of the queue until its delivery is settled: Ack drops it, Nak puts
// it back (at the tail, after the delay). An item neither acked nor nacked is not
// redelivered by the queue: across a crash, the host re-queues from Store.Unfinished.
type Queue struct {
	capacity int

	mu     sync.Mutex
	closed bool
	items  []store.Item // FIFO; items[0] is next
	// changed is closed and replaced when items or closed change: Push and Pop wait on it.
	changed chan struct{}
	timers  map[*time.Timer]struct{} // pending Nak delays
}

var _ store.Queue = (*Queue)(nil)

// NewQueue returns an empty queue holding at most capacity waiting items (<= 0: 1024).
// Nacked items come back even into a full queue, so that a worker settling a delivery
// never blocks.
func NewQueue(capacity int) *Queue {
	if capacity <= 0 {
		capacity = 1024
	}
	return &Queue{capacity: capacity, changed: make(chan struct{}), timers: make(map[*time.Timer]struct{})}
}

// signal wakes every waiter. The caller holds q.mu.
func (q *Queue) signal() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// Push adds it at the tail, waiting while the queue is full until ctx ends or the queue
// closes (store.ErrClosed).
func (q *Queue) Push(ctx context.Context, it store.Item) error {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return store.ErrClosed
		}
		if len(q.items) < q.capacity {
			q.items = append(q.items, it)
			q.signal()
			q.mu.Unlock()
			return nil
		}
		wait := q.changed
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return fmt.Errorf("push %s/%s: queue full (%d items): %w", it.Tenant, it.Name, q.capacity, ctx.Err())
		}
	}
}

// Pop takes the head item, waiting for one until ctx ends or the queue closes
// (store.ErrClosed).
func (q *Queue) Pop(ctx context.Context) (store.Delivery, error) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return nil, store.ErrClosed
		}
		if len(q.items) > 0 {
			it := q.items[0]
			q.items[0] = store.Item{}
			q.items = q.items[1:]
			if len(q.items) == 0 {
				q.items = nil // let the backing array go
			}
			q.signal()
			q.mu.Unlock()
			return &delivery{q: q, item: it}, nil
		}
		wait := q.changed
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Len is how many items wait (popped and delayed ones not counted).
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Close wakes every waiter with store.ErrClosed, drops the waiting items and cancels the
// pending Nak delays. It is idempotent.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	q.items = nil
	for t := range q.timers {
		t.Stop()
	}
	clear(q.timers)
	q.signal()
	return nil
}

// requeue appends it even past capacity (see NewQueue). A closed queue drops it.
func (q *Queue) requeue(it store.Item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.items = append(q.items, it)
	q.signal()
}

// delivery is one popped item.
type delivery struct {
	q    *Queue
	item store.Item

	mu      sync.Mutex
	settled bool
}

// Item is the popped item.
func (d *delivery) Item() store.Item { return d.item }

// settle marks d settled once; the second call is ErrSettled.
func (d *delivery) settle(op string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.settled {
		return fmt.Errorf("%s %s/%s generation %d: %w", op, d.item.Tenant, d.item.Name, d.item.Generation, ErrSettled)
	}
	d.settled = true
	return nil
}

// Ack drops the item for good. It succeeds on a closed queue too: there is nothing left
// to drop.
func (d *delivery) Ack(context.Context) error { return d.settle("ack") }

// Nak returns the item to the tail of the queue after delay (<= 0: now). A closed queue
// is store.ErrClosed.
func (d *delivery) Nak(_ context.Context, delay time.Duration) error {
	if err := d.settle("nak"); err != nil {
		return err
	}
	q := d.q
	if delay <= 0 {
		q.mu.Lock()
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return store.ErrClosed
		}
		q.requeue(d.item)
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return store.ErrClosed
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		q.mu.Lock()
		_, pending := q.timers[t]
		delete(q.timers, t)
		q.mu.Unlock()
		if pending {
			q.requeue(d.item)
		}
	})
	q.timers[t] = struct{}{}
	return nil
}
