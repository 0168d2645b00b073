package router

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Router picks, for each task, the first registered runner (in registration order) that
// handles the task's kind, whose labels match the task's selector, and whose Supports says
// yes, and asks it to build. Routing reads an immutable snapshot, so it takes no lock and
// runs concurrently with registration.
type Router struct {
	ctx  BuildContext
	mu   sync.Mutex // serialises writers of entries
	snap atomic.Pointer[snapshot]
	// retired holds replaced snapshots that may still have readers (guarded by mu); Quiesce
	// waits for them.
	retired []*snapshot
}

// snapshot is one immutable routing order and the number of Route, Build and Explain calls
// reading it. Writers never wait for readers; Quiesce does.
type snapshot struct {
	entries []*entry
	readers atomic.Int64
}

// pin returns the current snapshot, counted as read until unpin. A reader that counts itself
// on a snapshot a writer has just replaced retries on the new one, so once a writer has
// stored a new snapshot and seen the old one's count at zero, nobody reads the old one again.
func (r *Router) pin() *snapshot {
	for {
		s := r.snap.Load()
		s.readers.Add(1)
		if r.snap.Load() == s {
			return s
		}
		s.readers.Add(-1)
	}
}

func (s *snapshot) unpin() { s.readers.Add(-1) }

// publish makes entries the routing order; r.mu must be held.
func (r *Router) publish(entries []*entry) {
	old := r.snap.Swap(&snapshot{entries: entries})
	r.retired = slices.DeleteFunc(append(r.retired, old), func(s *snapshot) bool { return s.readers.Load() == 0 })
}

// Quiesce waits until no Route, Build or Explain call that started before it still reads an
// older routing order than the current one, or until ctx ends. After Replace or Unregister
// then Quiesce, the router no longer calls the runner it dropped, so the runner can be closed
// (hot reload's drain: calls that started on the old runner finish on it, and no call picks
// it after). Quiesce takes no lock that routing takes; routing never waits for it.
func (r *Router) Quiesce(ctx context.Context) error {
	r.mu.Lock()
	pending := slices.Clone(r.retired)
	r.mu.Unlock()
	wait := 10 * time.Microsecond
	for _, s := range pending {
		for s.readers.Load() != 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return context.Cause(ctx)
			case <-t.C:
			}
			wait = min(2*wait, time.Millisecond)
		}
	}
	r.mu.Lock()
	r.retired = slices.DeleteFunc(r.retired, func(s *snapshot) bool { return s.readers.Load() == 0 })
	r.mu.Unlock()
	return nil
}

type entry struct {
	runner Runner
	labels map[string]string
	kinds  []string // nil: ask Supports for every kind
}

// New returns an empty router whose builds get ctx's env and metrics.
func New(ctx BuildContext) *Router {
	r := &Router{ctx: ctx}
	if r.ctx.Metrics == nil {
		r.ctx.Metrics = NoopMetrics{}
	}
	r.snap.Store(&snapshot{})
	return r
}

// Register adds rn at the end of the routing order. Its labels are those of its description
// when it is a Describer, else none.
func (r *Router) Register(rn Runner) error {
	var labels map[string]string
	if d, ok := rn.(Describer); ok {
		labels = d.Describe().Labels
	}
	return r.RegisterWithLabels(rn, labels)
}

// RegisterWithLabels adds rn with the given labels at the end of the routing order. It fails
// with ErrDuplicateRunner when a runner of the same name is registered and ErrInvalidLabels
// when a label key or value breaks Kubernetes' rules.
func (r *Router) RegisterWithLabels(rn Runner, labels map[string]string) error {
	e, err := newEntry(rn, labels)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load().entries
	if slices.ContainsFunc(old, func(o *entry) bool { return o.runner.Name() == e.runner.Name() }) {
		return fmt.Errorf("%w: %q is already registered", ErrDuplicateRunner, e.runner.Name())
	}
	r.publish(append(slices.Clip(old), e))
	return nil
}

// Replace swaps the runner registered under name for rn, keeping its position and labels
// unless rn describes new ones. It reports whether name was registered.
func (r *Router) Replace(name string, rn Runner) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load().entries
	i := slices.IndexFunc(old, func(o *entry) bool { return o.runner.Name() == name })
	if i < 0 {
		return false, nil
	}
	labels := old[i].labels
	if d, ok := rn.(Describer); ok {
		labels = d.Describe().Labels
	}
	e, err := newEntry(rn, labels)
	if err != nil {
		return true, err
	}
	if e.runner.Name() != name && slices.ContainsFunc(old, func(o *entry) bool { return o.runner.Name() == e.runner.Name() }) {
		return true, fmt.Errorf("%w: %q is already registered", ErrDuplicateRunner, e.runner.Name())
	}
	next := slices.Clone(old)
	next[i] = e
	r.publish(next)
	return true, nil
}

// Unregister removes the runner registered under name and reports whether there was one.
func (r *Router) Unregister(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load().entries
	i := slices.IndexFunc(old, func(o *entry) bool { return o.runner.Name() == name })
	if i < 0 {
		return false
	}
	r.publish(slices.Delete(slices.Clone(old), i, i+1))
	return true
}

