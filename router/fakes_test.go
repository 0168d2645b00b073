package router

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
)

// fakeRunner is a Runner that counts its calls and answers as configured.
type fakeRunner struct {
	name        string
	supports    bool
	supportsErr error
	plan        *abi.Plan // returned by Build; nil means a guest plan unless nilPlan
	nilPlan     bool      // Build returns (nil, nil)
	buildErr    error

	supportsCalls atomic.Int64
	buildCalls    atomic.Int64

	mu   sync.Mutex
	args []BuildArgs // every BuildArgs received, in order
	reqs []*Request
}

func newFake(name string, supports bool) *fakeRunner {
	return &fakeRunner{name: name, supports: supports}
}

func (f *fakeRunner) Name() string { return f.name }

func (f *fakeRunner) Supports(ctx context.Context, req *Request) (bool, error) {
	f.supportsCalls.Add(1)
	return f.supports, f.supportsErr
}

func (f *fakeRunner) Build(ctx context.Context, req *Request, args BuildArgs) (*abi.Plan, error) {
	f.buildCalls.Add(1)
	f.mu.Lock()
	f.args = append(f.args, args)
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	switch {
	case f.buildErr != nil:
		return nil, f.buildErr
	case f.nilPlan:
		return nil, nil
	case f.plan != nil:
		return f.plan, nil
	}
	return &abi.Plan{Guest: &abi.GuestPlan{}}, nil
}

// lastArgs returns the BuildArgs of the last Build call.
func (f *fakeRunner) lastArgs(t *testing.T) BuildArgs {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.args) == 0 {
		t.Fatalf("runner %s was never asked to build", f.name)
	}
	return f.args[len(f.args)-1]
}

// describedRunner is a fakeRunner that is also a Describer.
type describedRunner struct {
	*fakeRunner
	desc abi.Description
}

func (d describedRunner) Describe() abi.Description { return d.desc }

func described(f *fakeRunner, kinds []string, labels map[string]string) describedRunner {
	return describedRunner{fakeRunner: f, desc: abi.Description{Kinds: kinds, Labels: labels}}
}

// Task kinds used across the tests.
var (
	kindWasm       = abi.TaskKind{Wasm: &abi.WasmSpec{Module: "m.wasm"}}
	kindSubprocess = abi.TaskKind{Subprocess: &abi.SubprocessSpec{Mode: abi.SubprocessMode{Command: &abi.CommandMode{Command: "ls"}}, FailOnNonZero: true}}
	kindContainer  = abi.TaskKind{Container: &abi.ContainerSpec{Image: "alpine"}}
	kindEmbedded   = abi.TaskKind{Embedded: true}
	kindCron       = abi.TaskKind{Extension: &abi.ExtensionSpec{Type: "example.com/cron"}}
)

// newSpec returns a valid spec of kind k in slot "jobs".
func newSpec(k abi.TaskKind, sel *abi.RunnerSelector) *abi.TaskSpec {
	return &abi.TaskSpec{
		Slot:           "jobs",
		Kind:           k,
		TimeoutMs:      1000,
		Restart:        abi.RestartPolicy{Type: abi.RestartNever},
		Backoff:        abi.DefaultBackoff(),
		Admission:      abi.AdmissionDropIfRunning,
		RunnerSelector: sel,
	}
}

// newReq returns a validated request for kind k with selector sel.
func newReq(t testing.TB, k abi.TaskKind, sel *abi.RunnerSelector) *Request {
	t.Helper()
	req, err := NewRequest(newSpec(k, sel))
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	return req
}

func mustRegister(t testing.TB, r *Router, runners ...Runner) {
	t.Helper()
	for _, rn := range runners {
		if err := r.Register(rn); err != nil {
			t.Fatalf("Register(%s): %v", rn.Name(), err)
		}
	}
}

func runnerNames(r *Router) []string {
	var names []string
	for _, rn := range r.Runners() {
		names = append(names, rn.Name())
	}
	return names
}

// env builds an Env from key, value pairs, in the order given (not sorted).
func env(kv ...string) abi.Env {
	e := make(abi.Env, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		e = append(e, abi.EnvVar{Key: kv[i], Value: kv[i+1]})
	}
	return e
}
