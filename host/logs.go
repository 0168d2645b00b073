package host

import (
	"context"
	"sync"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// logBuffer is one task's recent log events: a ring of the last Config.LogEvents, numbered
// from 1. Writers never wait; each reader follows at its own pace from its cursor, and one
// that the ring overtook gets a LogLagged event for what it missed.
type logBuffer struct {
	mu       sync.Mutex
	ring     []LogEvent
	size     int
	next     uint64 // Seq of the next event; events next-len(ring)..next-1 are held
	closed   bool   // the task is terminal: readers end once they caught up
	closedAt time.Time
	wake     chan struct{} // closed and replaced on every change
	// err is the error value that ended the task's generation (TaskError), set before the
	// buffer closes.
	err error
}

// logBuf returns the task's buffer, making it on first use.
func (h *Host) logBuf(k store.Key) *logBuffer {
	h.mu.Lock()
	defer h.mu.Unlock()
	lb := h.logs[k]
	if lb == nil {
		lb = &logBuffer{size: h.cfg.LogEvents, next: 1, wake: make(chan struct{})}
		h.logs[k] = lb
	}
	return lb
}

// dropLogs forgets a deleted task's buffer, ending its readers.
func (h *Host) dropLogs(k store.Key) {
	h.mu.Lock()
	lb := h.logs[k]
	delete(h.logs, k)
	h.mu.Unlock()
	if lb != nil {
		lb.close()
	}
}

// add appends ev, numbering it; a buffer closed by an earlier generation opens again.
func (lb *logBuffer) add(ev LogEvent) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.closed {
		lb.err = nil
	}
	lb.closed = false
	lb.push(ev)
}

func (lb *logBuffer) push(ev LogEvent) {
	ev.Seq = lb.next
	lb.next++
	if len(lb.ring) < lb.size {
		lb.ring = append(lb.ring, ev)
	} else {
		lb.ring[int((ev.Seq-1)%uint64(lb.size))] = ev
	}
	close(lb.wake)
	lb.wake = make(chan struct{})
}

// finish appends ev when it has a type, then closes the buffer: the task is terminal, and
// err (nil on success) is what ended it.
func (lb *logBuffer) finish(ev LogEvent, err error) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.err = err
	if ev.Type != "" {
		lb.push(ev)
	}
	lb.closeLocked()
}

func (lb *logBuffer) close() {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.closeLocked()
}

func (lb *logBuffer) closeLocked() {
	if !lb.closed {
		lb.closed, lb.closedAt = true, time.Now()
		close(lb.wake)
		lb.wake = make(chan struct{})
	}
}

func (lb *logBuffer) isClosed() bool {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.closed
}

// read returns the held events after cursor, a LogLagged event first when some were
// overwritten; done when the buffer is closed and nothing is left; and the channel that
// announces the next change.
func (lb *logBuffer) read(after uint64) (evs []LogEvent, done bool, wake <-chan struct{}) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	oldest := lb.next - uint64(len(lb.ring))
	if after+1 < oldest {
		evs = append(evs, LogEvent{Seq: oldest - 1, Type: LogLagged, Skipped: oldest - 1 - after, Time: time.Now()})
		after = oldest - 1
	}
	for s := after + 1; s < lb.next; s++ {
		evs = append(evs, lb.ring[int((s-1)%uint64(lb.size))])
	}
	return evs, lb.closed && len(evs) == 0, lb.wake
}

// stream sends the events after `after` to out until the buffer closes and all was sent, or
// ctx ends or quit is closed (the host closed); then it closes out. It never holds the buffer while it sends.
func (lb *logBuffer) stream(ctx context.Context, after uint64, out chan<- LogEvent, quit <-chan struct{}) {
	defer close(out)
	for {
		evs, done, wake := lb.read(after)
		if done {
			return
		}
		for _, ev := range evs {
			select {
			case out <- ev:
				after = ev.Seq
			case <-ctx.Done():
				return
			case <-quit:
				return
			}
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return
		case <-quit:
			return
		}
	}
}
