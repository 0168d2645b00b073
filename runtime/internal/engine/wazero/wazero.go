// Package wazero implements the engine seam with wazero, the pure-Go WebAssembly runtime.
//
// An engine holds one wazero.Runtime, with the host module and WASI instantiated once, and
// compiles every module into it. Modules stay isolated: every instance is anonymous, so no
// module can import or even name another's instances, and host functions find their call's
// state through the context, never through a shared instance. Closing a module frees its
// compiled code (wazero counts references to code compiled from the same bytes).
//
// One runtime per engine rather than one per module is what makes a loaded module as light as
// raw wazero's: a wazero.Runtime per module costs a store, a compiled and instantiated host
// module and, for WASI guests, a WASI instance (BENCHMARKS.md, "Module weight").
package wazero

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

func init() {
	engine.Register("wazero", func(_ context.Context, o engine.Options) (engine.Engine, error) {
		return newEngine(o, wazero.NewRuntimeConfigCompiler)
	})
	engine.Register("wazero-interpreter", func(_ context.Context, o engine.Options) (engine.Engine, error) {
		return newEngine(o, wazero.NewRuntimeConfigInterpreter)
	})
}

type eng struct {
	opts  engine.Options
	cache wazero.CompilationCache
	rt    wazero.Runtime // every module's code and instances, with the host module and WASI
}

// primeOnce works around a data race in wazero v1.12.0 (wazero#2532, fixed after it): the
// first compilation in a process lazily caches wazero's version in a global without a lock,
// so two runtimes compiling their first module at once race. Compiling an empty module once,
// alone, fills that cache before any concurrent use.
var primeOnce sync.Once

func prime() {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	_, _ = rt.CompileModule(ctx, []byte("\x00asm\x01\x00\x00\x00"))
	_ = rt.Close(ctx)
}

func newEngine(o engine.Options, base func() wazero.RuntimeConfig) (*eng, error) {
	primeOnce.Do(prime)
	e := &eng{opts: o}
	if o.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(o.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", o.CacheDir, err)
		}
		e.cache = c
	} else {
		e.cache = wazero.NewCompilationCache() // in memory: shared by this engine's runtimes
	}
	cfg := base().
		WithCompilationCache(e.cache).
		WithCoreFeatures(api.CoreFeaturesV2)
	ctx := context.Background()
	e.rt = wazero.NewRuntimeWithConfig(ctx, cfg)
	// The ABI check refuses any import outside these two modules, so linking both for every
	// module gives none of them more than it may use.
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, e.rt); err != nil {
		_ = e.Close(ctx)
		return nil, fmt.Errorf("instantiate WASI: %w", err)
	}
	if err := e.linkHost(ctx, e.rt); err != nil {
		_ = e.Close(ctx)
		return nil, err
	}
	return e, nil
}

// Close closes the runtime (every instance and module still open), then the cache.
func (e *eng) Close(ctx context.Context) error {
	return errors.Join(e.rt.Close(ctx), e.cache.Close(ctx))
}

func (e *eng) Compile(ctx context.Context, wasm []byte) (engine.Module, error) {
	compiled, err := e.rt.CompileModule(ctx, mergeDataSegments(wasm))
	if err != nil {
		return nil, err
	}
	m := &module{rt: e.rt, compiled: compiled}
	m.imports, m.exports = describe(compiled)
	return m, nil
}

func (e *eng) linkHost(ctx context.Context, rt wazero.Runtime) error {
	byModule := map[string][]engine.HostFunc{}
	for _, h := range e.opts.Host {
		byModule[h.Module] = append(byModule[h.Module], h)
	}
	for name, funcs := range byModule {
		b := rt.NewHostModuleBuilder(name)
		for _, h := range funcs {
			fn := h.Fn
			b.NewFunctionBuilder().
				WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
					fn(ctx, mod.Memory(), stack)
				}), valueTypes(h.Type.Params), valueTypes(h.Type.Results)).
				Export(h.Name)
		}
		if _, err := b.Instantiate(ctx); err != nil {
			return fmt.Errorf("instantiate host module %s: %w", name, err)
		}
	}
	return nil
}

type module struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	imports  []engine.Import
	exports  []engine.Export
}

func (m *module) Imports() []engine.Import { return m.imports }
func (m *module) Exports() []engine.Export { return m.exports }

// Close releases the module's compiled code; the runtime closes its instances first (pools
// drain before they close the module). Without it the engine would keep the machine code until
// it closes (about 20 MB per version of a Go module, for every version a hot-reloading host
// ever loaded). A later load of the same bytes compiles again, or reads the on-disk cache.
func (m *module) Close(ctx context.Context) error {
	return m.compiled.Close(ctx)
}

