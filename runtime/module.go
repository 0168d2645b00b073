package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

// Module is a loaded runner module. It implements router.Runner and router.Describer, and
// serves concurrent calls from a pool of instances. Close it when done.
type Module struct {
	rt       *Runtime
	compiled engine.Module
	info     ModuleInfo
	name     string
	desc     abi.Description
	pool     pool
	// has says which ABI exports the module has; set before its first instance.
	hasOnce sync.Once
	has     [numFuncs]bool

	mu     sync.Mutex // guards runs' Add against Close's Wait
	runs   sync.WaitGroup
	closed atomic.Bool

	// meter receives the module's events when the runtime has an Observer; nil otherwise.
	meter ModuleMeter
	live  atomic.Int64 // instances alive
	// memCap is each instance's linear-memory cap in bytes: the memory budget less what the
	// module's tables may hold.
	memCap uint64
	// initMemory is the largest memory size in bytes that _initialize left an instance with:
	// the capacity new instances start with.
	initMemory atomic.Uint64
	rpool      runPool // warm run instances, with Config.RunInstanceCalls > 1

	// With NoCallTimeout, runs use a second compilation of wasm, with the fuel pass.
	wasm        []byte
	runMu       sync.Mutex // guards runCompiled
	runCompiled engine.Module
}

var (
	_ router.Runner    = (*Module)(nil)
	_ router.Describer = (*Module)(nil)
)

// Name is the runner name the module returned from its name export.
func (m *Module) Name() string { return m.name }

// Path is the file the module was loaded from.
func (m *Module) Path() string { return m.info.Path }

// Digest is the sha256 of the module's bytes, in hex.
func (m *Module) Digest() string { return m.info.SHA256 }

// Info describes the module as inspect shows it.
func (m *Module) Info() ModuleInfo { return m.info }

// Describe returns what the module's describe export said, or an empty description.
func (m *Module) Describe() abi.Description { return m.desc }

// HasRun reports whether the module can execute guest plans.
func (m *Module) HasRun() bool { return m.info.HasRun }

func (m *Module) callErr(export string, err error) error {
	return &CallError{Path: m.info.Path, Runner: m.name, Export: export, Err: err}
}

// Supports asks the module's supports export about req, within Limits.SupportsTimeout. A
// negative result, a trap or a deadline is an error (which the router counts as "no").
func (m *Module) Supports(ctx context.Context, req *router.Request) (bool, error) {
	spec, err := req.JSON()
	if err != nil {
		return false, m.callErr(abi.ExportSupports, err)
	}
	in, err := m.acquire(ctx)
	if err != nil {
		return false, m.callErr(abi.ExportSupports, err)
	}
	ret, err := m.call(ctx, in, fnSupports, spec, m.rt.limits.SupportsTimeout)
	var gerr error
	if err == nil && ret < 0 {
		gerr = guestError(ret, in.st.output) // before release: the output is the instance's
	}
	m.release(in)
	switch {
	case err != nil:
		return false, m.callErr(abi.ExportSupports, err)
	case ret == abi.SupportsYes:
		return true, nil
	case ret == abi.SupportsNo:
		return false, nil
	case gerr != nil:
		return false, m.callErr(abi.ExportSupports, gerr)
	}
	return false, m.callErr(abi.ExportSupports, errorf(ErrBadResult, "returned %d, want 1, 0 or a negative error code", ret))
}

