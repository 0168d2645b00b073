//go:build wasmtime && (linux || darwin)

package wasmtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

// Name is the engine's registered name.
const Name = "wasmtime"

// EpochTick is how often the epoch advances while calls run: the latency with which a call
// notices that its context is done.
const EpochTick = time.Millisecond

// MaxTableElements bounds each table of an instance (the store limiter); table.grow past it
// returns -1 and a larger initial table fails instantiation.
const MaxTableElements = 1 << 20

func init() {
	engine.Register(Name, func(_ context.Context, o engine.Options) (engine.Engine, error) {
		return newEngine(o)
	})
}

var layoutErr = sync.OnceValue(checkLayout)

type eng struct {
	opts  engine.Options
	wt    *wasmtime.Engine
	cache *diskCache // nil without CacheDir

	// The epoch ticker runs only while calls do: active counts them; the ticker goroutine
	// exists while ticking is set, so an idle engine has none.
	active  atomic.Int64
	mu      sync.Mutex
	ticking bool
	stop    chan struct{}
	wg      sync.WaitGroup
	closed  sync.Once
}

func newEngine(o engine.Options) (*eng, error) {
	if err := layoutErr(); err != nil {
		return nil, err
	}
	cfg := wasmtime.NewConfig()
	// WebAssembly 2.0, as on wazero (CoreFeaturesV2): a module both engines accept or refuse
	// alike. wasmtime's later proposals stay off.
	cfg.SetWasmBulkMemory(true)
	cfg.SetWasmMultiValue(true)
	cfg.SetWasmReferenceTypes(true)
	cfg.SetWasmSIMD(true)
	cfg.SetWasmRelaxedSIMD(false)
	cfg.SetWasmThreads(false)
	cfg.SetWasmMultiMemory(false)
	cfg.SetWasmMemory64(false)
	cfg.SetWasmTailCall(false)
	cfg.SetWasmGC(false)
	cfg.SetWasmFunctionReferences(false)
	cfg.SetWasmWideArithmetic(false)
	cfg.SetEpochInterruption(o.Interruptible)
	cfg.SetConsumeFuel(o.Fuel)
	cfg.SetMemoryInitCOWSet(false) // copy-on-write images need wasmtime's own mmap memories
	useCappedMemory(cfg)
	e := &eng{opts: o}
	if o.CacheDir != "" {
		c, err := openCache(o.CacheDir, o)
		if err != nil {
			cfg.Close()
			return nil, err
		}
		e.cache = c
	}
	e.wt = wasmtime.NewEngineWithConfig(cfg) // takes cfg
	e.stop = make(chan struct{})
	return e, nil
}

// tick advances the epoch every EpochTick, and returns at the first tick that finds no call
// running.
func (e *eng) tick() {
	defer e.wg.Done()
	t := time.NewTicker(EpochTick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			e.wt.IncrementEpoch()
			if e.active.Load() == 0 {
				e.mu.Lock()
				idle := e.active.Load() == 0 // under mu: enter cannot miss the exit
				if idle {
					e.ticking = false
				}
				e.mu.Unlock()
				if idle {
					return
				}
			}
		case <-e.stop:
			return
		}
	}
}

// enter and leave bracket anything that runs guest code, so the epoch advances meanwhile.
func (e *eng) enter() {
	if e.active.Add(1) == 1 {
		e.mu.Lock()
		if !e.ticking {
			select {
			case <-e.stop: // closed: calls still run, uninterrupted
			default:
				e.ticking = true
				e.wg.Add(1)
				go e.tick()
			}
		}
		e.mu.Unlock()
	}
}

func (e *eng) leave() { e.active.Add(-1) }

// Close stops the epoch ticker; the engine's modules stay usable.
func (e *eng) Close(context.Context) error {
	e.closed.Do(func() {
		e.mu.Lock()
		close(e.stop)
		e.mu.Unlock()
		e.wg.Wait()
	})
	return nil
}

func (e *eng) Compile(ctx context.Context, wasm []byte) (engine.Module, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var (
		mod *wasmtime.Module
		err error
	)
	if e.cache != nil {
		mod, err = e.cache.compile(e.wt, wasm)
	} else {
		mod, err = wasmtime.NewModule(e.wt, wasm)
	}
	if err != nil {
		return nil, errors.New(strings.TrimSpace(err.Error()))
	}
	m := &module{eng: e, mod: mod}
	m.imports, m.exports = describe(mod)
	m.linker = wasmtime.NewLinker(e.wt)
	needWASI := false
	for _, im := range m.imports {
		needWASI = needWASI || im.Module == wasiModule
	}
	m.wasi = needWASI
	if needWASI {
		if err := m.linker.DefineWasi(); err != nil {
			m.Close(ctx)
			return nil, fmt.Errorf("define WASI: %w", err)
		}
	}
	for _, h := range e.opts.Host {
		if err := m.linker.FuncNew(h.Module, h.Name, funcType(h.Type), hostFunc(h)); err != nil {
			m.Close(ctx)
			return nil, fmt.Errorf("define host function %s.%s: %w", h.Module, h.Name, err)
		}
	}
	return m, nil
}

