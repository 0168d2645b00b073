package runtime

import (
	"context"
	"sync"
	"time"
)

// pool holds a module's idle instances. tokens bounds the instances in existence: a call takes
// a token, then an idle instance or a new one; it gives both back when done. A broken instance
// is closed instead of returned, so a trap never leaks state into the next call.
type pool struct {
	tokens  chan struct{}
	closing chan struct{} // closed by Module.Close: waiters give up
	mu      sync.Mutex
	idle    []*instance
}

func newPool(max int) pool {
	return pool{tokens: make(chan struct{}, max), closing: make(chan struct{})}
}

func (m *Module) acquire(ctx context.Context) (*instance, error) {
	select {
	case m.pool.tokens <- struct{}{}:
	default:
		var start time.Time
		if m.meter != nil {
			start = time.Now()
			defer func() { m.meter.PoolWaited(time.Since(start)) }()
		}
		select { // all instances busy: wait for one
		case m.pool.tokens <- struct{}{}:
		case <-m.pool.closing:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, errorf(ErrCanceled, "waiting for a free instance: %v", context.Cause(ctx))
		}
	}
	if m.closed.Load() {
		<-m.pool.tokens
		return nil, ErrClosed
	}
	m.pool.mu.Lock()
	if n := len(m.pool.idle); n > 0 {
		in := m.pool.idle[n-1]
		m.pool.idle = m.pool.idle[:n-1]
		m.pool.mu.Unlock()
		return in, nil
	}
	m.pool.mu.Unlock()
	in, err := m.newInstance(ctx)
	if err != nil {
		<-m.pool.tokens
		return nil, err
	}
	return in, nil
}

func (m *Module) release(in *instance) {
	if in.broken {
		in.close(context.Background())
	} else {
		m.pool.mu.Lock()
		m.pool.idle = append(m.pool.idle, in)
		m.pool.mu.Unlock()
	}
	<-m.pool.tokens
}

// drain waits until every token is back (no call in flight), then closes the idle instances.
// Tokens stay taken, so nothing acquires afterwards.
func (m *Module) drain(ctx context.Context) error {
	for range cap(m.pool.tokens) {
		select {
		case m.pool.tokens <- struct{}{}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	m.pool.mu.Lock()
	idle := m.pool.idle
	m.pool.idle = nil
	m.pool.mu.Unlock()
	for _, in := range idle {
		in.close(ctx)
	}
	return nil
}