// Build calls the module's build export with the spec, the run id and the merged env, and
// decodes the plan it returns. A guest's structured error maps onto the router's variants
// (invalid_spec -> ErrInvalidSpec, ...).
func (m *Module) Build(ctx context.Context, req *router.Request, args router.BuildArgs) (*abi.Plan, error) {
	spec, err := req.JSON()
	if err != nil {
		return nil, m.callErr(abi.ExportBuild, err)
	}
	input, err := buildInput(args.RunID.ID, m.name, args.Env, spec)
	if err != nil {
		return nil, m.callErr(abi.ExportBuild, err)
	}
	in, err := m.acquire(ctx)
	if err != nil {
		return nil, m.callErr(abi.ExportBuild, err)
	}
	defer m.release(in)
	ret, err := m.call(ctx, in, fnBuild, input, m.rt.limits.CallTimeout)
	if err != nil {
		return nil, m.callErr(abi.ExportBuild, err)
	}
	if ret != 0 {
		return nil, guestToRouter(m.name, req.Spec.Kind.Name(), abi.ParseGuestError(in.st.output))
	}
	plan, err := abi.ParsePlan(in.st.output)
	if err != nil {
		return nil, m.callErr(abi.ExportBuild, errorf(ErrBadResult, "output is not a valid plan: %v", err))
	}
	if plan.Guest != nil {
		if err := m.checkRunInput(args.RunID.ID, args.Env, plan.Guest.Payload); err != nil {
			return nil, m.callErr(abi.ExportBuild, err)
		}
	}
	return plan, nil
}

// maxAttempt is the attempt number checkRunInput sizes a run input for: the largest i32, so
// that the check holds for every attempt a supervisor will make.
const maxAttempt = 1<<31 - 1

// checkRunInput refuses, at build time, a guest plan whose payload cannot run: the run's
// input, the RunInput envelope (run id, attempt, env) around the payload, must fit the input
// limit (ABI §7), or every attempt would be refused before the guest runs. The host sends the
// payload compacted, so a payload over the limit only by whitespace is measured compacted.
func (m *Module) checkRunInput(runID string, env abi.Env, payload []byte) error {
	envelope, err := json.Marshal(&abi.RunInput{RunID: runID, Attempt: maxAttempt, Env: env})
	if err != nil {
		return err
	}
	size := len(envelope) + len(payload)
	if len(payload) > 0 {
		size += len(`,"payload":`)
	}
	limit := m.rt.limits.MaxInputBytes
	if size > limit && len(payload) > 0 {
		var c bytes.Buffer
		if json.Compact(&c, payload) == nil {
			size -= len(payload) - c.Len()
		}
	}
	if size > limit {
		return errorf(ErrInputTooLarge, "the plan's payload of %d bytes makes a run input of %d bytes with its envelope (run id, attempt, env), over the %d-byte input limit: no run of it could start", len(payload), size, limit)
	}
	return nil
}