const wasiModule = "wasi_snapshot_preview1"

type module struct {
	eng     *eng
	mod     *wasmtime.Module
	linker  *wasmtime.Linker
	wasi    bool
	imports []engine.Import
	exports []engine.Export
}

func (m *module) Imports() []engine.Import { return m.imports }
func (m *module) Exports() []engine.Export { return m.exports }

func (m *module) Close(context.Context) error {
	m.linker.Close()
	m.mod.Close()
	return nil
}

func (m *module) Instantiate(ctx context.Context, cfg engine.InstanceConfig) (engine.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxErr(err)
	}
	// Refused rather than ignored: a command must never run without the input or the
	// directories its plan asked for. (wasmtime's WASI can give both, through a stdin file
	// and preopened directories; wiring them with the same confinement rules as the wazero
	// engine's os.Root mounts is still to do.)
	if len(cfg.Mounts) > 0 {
		return nil, fmt.Errorf("%w: the wasmtime engine does not support WASI directory mounts yet (use --engine wazero)", engine.ErrMount)
	}
	if cfg.Stdin != nil {
		return nil, errors.New("the wasmtime engine does not support WASI stdin yet (use --engine wazero)")
	}
	memCap := cfg.MaxMemoryBytes
	if memCap == 0 {
		memCap = math.MaxUint32 + 1 // a 32-bit memory's own limit
	}
	in := &instance{eng: m.eng, c: newCState(memCap), fired: make(chan struct{}, 1)}
	in.store = wasmtime.NewStoreWithData(m.eng.wt, in)
	fail := func(err error) (engine.Instance, error) {
		in.Close(ctx)
		return nil, err
	}
	// Memories are capped by the memory creator; the limiter bounds tables and instances.
	in.store.Limiter(-1, MaxTableElements, 1, -1, -1)
	if m.eng.opts.Interruptible {
		if err := in.c.watchEpochs(in.store); err != nil {
			return fail(err)
		}
		in.store.SetEpochDeadline(1)
	}
	if m.eng.opts.Fuel {
		if err := in.SetFuel(math.MaxInt64); err != nil {
			return fail(err)
		}
	}
	if m.wasi {
		out, err := newOutputs(cfg.Stdout, cfg.Stderr)
		if err != nil {
			return fail(err)
		}
		in.out = out
		wc := wasmtime.NewWasiConfig()
		wc.SetArgv(cfg.Args)
		keys, vals := make([]string, len(cfg.Env)), make([]string, len(cfg.Env))
		for i, kv := range cfg.Env {
			keys[i], vals[i], _ = strings.Cut(kv, "=")
		}
		wc.SetEnv(keys, vals)
		if err := out.configure(wc); err != nil {
			wc.Close()
			return fail(err)
		}
		in.store.SetWasi(wc)
	}
	var inst *wasmtime.Instance
	err := in.run(ctx, func() error {
		// The memory creator learns the instance's cap from its thread.
		runtime.LockOSThread()
		in.c.setPending()
		var err error
		inst, err = m.linker.Instantiate(in.store, m.mod)
		clearPending()
		runtime.UnlockOSThread()
		return err
	})
	if err != nil {
		return fail(err)
	}
	in.inst = inst
	if ex := inst.GetExport(in.store, "memory"); ex != nil && ex.Memory() != nil {
		in.mem = &memory{m: ex.Memory(), st: in.store}
	}
	in.funcs = map[string]*fn{}
	for _, e := range m.exports {
		if e.Kind != engine.KindFunc {
			continue
		}
		if f := inst.GetFunc(in.store, e.Name); f != nil {
			in.funcs[e.Name] = &fn{in: in, f: f, ty: e.Type}
		}
	}
	return in, nil
}

type instance struct {
	eng   *eng
	store *wasmtime.Store
	inst  *wasmtime.Instance
	c     cState
	out   *outputs
	mem   *memory
	funcs map[string]*fn
	fuel  uint64 // what SetFuel last set

	// panicked is what a host function of the call in progress panicked with.
	panicked *engine.TrapError

	ctx    context.Context // the call in progress, for host functions
	fired  chan struct{}   // the call's AfterFunc has set the interrupt flag
	closed bool
	// hostStack is the host functions' parameter and result stack; an instance serves one
	// call at a time and a host function cannot call back into the guest.
	hostStack [8]uint64
}

