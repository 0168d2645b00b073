package runtime

import (
	"context"
	"sync"
)

// runPool keeps warm instances for runs when Config.RunInstanceCalls > 1. It is per module,
// so an instance is never shared across modules (tenants). An instance serves at most
// RunInstanceCalls runs; one that trapped, hit its deadline or was canceled is closed.
type runPool struct {
	mu   sync.Mutex
	idle []*instance
	done bool
}

// runInstance returns an instance for one run: a warm one from the pool, or a new one of the
// metered code.
func (m *Module) runInstance(ctx context.Context) (*instance, error) {
	if m.rt.runCalls > 1 {
		p := &m.rpool
		p.mu.Lock()
		if n := len(p.idle); n > 0 {
			in := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			return in, nil
		}
		p.mu.Unlock()
	}
	compiled, err := m.runCode(ctx)
	if err != nil {
		return nil, err
	}
	return m.instantiate(ctx, compiled, true)
}

// releaseRun returns in to the pool, or closes it: always with fresh instances, and after a
// failed call, the N-th run, or when the pool is full or closed.
func (m *Module) releaseRun(in *instance, failed bool) {
	in.runs++
	p := &m.rpool
	if m.rt.runCalls > 1 && !failed && !in.broken && in.runs < m.rt.runCalls {
		p.mu.Lock()
		if !p.done && len(p.idle) < m.rt.limits.MaxInstances {
			p.idle = append(p.idle, in)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	in.close(context.Background())
}

func (p *runPool) closeAll(ctx context.Context) {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.done = nil, true
	p.mu.Unlock()
	for _, in := range idle {
		in.close(ctx)
	}
}
