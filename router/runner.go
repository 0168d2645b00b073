// Package router is solti-runner's contract in Go: the Runner interface that native Go runners
// and wasm modules both implement, the Router that picks the first runner that supports a task
// and matches its selector, run ids, the BuildContext, the error variants and the metrics seam.
package router

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Runner turns task specs into plans. Implementations must be safe for concurrent use.
type Runner interface {
	// Name is the runner's unique name; it starts every run id the runner builds.
	Name() string
	// Supports reports whether the runner can build req. An error (a guest trap, a deadline)
	// means "no" to the router, which reports it in Explain.
	Supports(ctx context.Context, req *Request) (bool, error)
	// Build turns req into a plan. Errors should wrap one of the package's variants
	// (ErrInvalidSpec, ErrMissingField, ...); the router wraps them in a *BuildError.
	Build(ctx context.Context, req *Request, args BuildArgs) (*abi.Plan, error)
}

// Describer is implemented by runners that declare what they handle. The router uses Kinds as
// a pre-filter (a runner is not asked about other kinds) and Labels as the runner's labels when
// it is registered without explicit ones.
type Describer interface {
	Describe() abi.Description
}

// BuildArgs is what the router hands a runner for one build.
type BuildArgs struct {
	// RunID is allocated by the router for this build.
	RunID RunID
	// Env is the task env merged with the router's BuildContext env (context wins), sorted.
	Env abi.Env
	// Metrics is the router's backend, never nil.
	Metrics MetricsBackend
}

// Request is one task on its way through the router: a validated spec and its canonical JSON,
// encoded at most once however many runners look at it.
type Request struct {
	Spec *abi.TaskSpec

	once sync.Once
	json []byte
	err  error
}

// NewRequest validates spec and wraps it. The caller must not modify spec afterwards.
func NewRequest(spec *abi.TaskSpec) (*Request, error) {
	if err := spec.Validate(); err != nil {
		return nil, &InvalidSpecError{Msg: err.Error(), Err: err}
	}
	return &Request{Spec: spec}, nil
}

// ParseRequest decodes and validates a task spec from JSON. Errors are *InvalidSpecError
// naming the field, or the line and column of a syntax error.
func ParseRequest(data []byte) (*Request, error) {
	spec, err := abi.ParseTaskSpec(data)
	if err != nil {
		return nil, &InvalidSpecError{Msg: err.Error(), Err: err}
	}
	return &Request{Spec: spec}, nil
}

// JSON returns the spec's canonical JSON (compact, defaults filled in). The slice is shared:
// do not modify it.
func (r *Request) JSON() ([]byte, error) {
	r.once.Do(func() { r.json, r.err = json.Marshal(r.Spec) })
	return r.json, r.err
}