var (
	_ engine.Fueled         = (*instance)(nil)
	_ engine.GlobalInstance = (*instance)(nil)
)

// Global implements engine.GlobalInstance for an exported mutable i64 or i32 global (the
// runtime's fuel pass reads and sets its counter through it).
func (i *instance) Global(name string) engine.Global {
	ex := i.inst.GetExport(i.store, name)
	if ex == nil || ex.Global() == nil {
		return nil
	}
	g := ex.Global()
	if !g.Type(i.store).Mutable() {
		return nil
	}
	return &global{store: i.store, g: g, i64: g.Type(i.store).Content().Kind() == wasmtime.KindI64}
}

// global is an exported mutable global of one instance's store.
type global struct {
	store *wasmtime.Store
	g     *wasmtime.Global
	i64   bool
}

func (g *global) Get() uint64 {
	v := g.g.Get(g.store)
	if g.i64 {
		return uint64(v.I64())
	}
	return uint64(uint32(v.I32()))
}

// Set panics on a store error, which only a closed store gives: the seam's Set has no error.
func (g *global) Set(v uint64) {
	val := wasmtime.ValI32(int32(uint32(v)))
	if g.i64 {
		val = wasmtime.ValI64(int64(v))
	}
	if err := g.g.Set(g.store, val); err != nil {
		panic(err)
	}
}

func (i *instance) Func(name string) engine.Func {
	if f, ok := i.funcs[name]; ok {
		return f
	}
	return nil
}

func (i *instance) Memory() engine.Memory {
	if i.mem == nil {
		return nil
	}
	return i.mem
}

func (i *instance) MemoryCapHit() bool { return i.c.hit().Swap(0) != 0 }

func (i *instance) Close(context.Context) error {
	if i.closed {
		return nil
	}
	i.closed = true
	i.store.Close() // drops the memories and the epoch callback that point at i.c
	i.c.free()
	if i.out != nil {
		return i.out.close()
	}
	return nil
}

// SetFuel implements engine.Fueled.
func (i *instance) SetFuel(units uint64) error {
	if !i.eng.opts.Fuel {
		return errors.New("wasmtime: fuel metering is off (engine.Options.Fuel)")
	}
	if err := i.store.SetFuel(units); err != nil {
		return err
	}
	i.fuel = units
	return nil
}

// FuelConsumed implements engine.Fueled.
func (i *instance) FuelConsumed() (uint64, error) {
	if !i.eng.opts.Fuel {
		return 0, errors.New("wasmtime: fuel metering is off (engine.Options.Fuel)")
	}
	left, err := i.store.GetFuel()
	if err != nil {
		return 0, err
	}
	return i.fuel - left, nil
}

// run runs guest code (a call or an instantiation with its start function) for ctx: when the
// engine is interruptible, ctx's end sets the interrupt flag that the next epoch check reads.
func (i *instance) run(ctx context.Context, f func() error) error {
	i.ctx, i.panicked = ctx, nil
	defer func() { i.ctx = nil }()
	if !i.eng.opts.Interruptible || ctx.Done() == nil {
		err := f()
		i.flush()
		return i.convert(ctx, err)
	}
	if err := ctx.Err(); err != nil {
		return ctxErr(err)
	}
	flag := i.c.interrupt()
	flag.Store(0)
	stop := context.AfterFunc(ctx, func() {
		flag.Store(1)
		i.fired <- struct{}{}
	})
	i.eng.enter()
	err := f()
	i.eng.leave()
	if !stop() {
		<-i.fired // the flag is set: wait, so it cannot land in a later call
	}
	i.flush()
	if err != nil && flag.Load() != 0 {
		return ctxErr(ctx.Err())
	}
	return i.convert(ctx, err)
}

// flush passes WASI output on to the instance's writers.
func (i *instance) flush() {
	if i.out != nil {
		i.out.flush()
	}
}

func ctxErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return engine.ErrDeadline
	}
	return engine.ErrCanceled
}

// convert maps wasmtime's errors onto the seam's.
func (i *instance) convert(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if t := i.panicked; t != nil { // a host function aborted the call
		i.panicked = nil
		return t
	}
	var werr *wasmtime.Error
	if errors.As(err, &werr) {
		if code, ok := werr.ExitStatus(); ok {
			return &engine.ExitError{Code: uint32(code)}
		}
	}
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		t := &engine.TrapError{Message: "wasm error: " + causeOf(trap.Message()), Trace: trapTrace(trap)}
		if c := trap.Code(); c != nil {
			if m, ok := trapMessages[*c]; ok {
				t.Message = "wasm error: " + m
			}
			if *c == codeOutOfFuel {
				t.Cause = engine.ErrFuelExhausted
			}
		}
		return t
	}
	return &engine.TrapError{Message: "wasm error: " + causeOf(err.Error())}
}

