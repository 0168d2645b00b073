//go:build wasmtime

// Package wasmtimefloor is the raw-engine floor of the project's benchmarks on wasmtime: the
// least host that runs a solti runner, driven straight through wasmtime-go's API, as
// internal/wazerofloor is on wazero. Benchmarks built with `-tags wasmtime` (cgo) run the same
// module and the same work through it, in the same run, beside the wazero floor and the
// runtime (BENCHMARKS.md).
//
// It does what ABI v1 needs and nothing more: the solti imports (input, output, log and emit,
// whose records it drops) and WASI, one engine and linker for every module, a store per
// instance, _initialize called once per instance. No limits, no fuel, no pool.
package wasmtimefloor

import (
	"errors"
	"fmt"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// ErrOutOfMemory is the trap of an input or output pointer outside the guest's memory.
var ErrOutOfMemory = errors.New("wasmtimefloor: pointer out of guest memory")

// Host is one wasmtime engine with a linker holding the solti host module and WASI.
type Host struct {
	engine *wasmtime.Engine
	linker *wasmtime.Linker
}

// callState is an instance's current call: what input hands in and output collected, and
// the instance's memory, found once at instantiation. The store's data points at it, so the
// host functions find it from their Caller.
type callState struct {
	input, output []byte
	mem           *wasmtime.Memory
}

// New returns a host on wasmtime's default configuration (Cranelift, no fuel, no epochs).
//
// The host functions are the cheapest wasmtime-go's public API offers: Linker.FuncNew (values
// as []Val, no reflection: FuncWrap's trampoline calls the Go function through reflect) and
// the memory looked up once per instance rather than through Caller.GetExport on every host
// call (a cgo call and an Extern with a finalizer each time). Calls into the guest go through
// Func.Call, the API's only way in (the function's type read through cgo and the arguments
// boxed, on every call).
func New() (*Host, error) { return newHost(wasmtime.NewEngine()) }

// NewWithoutMemoryImages returns a host as New does but with wasmtime's copy-on-write memory
// images off (Config.SetMemoryInitCOWSet(false)), as the runtime's wasmtime engine has them
// (its capped memories are not wasmtime's own mmap memories): each instance then copies its
// data segments into a fresh memory, which a benchmark beside New's tells apart.
func NewWithoutMemoryImages() (*Host, error) {
	cfg := wasmtime.NewConfig()
	cfg.SetMemoryInitCOWSet(false)
	return newHost(wasmtime.NewEngineWithConfig(cfg))
}

func newHost(engine *wasmtime.Engine) (*Host, error) {
	l := wasmtime.NewLinker(engine)
	if err := l.DefineWasi(); err != nil {
		return nil, fmt.Errorf("wasmtimefloor: WASI: %w", err)
	}
	i32 := func(n int) []*wasmtime.ValType {
		ts := make([]*wasmtime.ValType, n)
		for i := range ts {
			ts[i] = wasmtime.NewValType(wasmtime.KindI32)
		}
		return ts
	}
	memOf := func(c *wasmtime.Caller, st *callState) []byte {
		if st.mem == nil {
			return nil
		}
		return st.mem.UnsafeData(c)
	}
	funcs := []struct {
		name   string
		params int
		f      func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap)
	}{
		{"input", 1, func(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			st := c.Data().(*callState)
			mem, dst := memOf(c, st), uint32(args[0].I32())
			if uint64(dst)+uint64(len(st.input)) > uint64(len(mem)) {
				return nil, wasmtime.NewTrap(ErrOutOfMemory.Error())
			}
			copy(mem[dst:], st.input)
			return nil, nil
		}},
		{"output", 2, func(c *wasmtime.Caller, args []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
			st := c.Data().(*callState)
			mem, p, n := memOf(c, st), uint32(args[0].I32()), uint32(args[1].I32())
			if uint64(p)+uint64(n) > uint64(len(mem)) {
				return nil, wasmtime.NewTrap(ErrOutOfMemory.Error())
			}
			st.output = append(st.output[:0], mem[p:p+n]...)
			return nil, nil
		}},
		{"log", 3, func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) { return nil, nil }},
		{"emit", 3, func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) { return nil, nil }},
	}
	for _, f := range funcs {
		if err := l.FuncNew("solti", f.name, wasmtime.NewFuncType(i32(f.params), nil), f.f); err != nil {
			return nil, fmt.Errorf("wasmtimefloor: solti.%s: %w", f.name, err)
		}
	}
	return &Host{engine: engine, linker: l}, nil
}

// Compile compiles a module.
func (h *Host) Compile(wasm []byte) (*wasmtime.Module, error) {
	return wasmtime.NewModule(h.engine, wasm)
}

// Instance is one instance of a module, in its own store. It serves one call at a time.
type Instance struct {
	st    *callState
	store *wasmtime.Store
	inst  *wasmtime.Instance
	fns   map[string]export
}

// export is a guest function and whether it takes the input's length.
type export struct {
	fn  *wasmtime.Func
	arg bool
}

// Instantiate makes an instance of m (WASI with nothing granted) and calls its _initialize,
// if any.
func (h *Host) Instantiate(m *wasmtime.Module) (*Instance, error) {
	st := &callState{}
	store := wasmtime.NewStoreWithData(h.engine, st)
	store.SetWasi(wasmtime.NewWasiConfig())
	inst, err := h.linker.Instantiate(store, m)
	if err != nil {
		store.Close()
		return nil, err
	}
	if ex := inst.GetExport(store, "memory"); ex != nil {
		st.mem = ex.Memory()
	}
	in := &Instance{st: st, store: store, inst: inst, fns: map[string]export{}}
	if f := inst.GetFunc(store, "_initialize"); f != nil {
		if _, err := f.Call(store); err != nil {
			store.Close()
			return nil, fmt.Errorf("_initialize: %w", err)
		}
	}
	return in, nil
}

// Call calls export with input (its length as the one argument, for exports that take one)
// and returns its i32 result;
// Output holds what it wrote.
func (in *Instance) Call(export string, input []byte) (int32, error) {
	f, ok := in.fns[export]
	if !ok {
		if f.fn = in.inst.GetFunc(in.store, export); f.fn == nil {
			return 0, fmt.Errorf("no export %q", export)
		}
		f.arg = len(f.fn.Type(in.store).Params()) > 0
		in.fns[export] = f
	}
	in.st.input, in.st.output = input, in.st.output[:0]
	var res any
	var err error
	if f.arg { // supports, build, run: the input's length
		res, err = f.fn.Call(in.store, int32(len(input)))
	} else { // name, describe
		res, err = f.fn.Call(in.store)
	}
	if err != nil {
		return 0, err
	}
	rc, ok := res.(int32)
	if !ok {
		return 0, fmt.Errorf("%s returned %T, want an i32", export, res)
	}
	return rc, nil
}

// Output is the output of the last call; valid until the next.
func (in *Instance) Output() []byte { return in.st.output }

// Close frees the instance's store.
func (in *Instance) Close() { in.store.Close() }