func (m *module) Instantiate(ctx context.Context, cfg engine.InstanceConfig) (engine.Instance, error) {
	mc := wazero.NewModuleConfig().
		WithName("").         // anonymous: many instances of one module may coexist
		WithStartFunctions(). // the runtime calls _initialize itself, to time and bound it
		WithArgs(cfg.Args...)
	for _, kv := range cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		mc = mc.WithEnv(k, v)
	}
	if cfg.Stdout != nil {
		mc = mc.WithStdout(cfg.Stdout)
	}
	if cfg.Stderr != nil {
		mc = mc.WithStderr(cfg.Stderr)
	}
	if cfg.Stdin != nil {
		mc = mc.WithStdin(cfg.Stdin)
	}
	inst := &instance{}
	if len(cfg.Mounts) > 0 {
		fsc, roots, err := mountFS(cfg.Mounts)
		if err != nil {
			return nil, err
		}
		mc = mc.WithFSConfig(fsc)
		inst.roots = roots
	}
	if cfg.MaxMemoryBytes > 0 {
		inst.mem = &cappedMemory{max: cfg.MaxMemoryBytes}
		ctx = experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(
			func(capBytes, _ uint64) experimental.LinearMemory {
				inst.mem.buf = make([]byte, 0, min(max(capBytes, cfg.MemoryCapacityHint), cfg.MaxMemoryBytes))
				return inst.mem
			}))
	}
	mod, err := m.rt.InstantiateModule(ctx, m.compiled, mc)
	if err != nil {
		closeRoots(inst.roots)
		return nil, convertErr(err)
	}
	inst.mod = mod
	return inst, nil
}

type instance struct {
	mod   api.Module
	mem   *cappedMemory
	roots []*os.Root // the mounts' directories, closed with the instance
}

// Func makes a new handle on each call: in wazero each handle carries its own 10 KiB call
// stack, so making one for every export of every instance would triple the weight of an idle
// instance of a small module. The caller keeps the handles it calls often.
func (i *instance) Func(name string) engine.Func {
	if f := i.mod.ExportedFunction(name); f != nil {
		return &fn{f: f}
	}
	return nil
}

func (i *instance) Memory() engine.Memory {
	if m := i.mod.Memory(); m != nil {
		return m
	}
	return nil
}

// Global returns the exported mutable global name, or nil.
func (i *instance) Global(name string) engine.Global {
	if g, ok := i.mod.ExportedGlobal(name).(api.MutableGlobal); ok {
		return g
	}
	return nil
}

func (i *instance) MemoryCapHit() bool {
	if i.mem == nil {
		return false
	}
	hit := i.mem.hit
	i.mem.hit = false
	return hit
}

func (i *instance) Close(ctx context.Context) error {
	err := i.mod.Close(ctx) // closes the files the guest left open first
	closeRoots(i.roots)
	return err
}

type fn struct{ f api.Function }

func (f *fn) Call(ctx context.Context, stack []uint64) error {
	if err := f.f.CallWithStack(ctx, stack); err != nil {
		return convertErr(err)
	}
	return nil
}

// convertErr maps wazero's errors onto the seam's.
func convertErr(err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return engine.ErrDeadline
		case sys.ExitCodeContextCanceled:
			return engine.ErrCanceled
		}
		return &engine.ExitError{Code: exit.ExitCode()}
	}
	msg := err.Error()
	first, trace, _ := strings.Cut(msg, "\nwasm stack trace:\n")
	first = strings.TrimSuffix(first, " (recovered by wazero)")
	t := &engine.TrapError{Message: first, Trace: strings.TrimSpace(trace)}
	// A host function's panic(err) is wrapped with %w: keep it reachable.
	if u := errors.Unwrap(err); u != nil {
		t.Cause = u
	}
	return t
}

// cappedMemory backs one instance's linear memory and refuses to grow past max, remembering
// that it did so the runtime can name the cause of the trap that usually follows.
type cappedMemory struct {
	buf []byte
	max uint64
	hit bool
}

func (m *cappedMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		m.hit = true
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size] // never shrinks, so the bytes past len are still zero
		return m.buf
	}
	nb := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), m.max))
	copy(nb, m.buf)
	m.buf = nb
	return nb
}

func (m *cappedMemory) Free() { m.buf = nil }

func describe(c wazero.CompiledModule) ([]engine.Import, []engine.Export) {
	var ims []engine.Import
	for _, d := range c.ImportedFunctions() {
		mod, name, _ := d.Import()
		ims = append(ims, engine.Import{Module: mod, Name: name, Kind: engine.KindFunc, Type: funcType(d)})
	}
	for _, d := range c.ImportedMemories() {
		mod, name, _ := d.Import()
		ims = append(ims, engine.Import{Module: mod, Name: name, Kind: engine.KindMemory})
	}
	var exs []engine.Export
	for name, d := range c.ExportedFunctions() {
		exs = append(exs, engine.Export{Name: name, Kind: engine.KindFunc, Type: funcType(d)})
	}
	for name, d := range c.ExportedMemories() {
		exs = append(exs, engine.Export{Name: name, Kind: engine.KindMemory, MinPages: d.Min()})
	}
	return ims, exs
}

func funcType(d api.FunctionDefinition) engine.FuncType {
	conv := func(ts []api.ValueType) []engine.ValueType {
		out := make([]engine.ValueType, len(ts))
		for i, t := range ts {
			switch t {
			case api.ValueTypeI32:
				out[i] = engine.I32
			case api.ValueTypeI64:
				out[i] = engine.I64
			case api.ValueTypeF32:
				out[i] = engine.F32
			case api.ValueTypeF64:
				out[i] = engine.F64
			default:
				out[i] = engine.Other
			}
		}
		return out
	}
	return engine.FuncType{Params: conv(d.ParamTypes()), Results: conv(d.ResultTypes())}
}

func valueTypes(ts []engine.ValueType) []api.ValueType {
	out := make([]api.ValueType, len(ts))
	for i, t := range ts {
		switch t {
		case engine.I64:
			out[i] = api.ValueTypeI64
		case engine.F32:
			out[i] = api.ValueTypeF32
		case engine.F64:
			out[i] = api.ValueTypeF64
		default:
			out[i] = api.ValueTypeI32
		}
	}
	return out
}