// trapMessages name traps as wazero does, so messages read the same on both engines.
var trapMessages = map[wasmtime.TrapCode]string{
	wasmtime.StackOverflow:          "stack overflow",
	wasmtime.MemoryOutOfBounds:      "out of bounds memory access",
	wasmtime.HeapMisaligned:         "unaligned atomic",
	wasmtime.TableOutOfBounds:       "invalid table access",
	wasmtime.IndirectCallToNull:     "invalid table access",
	wasmtime.BadSignature:           "indirect call type mismatch",
	wasmtime.IntegerOverflow:        "integer overflow",
	wasmtime.IntegerDivisionByZero:  "integer divide by zero",
	wasmtime.BadConversionToInteger: "invalid conversion to integer",
	wasmtime.UnreachableCodeReached: "unreachable",
	wasmtime.Interrupt:              "interrupted",
	codeOutOfFuel:                   "fuel exhausted",
}

// codeOutOfFuel is WASMTIME_TRAP_CODE_OUT_OF_FUEL of the C API v39 (trap.h). wasmtime-go's
// OutOfFuel constant is 11, which the C API has since given to ALWAYS_TRAP_ADAPTER; codes
// 0-10 agree.
const codeOutOfFuel wasmtime.TrapCode = 12

// causeOf is the reason in wasmtime's error text: what follows "Caused by:", without the
// backtraces around it.
func causeOf(s string) string {
	if _, c, ok := strings.Cut(s, "Caused by:"); ok {
		s = c
	}
	s, _, _ = strings.Cut(s, "\n\nStack backtrace:")
	s, _, _ = strings.Cut(s, "\nwasm backtrace:")
	return strings.TrimPrefix(strings.TrimSpace(s), "wasm trap: ")
}

// trapTrace lists a trap's frames, innermost first, one per line: the function's name (or
// $index) and its offset in the module.
func trapTrace(t *wasmtime.Trap) string {
	var b strings.Builder
	for _, f := range t.Frames() {
		name := fmt.Sprintf("$%d", f.FuncIndex())
		if n := f.FuncName(); n != nil && *n != "" {
			name = *n
		}
		fmt.Fprintf(&b, "%s at 0x%x\n", name, f.ModuleOffset())
	}
	return strings.TrimSpace(b.String())
}

type fn struct {
	in *instance
	f  *wasmtime.Func
	ty engine.FuncType
}

func (f *fn) Call(ctx context.Context, stack []uint64) error {
	args := make([]any, len(f.ty.Params))
	for i, t := range f.ty.Params {
		args[i] = fromStack(t, stack[i])
	}
	var res any
	err := f.in.run(ctx, func() error {
		var err error
		res, err = f.f.Call(f.in.store, args...)
		return err
	})
	if err != nil {
		return err
	}
	switch r := res.(type) {
	case nil:
	case []wasmtime.Val:
		for i, v := range r {
			stack[i] = toStack(v.Get())
		}
	default:
		stack[0] = toStack(r)
	}
	return nil
}

func fromStack(t engine.ValueType, v uint64) any {
	switch t {
	case engine.I64:
		return int64(v)
	case engine.F32:
		return math.Float32frombits(uint32(v))
	case engine.F64:
		return math.Float64frombits(v)
	}
	return int32(uint32(v))
}

func toStack(v any) uint64 {
	switch x := v.(type) {
	case int32:
		return uint64(uint32(x))
	case int64:
		return uint64(x)
	case float32:
		return uint64(math.Float32bits(x))
	case float64:
		return math.Float64bits(x)
	}
	return 0
}

