// Package wazerofloor is the raw-engine floor of the project's benchmarks: the least host
// that runs a solti runner on wazero, driven straight through wazero's API. Benchmarks run the
// same module and the same work through it and through the runtime, in the same run, and
// report the ratio (BENCHMARKS.md): what remains above it is the runtime's own cost.
//
// It does what ABI v1 needs and nothing more: the solti imports (input, output, log and emit,
// whose records it drops) and WASI, one wazero.Runtime for every module, anonymous instances,
// _initialize called once per instance. No limits, no metering, no pool (the fuel pass's
// refill import is provided, unmetered, so that instrumented bytes can be compiled too).
package wazerofloor

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Host is one wazero runtime with the solti host module and WASI.
type Host struct {
	rt wazero.Runtime
}

// New returns a host on wazero's compiler. interruptible compiles code that stops when its
// context is done (wazero's close-on-context-done), as the runtime does for runs and for calls
// under a deadline.
func New(ctx context.Context, interruptible bool) (*Host, error) {
	return NewCached(ctx, interruptible, nil)
}

// NewCached is [New] with wazero's compilation cache (nil: none), for drivers that start a
// process per measurement (floorloop) and must not compile a Go guest every time.
func NewCached(ctx context.Context, interruptible bool, cache wazero.CompilationCache) (*Host, error) {
	cfg := wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(interruptible).WithCoreFeatures(api.CoreFeaturesV2)
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	i32 := api.ValueTypeI32
	noop := api.GoModuleFunc(func(context.Context, api.Module, []uint64) {})
	_, err := rt.NewHostModuleBuilder("solti").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
		st := ctx.Value(stateKey{}).(*callState)
		if !m.Memory().Write(api.DecodeU32(stack[0]), st.input) {
			panic(errors.New("pointer out of guest memory"))
		}
	}), []api.ValueType{i32}, nil).Export("input").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
		st := ctx.Value(stateKey{}).(*callState)
		b, ok := m.Memory().Read(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
		if !ok {
			panic(errors.New("pointer out of guest memory"))
		}
		st.output = append(st.output[:0], b...)
	}), []api.ValueType{i32, i32}, nil).Export("output").
		NewFunctionBuilder().WithGoModuleFunction(noop, []api.ValueType{i32, i32, i32}, nil).Export("log").
		NewFunctionBuilder().WithGoModuleFunction(noop, []api.ValueType{i32, i32, i32}, nil).Export("emit").
		Instantiate(ctx)
	if err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	// The fuel pass's import (solti_fuel.refill, (i64) -> (i64)), so that the floor can also
	// compile what the runtime compiles when fuel is on (runtime.InstrumentFuel's bytes) and
	// a benchmark can tell the pass's price from the runtime's own: it hands out fuel without
	// counting, so an instrumented module runs unmetered here.
	i64 := api.ValueTypeI64
	if _, err := rt.NewHostModuleBuilder("solti_fuel").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
		stack[0] = uint64(unmeteredFuel)
	}), []api.ValueType{i64}, []api.ValueType{i64}).Export("refill").
		Instantiate(ctx); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	return &Host{rt: rt}, nil
}

// unmeteredFuel is what the floor's refill hands an instrumented guest: enough that it never
// asks again in a benchmark.
const unmeteredFuel = int64(1) << 62

// Close closes the runtime and everything in it.
func (h *Host) Close(ctx context.Context) error { return h.rt.Close(ctx) }

// Compile compiles a module.
func (h *Host) Compile(ctx context.Context, wasm []byte) (wazero.CompiledModule, error) {
	return h.rt.CompileModule(ctx, wasm)
}

type stateKey struct{}

type callState struct {
	input, output []byte
}

// Instance is one instance of a module. It serves one call at a time.
type Instance struct {
	mod   api.Module
	st    callState
	ctx   context.Context
	fns   map[string]api.Function
	stack [2]uint64
}

// Instantiate makes an anonymous instance of c and calls its _initialize, if any.
func (h *Host) Instantiate(ctx context.Context, c wazero.CompiledModule) (*Instance, error) {
	mod, err := h.rt.InstantiateModule(ctx, c, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, err
	}
	in := &Instance{mod: mod, fns: map[string]api.Function{}}
	in.ctx = context.WithValue(ctx, stateKey{}, &in.st)
	if f := mod.ExportedFunction("_initialize"); f != nil {
		if err := f.CallWithStack(in.ctx, in.stack[:]); err != nil {
			_ = mod.Close(ctx)
			return nil, fmt.Errorf("_initialize: %w", err)
		}
	}
	return in, nil
}

// InstantiateOnly instantiates c without calling _initialize: the engine's part of a new
// instance alone.
func (h *Host) InstantiateOnly(ctx context.Context, c wazero.CompiledModule) (api.Module, error) {
	return h.rt.InstantiateModule(ctx, c, wazero.NewModuleConfig().WithName("").WithStartFunctions())
}

// Call calls export with input and returns its i32 result; Output holds what it wrote.
func (in *Instance) Call(export string, input []byte) (int32, error) {
	f, ok := in.fns[export]
	if !ok {
		if f = in.mod.ExportedFunction(export); f == nil {
			return 0, fmt.Errorf("no export %q", export)
		}
		in.fns[export] = f
	}
	in.st.input, in.st.output = input, in.st.output[:0]
	in.stack[0] = uint64(uint32(len(input)))
	if err := f.CallWithStack(in.ctx, in.stack[:]); err != nil {
		return 0, err
	}
	return int32(uint32(in.stack[0])), nil
}

// Output is the output of the last call; valid until the next.
func (in *Instance) Output() []byte { return in.st.output }

// Close closes the instance.
func (in *Instance) Close(ctx context.Context) error { return in.mod.Close(ctx) }
