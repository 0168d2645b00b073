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

// callState is an instance's current call: what input hands in and output collected. The
// store's data points at it, so the host functions find it from their Caller.
type callState struct {
	input, output []byte
}

// New returns a host on wasmtime's default configuration (Cranelift, no fuel, no epochs).
func New() (*Host, error) {
	engine := wasmtime.NewEngine()
	l := wasmtime.NewLinker(engine)
	if err := l.DefineWasi(); err != nil {
		return nil, fmt.Errorf("wasmtimefloor: WASI: %w", err)
	}
	memOf := func(c *wasmtime.Caller) []byte {
		ex := c.GetExport("memory")
		if ex == nil || ex.Memory() == nil {
			return nil
		}
		return ex.Memory().UnsafeData(c)
	}
	funcs := []struct {
		name string
		f    any
	}{
		{"input", func(c *wasmtime.Caller, dst int32) *wasmtime.Trap {
			st := c.Data().(*callState)
			mem := memOf(c)
			if uint64(uint32(dst))+uint64(len(st.input)) > uint64(len(mem)) {
				return wasmtime.NewTrap(ErrOutOfMemory.Error())
			}
			copy(mem[uint32(dst):], st.input)
			return nil
		}},
		{"output", func(c *wasmtime.Caller, p, n int32) *wasmtime.Trap {
			st := c.Data().(*callState)
			mem := memOf(c)
			if uint64(uint32(p))+uint64(uint32(n)) > uint64(len(mem)) {
				return wasmtime.NewTrap(ErrOutOfMemory.Error())
			}
			st.output = append(st.output[:0], mem[uint32(p):uint32(p)+uint32(n)]...)
			return nil
		}},
		{"log", func(int32, int32, int32) {}},
		{"emit", func(int32, int32, int32) {}},
	}
	for _, f := range funcs {
		if err := l.FuncWrap("solti", f.name, f.f); err != nil {
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
	fns   map[string]*wasmtime.Func
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
	in := &Instance{st: st, store: store, inst: inst, fns: map[string]*wasmtime.Func{}}
	if f := inst.GetFunc(store, "_initialize"); f != nil {
		if _, err := f.Call(store); err != nil {
			store.Close()
			return nil, fmt.Errorf("_initialize: %w", err)
		}
	}
	return in, nil
}

// Call calls export with input (its length as the one argument) and returns its i32 result;
// Output holds what it wrote.
func (in *Instance) Call(export string, input []byte) (int32, error) {
	f, ok := in.fns[export]
	if !ok {
		if f = in.inst.GetFunc(in.store, export); f == nil {
			return 0, fmt.Errorf("no export %q", export)
		}
		in.fns[export] = f
	}
	in.st.input, in.st.output = input, in.st.output[:0]
	res, err := f.Call(in.store, int32(len(input)))
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