// hostFunc adapts a seam host function to wasmtime's calling convention. A panic becomes a
// trap whose Cause is the panic's error; wasmtime unwinds the guest.
func hostFunc(h engine.HostFunc) func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
	results := h.Type.Results
	return func(c *wasmtime.Caller, args []wasmtime.Val) (_ []wasmtime.Val, trap *wasmtime.Trap) {
		in := c.Data().(*instance)
		stack := in.hostStack[:max(len(args), len(results))]
		for i, a := range args {
			stack[i] = toStack(a.Get())
		}
		mem := in.mem
		if mem == nil { // during the start function, before Instantiate returned
			if ex := c.GetExport("memory"); ex != nil && ex.Memory() != nil {
				mem = &memory{m: ex.Memory()}
			}
		}
		var m engine.Memory
		if mem != nil {
			prev := mem.st
			mem.st = c // inside a host call, memory is reached through the caller
			defer func() { mem.st = prev }()
			m = mem
		}
		defer func() {
			if r := recover(); r != nil {
				t := &engine.TrapError{Message: fmt.Sprint(r)}
				if err, ok := r.(error); ok {
					t.Message, t.Cause = err.Error(), err
				}
				in.panicked = t
				trap = wasmtime.NewTrap(t.Message)
			}
		}()
		h.Fn(in.ctx, m, stack)
		out := make([]wasmtime.Val, len(results))
		for i, t := range results {
			switch t {
			case engine.I64:
				out[i] = wasmtime.ValI64(int64(stack[i]))
			case engine.F32:
				out[i] = wasmtime.ValF32(math.Float32frombits(uint32(stack[i])))
			case engine.F64:
				out[i] = wasmtime.ValF64(math.Float64frombits(stack[i]))
			default:
				out[i] = wasmtime.ValI32(int32(uint32(stack[i])))
			}
		}
		return out, nil
	}
}

// memory is an instance's exported linear memory.
type memory struct {
	m  *wasmtime.Memory
	st wasmtime.Storelike
}

func (m *memory) data() []byte { return m.m.UnsafeData(m.st) }

func (m *memory) Read(offset, n uint32) ([]byte, bool) {
	d := m.data()
	if uint64(offset)+uint64(n) > uint64(len(d)) {
		return nil, false
	}
	return d[offset : offset+n : offset+n], true
}

func (m *memory) Write(offset uint32, v []byte) bool {
	d := m.data()
	if uint64(offset)+uint64(len(v)) > uint64(len(d)) {
		return false
	}
	copy(d[offset:], v)
	return true
}

func (m *memory) Size() uint32 { return uint32(m.m.DataSize(m.st)) }

func describe(mod *wasmtime.Module) ([]engine.Import, []engine.Export) {
	var ims []engine.Import
	for _, im := range mod.Imports() {
		name := ""
		if n := im.Name(); n != nil {
			name = *n
		}
		i := engine.Import{Module: im.Module(), Name: name}
		switch t := im.Type(); {
		case t.FuncType() != nil:
			i.Kind, i.Type = engine.KindFunc, fromFuncType(t.FuncType())
		case t.MemoryType() != nil:
			i.Kind = engine.KindMemory
		case t.TableType() != nil:
			i.Kind = engine.KindTable
		default:
			i.Kind = engine.KindGlobal
		}
		ims = append(ims, i)
	}
	var exs []engine.Export
	for _, ex := range mod.Exports() {
		e := engine.Export{Name: ex.Name()}
		switch t := ex.Type(); {
		case t.FuncType() != nil:
			e.Kind, e.Type = engine.KindFunc, fromFuncType(t.FuncType())
		case t.MemoryType() != nil:
			e.Kind, e.MinPages = engine.KindMemory, uint32(t.MemoryType().Minimum())
		case t.TableType() != nil:
			e.Kind = engine.KindTable
		default:
			e.Kind = engine.KindGlobal
		}
		exs = append(exs, e)
	}
	return ims, exs
}

func fromFuncType(t *wasmtime.FuncType) engine.FuncType {
	conv := func(ts []*wasmtime.ValType) []engine.ValueType {
		out := make([]engine.ValueType, len(ts))
		for i, v := range ts {
			switch v.Kind() {
			case wasmtime.KindI32:
				out[i] = engine.I32
			case wasmtime.KindI64:
				out[i] = engine.I64
			case wasmtime.KindF32:
				out[i] = engine.F32
			case wasmtime.KindF64:
				out[i] = engine.F64
			default:
				out[i] = engine.Other
			}
		}
		return out
	}
	return engine.FuncType{Params: conv(t.Params()), Results: conv(t.Results())}
}

func funcType(t engine.FuncType) *wasmtime.FuncType {
	conv := func(ts []engine.ValueType) []*wasmtime.ValType {
		out := make([]*wasmtime.ValType, len(ts))
		for i, v := range ts {
			k := wasmtime.KindI32
			switch v {
			case engine.I64:
				k = wasmtime.KindI64
			case engine.F32:
				k = wasmtime.KindF32
			case engine.F64:
				k = wasmtime.KindF64
			}
			out[i] = wasmtime.NewValType(k)
		}
		return out
	}
	return wasmtime.NewFuncType(conv(t.Params), conv(t.Results))
}
