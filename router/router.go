package router

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Router picks, for each task, the first registered runner (in registration order) that
// handles the task's kind, whose labels match the task's selector, and whose Supports says
// yes, and asks it to build. Routing reads an immutable snapshot, so it takes no lock and
// runs concurrently with registration.
type Router struct {
	ctx  BuildContext
	mu   sync.Mutex // serialises writers of entries
	snap atomic.Pointer[[]*entry]
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
	r.snap.Store(new([]*entry))
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
	old := *r.snap.Load()
	if slices.ContainsFunc(old, func(o *entry) bool { return o.runner.Name() == e.runner.Name() }) {
		return fmt.Errorf("%w: %q is already registered", ErrDuplicateRunner, e.runner.Name())
	}
	next := append(slices.Clip(old), e)
	r.snap.Store(&next)
	return nil
}

// Replace swaps the runner registered under name for rn, keeping its position and labels
// unless rn describes new ones. It reports whether name was registered.
func (r *Router) Replace(name string, rn Runner) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.snap.Load()
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
	r.snap.Store(&next)
	return true, nil
}

// Unregister removes the runner registered under name and reports whether there was one.
func (r *Router) Unregister(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.snap.Load()
	i := slices.IndexFunc(old, func(o *entry) bool { return o.runner.Name() == name })
	if i < 0 {
		return false
	}
	next := slices.Delete(slices.Clone(old), i, i+1)
	r.snap.Store(&next)
	return true
}

// Runners returns the registered runners in routing order.
func (r *Router) Runners() []Runner {
	snap := *r.snap.Load()
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
}

// Route returns the runner that would build req, without building. When ctx ends while a
// runner is asked, the error wraps ctx's cause instead of claiming no runner matched.
func (r *Router) Route(ctx context.Context, req *Request) (Runner, error) {
	kind := req.Spec.Kind.Name()
	if req.Spec.Kind.Embedded {
		return nil, &NoRunnerError{Kind: kind}
	}
	for _, e := range *r.snap.Load() {
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
	}
	return nil, &NoRunnerError{Kind: kind}
}

// Build routes req, allocates its run id and asks the chosen runner to build it. A runner's
// error comes back as a *BuildError wrapping it.
func (r *Router) Build(ctx context.Context, req *Request) (*Built, error) {
	rn, err := r.Route(ctx, req)
	if err != nil {
		return nil, err
	}
	id := MakeRunID(rn.Name(), req.Spec.Slot)
	plan, err := rn.Build(ctx, req, BuildArgs{RunID: id, Env: r.ctx.MergedEnv(TaskEnv(req.Spec)), Metrics: r.ctx.Metrics})
	if err != nil {
		return nil, &BuildError{Runner: rn.Name(), Err: err}
	}
	if err := plan.Validate(); err != nil {
		return nil, &BuildError{Runner: rn.Name(), Err: &InternalError{Msg: "invalid plan: " + err.Error(), Err: err}}
	}
	return &Built{RunID: id, Runner: rn, Plan: plan}, nil
}

// skip applies the cheap filters, kind and selector, before any Supports call.
func (e *entry) skip(kind string, req *Request) bool {
	if e.kinds != nil && !slices.Contains(e.kinds, kind) {
		return true
	}
	return !req.Spec.RunnerSelector.Matches(e.labels)
}
