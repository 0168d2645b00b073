package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// Host is the task pipeline of one process: it serves every Backend method of the HTTP API
// (package httpapi) and the one-shot run command. Make it with New, then Start; stop it with
// Shutdown. It is safe for concurrent use.
//
// Execution is at least once: a task whose attempt was cut short by a crash or a stop runs
// again after the restart (its restart policy permitting), under the same run id, which is
// the key a runner uses to make its work idempotent (the run id is allocated once per
// generation and persisted with the plan before the first attempt).
type Host struct {
	cfg     Config
	st      store.Store
	q       store.Queue
	log     *slog.Logger
	now     func() time.Time
	tenants map[string]*tenantRT
	order   []string // tenant names in config order

	state atomic.Int32 // stateNew, stateReady, stateDraining, stateClosed

	// workCtx ends the workers; runCtx the runs (after the grace).
	workCtx, runCtx    context.Context
	stopWork, stopRuns context.CancelFunc
	workers, finishers sync.WaitGroup
	bg                 sync.WaitGroup // event pumps and the sweeper
	stopping           atomic.Bool    // runs canceled now are interrupted, not canceled
	mu                 sync.Mutex
	active             map[store.Key]*active
	cancels            map[store.Key]*cancelReq // CancelTask's requests, until their generation ends
	logs               map[store.Key]*logBuffer
	shutdownOnce       sync.Once
	quit               chan struct{} // closed when the host has closed: log readers end
}

const (
	stateNew int32 = iota
	stateReady
	stateDraining
	stateClosed
)

// New checks cfg and builds every tenant's runtime, registries (loading their runners),
// router, supervisor and executor. The host accepts no task before Start.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	h := &Host{cfg: cfg, st: cfg.Store, q: cfg.Queue, log: cfg.Logger, now: cfg.Now,
		quit: make(chan struct{}), tenants: map[string]*tenantRT{}, active: map[store.Key]*active{}, cancels: map[store.Key]*cancelReq{}, logs: map[store.Key]*logBuffer{}}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.cfg.Workers <= 0 {
		h.cfg.Workers = 4
	}
	if h.cfg.LogEvents <= 0 {
		h.cfg.LogEvents = 1024
	}
	if h.cfg.SweepEvery <= 0 {
		h.cfg.SweepEvery = 5 * time.Minute
	}
	r := &h.cfg.Retention
	if r.Tasks <= 0 {
		r.Tasks = store.DefaultRetention.Tasks
	}
	if r.Runs <= 0 {
		r.Runs = store.DefaultRetention.Runs
	}
	if r.RunsPerTask <= 0 {
		r.RunsPerTask = store.DefaultRetention.RunsPerTask
	}
	h.workCtx, h.stopWork = context.WithCancel(context.Background())
	h.runCtx, h.stopRuns = context.WithCancel(context.Background())
	for _, t := range cfg.Tenants {
		tr, err := h.newTenant(ctx, t)
		if err != nil {
			h.closeTenants(context.Background())
			h.stopWork()
			h.stopRuns()
			h.bg.Wait()
			return nil, err
		}
		h.tenants[t.Name] = tr
		h.order = append(h.order, t.Name)
	}
	return h, nil
}

// Start resumes what the store holds unfinished (Recover), then starts the workers and the
// retention sweep; from then on the host is ready.
func (h *Host) Start(ctx context.Context) error {
	if h.state.Load() != stateNew {
		return fmt.Errorf("host: Start after Start or Shutdown")
	}
	if err := h.recover(ctx); err != nil {
		return fmt.Errorf("host: resuming unfinished tasks: %w", err)
	}
	for range h.cfg.Workers {
		h.workers.Add(1)
		go h.worker()
	}
	h.bg.Add(1)
	go h.sweeper()
	h.state.CompareAndSwap(stateNew, stateReady)
	return nil
}

// Ready is nil once the host has started (the store open, the runners loaded); ErrNotReady
// before, ErrDraining once Shutdown began.
func (h *Host) Ready() error {
	switch h.state.Load() {
	case stateReady:
		return nil
	case stateNew:
		return ErrNotReady
	}
	return ErrDraining
}

// intake reports whether the host takes new work.
func (h *Host) intake() error {
	return h.Ready()
}

// Shutdown stops intake (ErrDraining), stops the workers, lets running tasks finish until
// ctx ends (the grace), then cancels them: their attempts are recorded as interrupted and
// the tasks stay unfinished, so the next Start resumes them. It then closes the tenants'
// supervisors, registries and runtimes. The store and queue stay open (the caller's). It
// returns ctx's error when the grace ran out, nil when every task ended within it.
func (h *Host) Shutdown(ctx context.Context) error {
	var err error
	h.shutdownOnce.Do(func() {
		h.state.Store(stateDraining)
		h.stopWork()
		h.workers.Wait()
		for _, tr := range h.tenants { // parked deliveries never got a slot: left for the next start
			tr.takeParked()
		}
		done := make(chan struct{})
		go func() { h.finishers.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = context.Cause(ctx)
			h.stopping.Store(true)
			h.stopRuns()
			<-done
		}
		h.stopRuns()
		h.closeTenants(context.Background())
		close(h.quit)
		h.bg.Wait()
		h.state.Store(stateClosed)
	})
	return err
}

func (h *Host) closeTenants(ctx context.Context) {
	for _, tr := range h.tenants {
		tr.close(ctx)
	}
}

// tenant returns a known tenant, or ErrNotFound: an unknown tenant sees nothing.
func (h *Host) tenant(name string) (*tenantRT, error) {
	tr := h.tenants[name]
	if tr == nil {
		return nil, fmt.Errorf("tenant %q: %w", name, store.ErrNotFound)
	}
	return tr, nil
}

// worker pops deliveries until the host stops.
func (h *Host) worker() {
	defer h.workers.Done()
	for {
		d, err := h.q.Pop(h.workCtx)
		if err != nil {
			if h.workCtx.Err() == nil && !errors.Is(err, store.ErrClosed) {
				h.log.Error("run queue", "err", err)
				select {
				case <-time.After(100 * time.Millisecond):
				case <-h.workCtx.Done():
				}
				continue
			}
			return
		}
		h.process(d)
	}
}

// sweeper applies the retention every SweepEvery.
func (h *Host) sweeper() {
	defer h.bg.Done()
	t := time.NewTicker(h.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-h.workCtx.Done():
			return
		case <-t.C:
			h.Sweep(h.workCtx)
		}
	}
}

// Sweep applies the retention once (the sweeper does every Config.SweepEvery), and drops
// the log buffers of the tasks it removed.
func (h *Host) Sweep(ctx context.Context) int {
	n, err := h.st.Sweep(ctx, h.now(), h.cfg.Retention)
	if err != nil {
		h.log.Warn("retention sweep", "err", err)
	}
	h.mu.Lock()
	for k, lb := range h.logs {
		if lb.isClosed() && lb.closedAt.Add(h.cfg.Retention.Tasks).Before(h.now()) {
			delete(h.logs, k)
		}
	}
	h.mu.Unlock()
	return n
}
