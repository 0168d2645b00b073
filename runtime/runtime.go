// Package runtime loads runner modules and serves them as router.Runners: it compiles each
// module once (with an optional on-disk cache), checks it against ABI v1, and calls it through
// a pool of sandboxed instances bounded in memory, time, input and output.
//
// Every failure names the module file, the export and the cause, as a *LoadError or a
// *CallError wrapping one of the package's sentinel errors; one bad module never stops the
// others from loading or serving.
package runtime

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/internal/testengine"
	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
	_ "github.com/solti-wasm/solti-wasm/runtime/internal/engine/wazero" // registers "wazero"
	"github.com/solti-wasm/solti-wasm/runtime/internal/wasmbin"
)

// Runtime compiles and hosts runner modules. It is safe for concurrent use.
type Runtime struct {
	eng    engine.Engine
	limits Limits
	logger *slog.Logger
	// fuel: modules are compiled with the fuel pass, and every call is bounded by fuel and
	// its deadline (a call deadline is set); else only runs are, on a second compilation.
	fuel      bool
	fuelCache fuelCache
	observer  Observer
	runCalls  int // Config.RunInstanceCalls
	budget    *MemoryBudget

	mu      sync.Mutex
	modules map[*Module]struct{}

	// compiling counts compilations in flight, abandoned ones (past the compile budget or
	// canceled) included; tests wait on it so no goroutine outlives them.
	compiling sync.WaitGroup
}

// New returns a runtime with cfg.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.Engine == "" {
		cfg.Engine = cmp.Or(testengine.Name(), "wazero") // a test run may choose another
	}
	limits := cfg.Limits.withDefaults()
	rt := &Runtime{
		limits:    limits,
		logger:    cfg.Logger,
		fuel:      limits.CallTimeout > 0,
		fuelCache: newFuelCache(cfg.CacheDir),
		modules:   map[*Module]struct{}{},
		observer:  cfg.Observer,
		runCalls:  cfg.RunInstanceCalls,
		budget:    cfg.MemoryBudget,
	}
	if rt.logger == nil {
		rt.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CacheDir != "" {
		if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("compilation cache: %w", err)
		}
	}
	eng, err := engine.New(ctx, cfg.Engine, engine.Options{Host: hostFuncs(), CacheDir: cfg.CacheDir, Interruptible: true})
	if err != nil {
		return nil, err
	}
	rt.eng = guard(eng)
	return rt, nil
}

// instrument returns the bytes to compile for a module whose calls are metered: wasm with the
// fuel pass applied (from the fuel cache when the runtime has a cache directory). The
// compilation cache keys on these bytes, which record the pass version and the cost table
// (a custom section), so a change of either never reuses stale code.
func (rt *Runtime) instrument(wasm []byte) ([]byte, error) {
	out, err := rt.fuelCache.instrument(wasm)
	if err != nil {
		return nil, errorf(ErrInvalidModule, "fuel instrumentation: %v", err)
	}
	return out, nil
}

// Engines lists the engines this build can use.
func Engines() []string { return engine.Names() }

// Limits returns the limits in force, defaults filled in.
func (rt *Runtime) Limits() Limits { return rt.limits }

// Close closes every module still open, then the engine.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	mods := make([]*Module, 0, len(rt.modules))
	for m := range rt.modules {
		mods = append(mods, m)
	}
	rt.mu.Unlock()
	var errs []error
	for _, m := range mods {
		errs = append(errs, m.Close(ctx))
	}
	errs = append(errs, rt.eng.Close(ctx))
	return errors.Join(errs...)
}

func (rt *Runtime) forget(m *Module) {
	rt.mu.Lock()
	delete(rt.modules, m)
	rt.mu.Unlock()
}