// buildInput writes abi.BuildInput around the already-encoded spec, so the spec is encoded
// once per task rather than once per runner. Run ids and runner names need no JSON escaping:
// both are [A-Za-z0-9._-].
func buildInput(runID, runner string, env abi.Env, spec []byte) ([]byte, error) {
	b := make([]byte, 0, len(spec)+len(runID)+len(runner)+64+32*len(env))
	b = append(b, `{"runId":"`...)
	b = append(b, runID...)
	b = append(b, `","runner":"`...)
	b = append(b, runner...)
	b = append(b, '"')
	if len(env) > 0 {
		e, err := json.Marshal(env)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"env":`...)
		b = append(b, e...)
	}
	b = append(b, `,"spec":`...)
	b = append(b, spec...)
	return append(b, '}'), nil
}

// guestToRouter maps a guest's structured build error onto the router's error variants.
func guestToRouter(runner, kind string, g *abi.GuestError) error {
	switch g.Code {
	case abi.CodeUnsupportedKind:
		return &router.UnsupportedKindError{Runner: runner, Kind: kind}
	case abi.CodeInvalidSpec:
		return &router.InvalidSpecError{Msg: g.Message, Err: g}
	case abi.CodeMissingField:
		return &router.MissingFieldError{Field: g.Message}
	case abi.CodeIO:
		return &router.IOError{Msg: g.Message, Err: g}
	}
	return &router.InternalError{Msg: g.Error(), Err: g}
}

// Run executes a guest plan: it calls the run export with in, in a fresh instance that no
// other task has touched and that is closed afterwards (or, with Config.RunInstanceCalls > 1,
// in a warm instance of this module's run pool). The run is bounded by ctx (the supervisor's
// task deadline), not by the per-call deadline. It returns the run's output.
func (m *Module) Run(ctx context.Context, in *abi.RunInput) ([]byte, error) {
	return m.RunWith(ctx, in, RunOptions{})
}

// RunOptions are the optional parts of a run.
type RunOptions struct {
	// OnLine, when set, receives the lines the guest emits (the emit import) and logs during
	// the run, as they come, on the run's goroutine. Logs still go to the runtime's logger.
	OnLine func(RunLine)
	// OnFuel, when set, receives the fuel the run used (ABI.md §7) once it returned, failed
	// runs included: what a host records as the run's cost. It is not called for a run that
	// never started (ErrSetup).
	OnFuel func(used int64)
}

// RunWith is Run with options. Errors that mean the run never started (no run export, the
// module closed, instantiation or _initialize failed) match ErrSetup; a guest error or trap
// during the run does not.
func (m *Module) RunWith(ctx context.Context, in *abi.RunInput, opts RunOptions) ([]byte, error) {
	if !m.info.HasRun {
		return nil, m.callErr(abi.ExportRun, setup(ErrNoRun))
	}
	input, err := json.Marshal(in)
	if err != nil {
		return nil, m.callErr(abi.ExportRun, err)
	}
	m.mu.Lock()
	if m.closed.Load() {
		m.mu.Unlock()
		return nil, m.callErr(abi.ExportRun, setup(ErrClosed))
	}
	m.runs.Add(1)
	m.mu.Unlock()
	defer m.runs.Done()

	inst, err := m.runInstance(ctx)
	if err != nil {
		return nil, m.callErr(abi.ExportRun, setup(err))
	}
	inst.st.sink = opts.OnLine
	ret, err := m.call(ctx, inst, fnRun, input, 0)
	inst.st.sink = nil
	if opts.OnFuel != nil {
		opts.OnFuel(inst.st.fuelUsed)
	}
	out := append([]byte(nil), inst.st.output...)
	m.releaseRun(inst, err != nil)
	if err != nil {
		return nil, m.callErr(abi.ExportRun, err)
	}
	if ret != 0 {
		return nil, m.callErr(abi.ExportRun, guestError(ret, out))
	}
	return out, nil
}

// runCode returns metered code: code whose calls stop when their fuel, or their context,
// runs out. A run is bounded by its task's deadline and must stop on cancel even when the
// runtime's other calls run unmetered (NoCallTimeout): then the module is instrumented and
// compiled a second time on its first run. A failed compilation (a canceled first run, say)
// is retried by the next.
func (m *Module) runCode(ctx context.Context) (engine.Module, error) {
	if m.rt.fuel {
		return m.compiled, nil
	}
	m.runMu.Lock()
	defer m.runMu.Unlock()
	if m.runCompiled == nil {
		code, err := m.rt.instrument(m.wasm)
		if err != nil {
			return nil, err
		}
		if m.runCompiled, err = m.rt.compile(ctx, m.rt.eng, code); err != nil {
			m.runCompiled = nil
			return nil, err
		}
	}
	return m.runCompiled, nil
}

// Close stops new calls, waits for the calls in flight to finish (each is bounded by its
// deadline), then releases the instances and the compiled code. It is safe to call twice.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	already := m.closed.Swap(true)
	m.mu.Unlock()
	if already {
		return nil
	}
	close(m.pool.closing)
	m.rt.forget(m)
	if err := m.drain(ctx); err != nil {
		return err
	}
	m.runs.Wait()
	m.rpool.closeAll(ctx)
	if m.meter != nil {
		m.meter.Closed()
	}
	m.runMu.Lock()
	if m.runCompiled != nil {
		_ = m.runCompiled.Close(ctx)
	}
	m.runMu.Unlock()
	return m.compiled.Close(ctx)
}
