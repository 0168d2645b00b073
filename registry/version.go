package registry

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// ErrRetired: a call reached a version that was replaced or removed and drained, and the
// file serves no runner of that name any more.
var ErrRetired = errors.New("runner version retired")

// Version is one version of one module file, registered in the router while it is the
// file's current version. It implements router.Runner and router.Describer, and Run for
// guest plans. Every call holds a reference, so the module is closed only after the calls
// that started on it have returned.
type Version struct {
	reg    *Registry
	path   string
	mod    *runtime.Module
	wasm   []byte
	digest string

	// refs is 1 (the registry's reference, dropped when the version is retired and no
	// router call can reach it any more) plus the calls in flight; at 0 the version is
	// drained and closes, and acquire fails from then on.
	refs    atomic.Int64
	drained chan struct{}

	faults  [numExports]atomic.Int64 // consecutive faulting calls, per export
	tripped atomic.Bool

	// The supports cool-down (cooldown.go): faults since the last answer or cool-down,
	// cool-downs in a row, when the current one ends (unix ns, 0: none) and why.
	coolFaults, coolStreak, coolUntil atomic.Int64
	coolWhy                           atomic.Value // string
}

// The exports whose faults are counted, each on its own: a version whose build traps while
// its supports works is still crash-looping.
const (
	exSupports = iota
	exBuild
	exRun
	numExports
)

var (
	_ router.Runner    = (*Version)(nil)
	_ router.Describer = (*Version)(nil)
)

func newVersion(reg *Registry, path string, mod *runtime.Module, wasm []byte, digest string) *Version {
	v := &Version{reg: reg, path: path, mod: mod, wasm: wasm, digest: digest, drained: make(chan struct{})}
	v.refs.Store(1)
	return v
}

// Name is the runner name.
func (v *Version) Name() string { return v.mod.Name() }

// Path is the module file.
func (v *Version) Path() string { return v.path }

// Digest is the sha256 of the version's bytes, in hex.
func (v *Version) Digest() string { return v.digest }

// Module is the loaded module. Calls made on it directly hold no reference: after a swap,
// it may be closed under them. Prefer the Version's methods.
func (v *Version) Module() *runtime.Module { return v.mod }

// Describe is the module's description.
func (v *Version) Describe() abi.Description { return v.mod.Describe() }

func (v *Version) acquire() bool {
	for {
		n := v.refs.Load()
		if n <= 0 {
			return false
		}
		if v.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (v *Version) release() {
	if v.refs.Add(-1) == 0 {
		close(v.drained)
	}
}

// pick returns the version that serves a call made on v, with a reference held: v itself
// unless it is drained, else the file's current version of the same runner name.
func (v *Version) pick() (*Version, error) {
	if v.acquire() {
		return v, nil
	}
	for range 8 { // the successor may itself be retired between the lookup and acquire
		s := v.reg.current(v.path)
		if s == nil || s.Name() != v.Name() {
			break
		}
		if s.acquire() {
			v.reg.forwarded.Add(1)
			return s, nil
		}
	}
	return nil, &runtime.CallError{Path: v.path, Runner: v.Name(), Export: "call",
		Err: fmt.Errorf("%w: version %s was replaced or removed, and the file serves no runner %q now", ErrRetired, short(v.digest), v.Name())}
}

// Supports asks the version's supports export, unless the version is cooling down after
// faulting supports calls (ErrCoolingDown, see Config.CooldownFaults).
func (v *Version) Supports(ctx context.Context, req *router.Request) (bool, error) {
	s, err := v.pick()
	if err != nil {
		return false, err
	}
	defer s.release()
	if until, on := s.cooldownAt(); on {
		return false, s.coolingDown(until)
	}
	ok, err := s.mod.Supports(ctx, req)
	s.observe(ctx, exSupports, err)
	s.observeSupports(ctx, err)
	return ok, err
}

// Build asks the version's build export for a plan.
func (v *Version) Build(ctx context.Context, req *router.Request, args router.BuildArgs) (*abi.Plan, error) {
	s, err := v.pick()
	if err != nil {
		return nil, err
	}
	defer s.release()
	plan, err := s.mod.Build(ctx, req, args)
	s.observe(ctx, exBuild, err)
	return plan, err
}

// Run executes a guest plan on the version (runtime.Module.Run).
func (v *Version) Run(ctx context.Context, in *abi.RunInput) ([]byte, error) {
	s, err := v.pick()
	if err != nil {
		return nil, err
	}
	defer s.release()
	out, err := s.mod.Run(ctx, in)
	s.observe(ctx, exRun, err)
	return out, err
}

// RunWith is Run with options (runtime.Module.RunWith): live lines for a supervisor.
func (v *Version) RunWith(ctx context.Context, in *abi.RunInput, opts runtime.RunOptions) ([]byte, error) {
	s, err := v.pick()
	if err != nil {
		return nil, err
	}
	defer s.release()
	out, err := s.mod.RunWith(ctx, in, opts)
	s.observe(ctx, exRun, err)
	return out, err
}

// observe keeps the count of an export's consecutive faults and reports a crash loop once.
func (v *Version) observe(ctx context.Context, export int, err error) {
	switch {
	case err == nil || !isFault(ctx, err):
		if err == nil || !errors.Is(err, runtime.ErrCanceled) && ctx.Err() == nil {
			if v.faults[export].Load() != 0 {
				v.faults[export].Store(0)
			}
		}
		return
	}
	n := v.faults[export].Add(1)
	if limit := v.reg.cfg.TrapLimit; limit > 0 && n >= int64(limit) && v.tripped.CompareAndSwap(false, true) {
		v.reg.trip(v, fmt.Sprintf("%d consecutive faulting calls, the last: %v", n, err))
	}
}

// isFault reports whether err is the guest's fault: a trap, the memory cap, a bad pointer,
// output too large, an invalid result, or the call's own deadline while the caller still
// waited. Structured guest errors and cancellations are answers, not faults.
func isFault(ctx context.Context, err error) bool {
	switch {
	case errors.Is(err, runtime.ErrTrap), errors.Is(err, runtime.ErrMemoryLimit), errors.Is(err, runtime.ErrBadPointer),
		errors.Is(err, runtime.ErrOutputTooLarge), errors.Is(err, runtime.ErrBadResult):
		return true
	case errors.Is(err, runtime.ErrDeadline):
		return ctx.Err() == nil
	}
	return false
}
