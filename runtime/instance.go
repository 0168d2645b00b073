package runtime

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
	"github.com/solti-wasm/solti-wasm/runtime/internal/fuel"
)

// exportID indexes the ABI's exports in an instance's function table, so a call looks its
// function up by index, not by name.
type exportID int

const (
	fnName exportID = iota
	fnSupports
	fnBuild
	fnDescribe
	fnRun
	fnInitialize
	numFuncs
)

var exportNames = [numFuncs]string{abi.ExportName, abi.ExportSupports, abi.ExportBuild, abi.ExportDescribe, abi.ExportRun, abi.ExportInitialize}

// cachedFuncs are the exports whose handles an instance keeps once made: the ones a pooled
// instance serves again and again. _initialize, name and describe run once per instance (or
// per module), so their handles are dropped after the call instead of weighing on every idle
// instance (wazero gives each handle its own 10 KiB stack).
var cachedFuncs = [numFuncs]bool{fnSupports: true, fnBuild: true, fnRun: true}

// instance is one instantiated module with its call state. It serves one call at a time.
type instance struct {
	eng     engine.Instance
	fns     [numFuncs]engine.Func // made on first call, for the cachedFuncs
	st      callState
	baseCtx context.Context // carries &st: every call's context (calls are bounded by fuel)
	stack   [2]uint64
	stderr  tailBuffer
	broken  bool // trapped, out of fuel or interrupted: never reused
	runs    int  // runs served, for Config.RunInstanceCalls
	// metered: compiled with the fuel pass, so a call stops when its fuel, its deadline or
	// its context runs out.
	metered bool
	// reserved is the pages the instance holds of the runtime's MemoryBudget.
	reserved uint64
}

// newInstance instantiates the module's pooled code (metered when the runtime has a call
// deadline).
func (m *Module) newInstance(ctx context.Context) (*instance, error) {
	return m.instantiate(ctx, m.compiled, m.rt.fuel)
}

func (m *Module) instantiate(ctx context.Context, compiled engine.Module, metered bool) (*instance, error) {
	m.hasOnce.Do(func() { m.has = funcExports(compiled.Exports()) })
	in := &instance{st: callState{limits: &m.rt.limits, mod: m, export: "instantiate"}, metered: metered}
	in.baseCtx = context.WithValue(context.Background(), stateKey{}, &in.st)
	var start time.Time
	if m.meter != nil {
		start = time.Now()
	}
	if b := m.rt.budget; b != nil {
		pages := capPages(m.memCap)
		if err := b.reserve(ctx, pages); err != nil {
			if m.meter != nil {
				m.meter.Instantiated(time.Since(start), err)
			}
			return nil, err
		}
		in.reserved = pages
	}
	reserved := in.reserved
	in, err := m.instantiateInto(ctx, in, compiled)
	if err != nil && m.rt.budget != nil {
		m.rt.budget.release(reserved)
	}
	if m.meter != nil {
		m.meter.Instantiated(time.Since(start), err)
	}
	if err == nil {
		n := m.live.Add(1)
		if m.meter != nil {
			m.meter.PoolSize(int(n))
		}
	}
	return in, err
}

func (m *Module) instantiateInto(ctx context.Context, in *instance, compiled engine.Module) (*instance, error) {
	// A start section runs during instantiation: bound it like a call. The counter is not
	// reachable before Instantiate returns; the fuel pass starts it at zero, so the start
	// function's first test asks the host.
	in.st.fuel.start(ctx, m.rt.limits.CallFuel, m.rt.limits.FuelSlice, m.rt.limits.CallTimeout)
	e, err := compiled.Instantiate(in.baseCtx, engine.InstanceConfig{
		MaxMemoryBytes:     m.memCap,
		MemoryCapacityHint: m.initMemory.Load(),
		Stdout:             &in.stderr,
		Stderr:             &in.stderr,
	})
	if err != nil {
		return nil, m.classify(ctx, in, err, m.rt.limits.CallTimeout)
	}
	in.eng = e
	if in.metered {
		if gi, ok := e.(engine.GlobalInstance); ok {
			in.st.counter = gi.Global(fuel.GlobalExport)
		}
		if in.st.counter == nil {
			_ = e.Close(ctx)
			return nil, errorf(ErrInvalidModule, "the engine does not expose the fuel counter %q", fuel.GlobalExport)
		}
	}
	if m.has[fnInitialize] {
		if _, err := m.call(ctx, in, fnInitialize, nil, m.rt.limits.CallTimeout); err != nil {
			_ = e.Close(ctx)
			return nil, err
		}
	}
	// Remember how large _initialize left memory, so the next instance allocates that much
	// at once instead of growing (and copying) to it: a Go guest goes from 44 to 88 pages.
	if mem := e.Memory(); mem != nil && uint64(mem.Size()) > m.initMemory.Load() {
		m.initMemory.Store(uint64(mem.Size()))
	}
	return in, nil
}

// funcExports says which of the ABI's exports a module has (both of its compilations have the
// same).
func funcExports(exports []engine.Export) (has [numFuncs]bool) {
	for _, e := range exports {
		for id, name := range exportNames {
			if e.Kind == engine.KindFunc && e.Name == name {
				has[id] = true
			}
		}
	}
	return has
}