// SortFunc reorders the registered runners by cmp, atomically for routing; runners that
// compare equal keep their relative order. Hot reload uses it to keep the routing order a
// function of the files (lexical path order, or an order file) as runners come and go.
func (r *Router) SortFunc(cmp func(a, b Runner) int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load().entries
	if slices.IsSortedFunc(old, func(a, b *entry) int { return cmp(a.runner, b.runner) }) {
		return
	}
	next := slices.Clone(old)
	slices.SortStableFunc(next, func(a, b *entry) int { return cmp(a.runner, b.runner) })
	r.publish(next)
}

// Runners returns the registered runners in routing order.
func (r *Router) Runners() []Runner {
	snap := r.snap.Load().entries
	out := make([]Runner, len(snap))
	for i, e := range snap {
		out[i] = e.runner
	}
	return out
}

func newEntry(rn Runner, labels map[string]string) (*entry, error) {
	if rn == nil || rn.Name() == "" {
		return nil, fmt.Errorf("%w: a runner must be non-nil and have a non-empty name", ErrInvalidRunner)
	}
	if err := abi.ValidateLabels(labels); err != nil {
		return nil, fmt.Errorf("%w: runner %q: %v", ErrInvalidLabels, rn.Name(), err)
	}
	e := &entry{runner: rn, labels: maps.Clone(labels)}
	if d, ok := rn.(Describer); ok {
		// Empty Kinds (nil or []) means "ask Supports for every kind".
		if kinds := d.Describe().Kinds; len(kinds) > 0 {
			e.kinds = slices.Clone(kinds)
		}
	}
	return e, nil
}

// Built is the result of a successful build: the run id the router allocated, the runner that
// built, and its plan.
type Built struct {
	RunID  RunID
	Runner Runner
	Plan   *abi.Plan
	// Env is the merged env the runner built with (task env overlaid with the context env);
	// a guest plan's run gets the same.
	Env abi.Env
}

// Route returns the runner that would build req, without building. When ctx ends while a
// runner is asked, the error wraps ctx's cause instead of claiming no runner matched.
//
// The runner is only guaranteed to be registered while Route runs: with hot reload, prefer
// Build, during which the runner that said yes cannot be dropped (see Quiesce).
func (r *Router) Route(ctx context.Context, req *Request) (Runner, error) {
	s := r.pin()
	defer s.unpin()
	return route(ctx, s, req)
}

func route(ctx context.Context, s *snapshot, req *Request) (Runner, error) {
	kind := req.Spec.Kind.Name()
	if req.Spec.Kind.Embedded {
		return nil, &NoRunnerError{Kind: kind}
	}
	var faults []RunnerFault
	for _, e := range s.entries {
		if e.skip(kind, req) {
			continue
		}
		ok, err := e.runner.Supports(ctx, req)
		if err == nil && ok {
			return e.runner, nil
		}
		if err != nil && ctx.Err() != nil {
			// The caller gave up: say so rather than "no suitable runner".
			return nil, fmt.Errorf("routing task kind %s: %w", kind, context.Cause(ctx))
		}
		if err != nil {
			faults = append(faults, RunnerFault{Runner: e.runner.Name(), Err: err})
		}
	}
	return nil, &NoRunnerError{Kind: kind, Faults: faults}
}

// Build routes req, allocates its run id and asks the chosen runner to build it. A runner's
// error comes back as a *BuildError wrapping it.
func (r *Router) Build(ctx context.Context, req *Request) (*Built, error) {
	s := r.pin()
	defer s.unpin()
	rn, err := route(ctx, s, req)
	if err != nil {
		return nil, err
	}
	id, err := r.ctx.runID(ctx, rn.Name(), req.Spec.Slot)
	if err != nil {
		return nil, &BuildError{Runner: rn.Name(), Err: &InternalError{Msg: "allocating the run id", Err: err}}
	}
	env := r.ctx.MergedEnv(TaskEnv(req.Spec))
	plan, err := rn.Build(ctx, req, BuildArgs{RunID: id, Env: env, Metrics: r.ctx.Metrics})
	if err != nil {
		return nil, &BuildError{Runner: rn.Name(), Err: err}
	}
	if err := plan.Validate(); err != nil {
		return nil, &BuildError{Runner: rn.Name(), Err: &InternalError{Msg: "invalid plan: " + err.Error(), Err: err}}
	}
	return &Built{RunID: id, Runner: rn, Plan: plan, Env: env}, nil
}

// skip applies the cheap filters, kind and selector, before any Supports call.
func (e *entry) skip(kind string, req *Request) bool {
	return !e.handles(kind) || !req.Spec.RunnerSelector.Matches(e.labels)
}

// handles reports whether the runner may take kind: it declares it, or declares no kinds.
func (e *entry) handles(kind string) bool {
	return e.kinds == nil || slices.Contains(e.kinds, kind)
}