// ModuleInfo describes a module: what inspect prints.
type ModuleInfo struct {
	Path   string `json:"path"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	// ABIVersion is the version its marker export declares; 0 when it has none.
	ABIVersion     int              `json:"abiVersion"`
	Name           string           `json:"name,omitempty"`
	Description    *abi.Description `json:"describe,omitempty"`
	HasRun         bool             `json:"hasRun"`
	MemoryMinPages uint32           `json:"memoryMinPages"`
	Exports        []string         `json:"exports"`
	Imports        []string         `json:"imports"`
	// CompileTime and InitTime are what loading took: compilation (or a cache hit) and the
	// first instantiation with _initialize.
	CompileTime time.Duration `json:"compileTimeNs"`
	InitTime    time.Duration `json:"initTimeNs"`
}

// Load reads, checks, compiles, initialises and smoke-tests the module at path. It reads
// only a regular file (after following symlinks) of at most Limits.MaxModuleBytes.
func (rt *Runtime) Load(ctx context.Context, path string) (*Module, error) {
	wasm, err := rt.ReadModule(path)
	if err != nil {
		return nil, err
	}
	return rt.LoadBytes(ctx, path, wasm)
}

// ReadModule reads the module file at path as Load does (ReadModuleFile with the runtime's
// size cap); errors are *LoadError at stage read, and are recorded by the Observer.
func (rt *Runtime) ReadModule(path string) ([]byte, error) {
	wasm, _, err := ReadModuleFile(path, rt.limits.MaxModuleBytes)
	if err != nil {
		if rt.observer != nil {
			rt.observer.ModuleRejected(path, "read")
		}
		return nil, &LoadError{Path: path, Stage: "read", Err: err}
	}
	return wasm, nil
}

// LoadBytes is Load for bytes already in memory; path names them in errors.
func (rt *Runtime) LoadBytes(ctx context.Context, path string, wasm []byte) (*Module, error) {
	m, _, err := rt.load(ctx, path, wasm)
	return m, err
}

// Inspect loads the module at path as Load does (the same checks, smoke test included), then
// closes it, and describes it as far as loading got: a module that fails the ABI check still
// shows its exports and imports.
func (rt *Runtime) Inspect(ctx context.Context, path string) (*ModuleInfo, error) {
	wasm, err := rt.ReadModule(path)
	if err != nil {
		return nil, err
	}
	m, info, err := rt.load(ctx, path, wasm)
	if m != nil {
		_ = m.Close(ctx)
	}
	return info, err
}

var wasmMagic = []byte("\x00asm")

// checkHeader refuses bytes that are not a core wasm module before any compilation, saying
// what they are instead: not wasm at all, or a component or future binary format.
func checkHeader(wasm []byte) error {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], wasmMagic) {
		return errorf(ErrNotWasm, "starts with %q, want the wasm magic \\0asm", head(wasm))
	}
	if wasmbin.IsComponent(wasm) {
		return errorf(ErrComponent, "the header % x is a component's (layer 1)", wasm[:8])
	}
	if v := wasm[4:8]; !bytes.Equal(v, []byte{1, 0, 0, 0}) {
		return errorf(ErrInvalidModule, "binary version % x: a component or a future format, not a core wasm module (want 01 00 00 00)", v)
	}
	return nil
}

func (rt *Runtime) load(ctx context.Context, path string, wasm []byte) (*Module, *ModuleInfo, error) {
	// Hash in parallel with the compilation: a large module's hash costs milliseconds, which
	// hot reload's swap latency would otherwise pay on top of the compile.
	sumc := make(chan [sha256.Size]byte, 1)
	go func() { sumc <- sha256.Sum256(wasm) }()
	info := &ModuleInfo{Path: path, Size: len(wasm)}
	hashed := func() {
		if info.SHA256 == "" {
			sum := <-sumc
			info.SHA256 = hex.EncodeToString(sum[:])
		}
	}
	fail := func(stage string, err error) (*Module, *ModuleInfo, error) {
		hashed()
		rt.logPanic(path, stage, err)
		if rt.observer != nil {
			rt.observer.ModuleRejected(path, stage)
		}
		return nil, info, &LoadError{Path: path, Stage: stage, Err: err}
	}
	prep, stage, err := rt.prepare(wasm)
	if err != nil {
		return fail(stage, err)
	}
	code := prep.wasm
	if rt.fuel {
		var err error
		if code, err = rt.instrument(prep.wasm); err != nil {
			return fail("validate", err)
		}
	}
	start := time.Now()
	compiled, err := rt.compile(ctx, rt.eng, code)
	if err != nil {
		return fail("compile", compileError(err))
	}
	info.CompileTime = time.Since(start)
	hashed()
	exports, imports := compiled.Exports(), dropFuelImport(slices.Clone(compiled.Imports()))
	slices.SortFunc(exports, func(a, b engine.Export) int { return strings.Compare(a.Name, b.Name) })
	info.Exports, info.Imports = describeExports(exports), describeImports(imports)
	info.ABIVersion = abiVersion(exports)
	for _, e := range exports {
		switch {
		case e.Name == abi.ExportMemory && e.Kind == engine.KindMemory:
			info.MemoryMinPages = e.MinPages
		case e.Name == abi.ExportRun && e.Kind == engine.KindFunc:
			info.HasRun = true
		}
	}
	if err := checkABI(imports, exports, rt.limits.MaxMemoryPages); err != nil {
		_ = compiled.Close(ctx)
		return fail("abi", err)
	}
	if err := rt.checkMemoryBudget(info.MemoryMinPages, prep.tableBytes); err != nil {
		_ = compiled.Close(ctx)
		return fail("abi", err)
	}

	m := &Module{rt: rt, compiled: compiled, info: *info, pool: newPool(rt.limits.MaxInstances)}
	m.memCap, _ = rt.memoryCap(prep.tableBytes)
	if !rt.fuel && info.HasRun {
		m.wasm = prep.wasm // for runCode's metered compilation
	}
	start = time.Now()
	first, err := m.newInstance(ctx)
	if err != nil {
		_ = compiled.Close(ctx)
		return fail("instantiate", err)
	}
	info.InitTime = time.Since(start)
	if err := m.identify(ctx, first, info); err != nil {
		first.close(ctx)
		_ = compiled.Close(ctx)
		return fail(err.stage, err.err)
	}
	m.info = *info
	// The smoke test is part of every load (ABI §5.4), so run, watch and inspect agree.
	m.pool.idle = append(m.pool.idle, first)
	if err := m.smoke(ctx); err != nil {
		_ = m.Close(ctx)
		return fail("smoke", err)
	}
	if rt.observer != nil {
		m.meter = rt.observer.ModuleLoaded(ModuleRef{Runner: m.name, Digest: info.SHA256, Path: path}, info.CompileTime)
		m.meter.PoolSize(int(m.live.Load()))
	}
	rt.mu.Lock()
	rt.modules[m] = struct{}{}
	rt.mu.Unlock()
	return m, info, nil
}

type stageErr struct {
	stage string
	err   error
}

// identify calls name and describe on the first instance and checks what they say.
func (m *Module) identify(ctx context.Context, in *instance, info *ModuleInfo) *stageErr {
	ret, err := m.call(ctx, in, fnName, nil, m.rt.limits.CallTimeout)
	if err == nil && ret != 0 {
		err = guestError(ret, in.st.output)
	}
	if err != nil {
		return &stageErr{abi.ExportName, err}
	}
	name := string(in.st.output)
	if !abi.ValidSlot(name) {
		return &stageErr{abi.ExportName, errorf(ErrBadName, "%q must be 1-64 chars of [A-Za-z0-9._-] (it starts every run id)", name)}
	}
	m.name, info.Name = name, name
	if !m.has[fnDescribe] {
		return nil
	}
	ret, err = m.call(ctx, in, fnDescribe, nil, m.rt.limits.CallTimeout)
	if err == nil && ret != 0 {
		err = guestError(ret, in.st.output)
	}
	if err != nil {
		return &stageErr{abi.ExportDescribe, err}
	}
	d, err := abi.ParseDescription(in.st.output)
	if err != nil {
		return &stageErr{abi.ExportDescribe, errorf(ErrBadDescription, "%v", err)}
	}
	m.desc, info.Description = *d, d
	return nil
}

func head(b []byte) []byte { return b[:min(len(b), 4)] }

// compileError keeps the budget's, cancellation's and panic's own errors and marks anything
// else the engine refused as an invalid module.
func compileError(err error) error {
	if errors.Is(err, ErrCompileTimeout) || errors.Is(err, ErrCanceled) || errors.Is(err, ErrEnginePanic) {
		return err
	}
	return errorf(ErrInvalidModule, "%v", err)
}