// call invokes one export with input and returns its i32 result. Any failure marks the
// instance broken. timeout <= 0 leaves only ctx's own deadline. A metered instance's call is
// bounded by its fuel budget (Limits.RunFuel for run, Limits.CallFuel for the others), by
// timeout and by ctx, all checked when the guest asks for its next slice; the fuel it used is
// left in in.st.fuelUsed.
func (m *Module) call(ctx context.Context, in *instance, id exportID, input []byte, timeout time.Duration) (int32, error) {
	if len(input) > m.rt.limits.MaxInputBytes {
		err := errorf(ErrInputTooLarge, "%d bytes exceed the %d-byte input limit", len(input), m.rt.limits.MaxInputBytes)
		if m.meter != nil {
			in.st.output = in.st.output[:0]
			m.observeCall(in, id, len(input), 0, err)
		}
		return 0, err
	}
	if err := ctxStop(ctx); err != nil { // done before it started: the guest never runs
		in.st.output, in.st.fuelUsed = in.st.output[:0], 0
		if m.meter != nil {
			m.observeCall(in, id, len(input), 0, err)
		}
		return 0, err
	}
	st := &in.st
	st.input, st.output, st.fault, st.logs, st.lines, st.export = input, st.output[:0], nil, 0, 0, exportNames[id]
	in.stderr.reset()
	var start time.Time
	if m.meter != nil {
		start = time.Now()
	}
	budget := m.rt.limits.CallFuel
	if id == fnRun {
		budget = m.rt.limits.RunFuel
	}
	f := in.fns[id]
	if f == nil {
		if f = in.eng.Func(exportNames[id]); f == nil { // the ABI check makes this unreachable
			return 0, errorf(ErrMissingExport, "module has no %s export", exportNames[id])
		}
		if cachedFuncs[id] {
			in.fns[id] = f
		}
	}
	first := st.fuel.start(ctx, budget, m.rt.limits.FuelSlice, timeout)
	if st.counter != nil {
		st.counter.Set(uint64(first))
	}
	in.stack[0] = uint64(uint32(len(input)))
	err := f.Call(in.baseCtx, in.stack[:])
	st.input, st.fuel.ctx, st.fuelUsed = nil, nil, 0
	if st.counter != nil {
		st.fuelUsed = st.fuel.used(int64(st.counter.Get()))
	}
	if st.logs > m.rt.limits.MaxLogsPerCall {
		m.rt.logger.Warn("guest log calls dropped", "runner", m.name, "export", st.export, "dropped", st.logs-m.rt.limits.MaxLogsPerCall)
	}
	if st.lines > m.rt.limits.MaxLinesPerCall {
		m.rt.logger.Warn("guest lines dropped", "runner", m.name, "export", st.export, "dropped", st.lines-m.rt.limits.MaxLinesPerCall)
	}
	if err != nil {
		in.broken = true
		err = m.classify(ctx, in, err, timeout)
		m.rt.logPanic(m.info.Path, st.export, err)
	}
	if m.meter != nil {
		m.observeCall(in, id, len(input), time.Since(start), err)
	}
	if err != nil {
		return 0, err
	}
	return int32(uint32(in.stack[0])), nil
}

// observeCall reports one call to the module's meter.
func (m *Module) observeCall(in *instance, id exportID, inBytes int, d time.Duration, err error) {
	c := CallStats{Export: exportNames[id], Duration: d, BytesIn: inBytes, BytesOut: len(in.st.output), Fault: FaultKind(err), Fuel: in.st.fuelUsed}
	if in.eng != nil {
		if mem := in.eng.Memory(); mem != nil {
			c.MemoryPages = mem.Size() / abi.PageSize
		}
	}
	m.meter.Called(c)
}

// classify names the cause of a failed call: what a host function aborted for, a deadline,
// a cancellation, the memory cap, or a trap with the guest's last stderr words.
func (m *Module) classify(ctx context.Context, in *instance, err error, timeout time.Duration) error {
	if in.st.fault != nil {
		return in.st.fault
	}
	switch {
	case errors.Is(err, ErrEnginePanic):
		return err
	case errors.Is(err, engine.ErrDeadline):
		if ctx.Err() == nil && timeout > 0 {
			return errorf(ErrDeadline, "did not return within the %v call deadline", timeout)
		}
		return errorf(ErrDeadline, "%v", context.Cause(ctx))
	case errors.Is(err, engine.ErrCanceled):
		return errorf(ErrCanceled, "%v", context.Cause(ctx))
	case errors.Is(err, engine.ErrFuelExhausted):
		return errorf(ErrFuelExhausted, "%v", err)
	}
	msg := trapMessage(err)
	if tail := in.stderr.String(); tail != "" {
		msg += "; guest stderr: " + tail
	}
	if in.eng != nil && in.eng.MemoryCapHit() {
		return withStack(errorf(ErrMemoryLimit, "growing memory past the %d-page cap was refused, then: %s", m.rt.limits.MaxMemoryPages, msg), err)
	}
	return withStack(errorf(ErrTrap, "%s", msg), err)
}

// trapMessage is err's message; withStack adds the guest's stack.
func trapMessage(err error) string { return err.Error() }

func (in *instance) close(ctx context.Context) {
	if in.eng != nil {
		_ = in.eng.Close(ctx)
		if m := in.st.mod; m != nil {
			n := m.live.Add(-1)
			if m.meter != nil {
				m.meter.PoolSize(int(n))
			}
			if b := m.rt.budget; b != nil {
				b.release(in.reserved)
			}
		}
		in.reserved = 0
	}
}

// tailBuffer keeps the last bytes a guest wrote to stdout or stderr, to explain its traps.
type tailBuffer struct{ b []byte }

const tailMax = 512

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > tailMax {
		p = p[len(p)-tailMax:]
	}
	if over := len(t.b) + len(p) - tailMax; over > 0 {
		t.b = t.b[:copy(t.b, t.b[over:])]
	}
	t.b = append(t.b, p...)
	return n, nil
}

func (t *tailBuffer) reset() { t.b = t.b[:0] }

// String is the tail on one line.
func (t *tailBuffer) String() string {
	return strings.Join(strings.Fields(strings.ReplaceAll(string(t.b), "\n", " | ")), " ")
}
