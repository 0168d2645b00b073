package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/internal/testengine"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// raceCompileTimeout replaces the 30 s compile budget for the Go guests these tests compile
// in-process: under the race detector, on a loaded 2-core machine, wazero compiles a Go guest
// several times slower than the budget assumes (over 30 s seen in CI-like runs).
const raceCompileTimeout = 10 * time.Minute

// The harness is a minimal ABI v1 host on wazero, independent of runtime/ on purpose: it
// records exactly what a guest does (return code, output bytes, log records, memory size) so
// that the table can compare languages byte for byte, and it can keep one instance for
// thousands of calls. TestConformanceLoadsInRuntime checks that the product host accepts the
// same modules.

// logRec is one record of the log import.
type logRec struct {
	Level int32  `json:"level"`
	Msg   string `json:"msg"`
}

// lineRec is one line of the emit import, split as the product host splits it (ABI v1 §4).
type lineRec struct {
	Stream int32  `json:"stream"`
	Text   string `json:"text"`
}

// callState is the state of the call in progress, reached from the host functions.
type callState struct {
	input  []byte
	output []byte
	outSet bool
	logs   []logRec
	lines  []lineRec
}

type stateKey struct{}

// harness holds one compiled runner module.
type harness struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	lang     string // the module's file name without .wasm
	path     string
	guard    guard
}

// harnesses caches one harness per module for the whole package: compiling a Go module takes
// seconds (much more under the race detector), and the tests and benchmarks share them. Each
// module compiles once, on first use, and different modules compile at once.
var (
	harnessMu sync.Mutex
	harnesses = map[string]*harnessOnce{}
)

// harnessCache is the compilation cache of every harness runtime: the machine's shared test
// cache (internal/testcache), which TestMain warms, or nil (each runtime compiles).
var harnessCache wazero.CompilationCache

type harnessOnce struct {
	once sync.Once
	h    *harness
	err  error
}

// TestMain runs the suite; the runtime's part (TestConformanceLoadsInRuntime) uses the engine
// SOLTI_TEST_ENGINE names, the harness always wazero.
func TestMain(m *testing.M) {
	if err := testengine.Select(runtime.Engines()); err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		os.Exit(2)
	}
	// wazero v1.12.0 caches its version in a global without a lock on the first compilation
	// (wazero#2532): compile an empty module alone first, as the product engine does, so
	// that the harnesses can compile in parallel.
	ctx := context.Background()
	prime := wazero.NewRuntime(ctx)
	_, _ = prime.CompileModule(ctx, []byte("\x00asm\x01\x00\x00\x00"))
	_ = prime.Close(ctx)
	if dir := testcache.Dir(); dir != "" {
		warm()
		c, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "TestMain:", err)
			os.Exit(2)
		}
		harnessCache = c
	}

	code := m.Run()
	for _, ho := range harnesses {
		if ho.h != nil {
			_ = ho.h.rt.Close(context.Background())
		}
	}
	if harnessCache != nil {
		_ = harnessCache.Close(ctx)
	}
	if code == 0 {
		// The harnesses are closed: nothing of the tests' may still run.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "TestMain: goroutines left running: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// warm compiles the modules the suite loads into the shared test cache, outside the race
// detector: the harness's plain and fueled bytes of every conformance and example runner, and
// the product's bytes of the conformance runners (TestConformanceLoadsInRuntime). A failure
// only costs time: the tests then compile what they need.
func warm() {
	mods, _ := filepath.Glob(filepath.Join("runners", "*.wasm"))
	examples, _ := filepath.Glob(filepath.Join("..", "..", "examples", "runners", "*.wasm"))
	err := testcache.Warm(testcache.Plain|testcache.Fueled, append(slices.Clone(mods), examples...)...)
	if err == nil && testengine.Name() == "" {
		err = testcache.Warm(testcache.Product, mods...)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain: warning: the shared compilation cache is not warm:", err)
	}
}

// newHarness returns the harness of the module at path, compiling it the first time.
func newHarness(t testing.TB, path string) *harness {
	t.Helper()
	return cachedHarness(t, path, func() (*harness, error) { return loadHarness(path) })
}

// cachedHarness returns the harness cached under key, making it with load the first time;
// different keys load at once.
func cachedHarness(t testing.TB, key string, load func() (*harness, error)) *harness {
	t.Helper()
	harnessMu.Lock()
	ho, ok := harnesses[key]
	if !ok {
		ho = &harnessOnce{}
		harnesses[key] = ho
	}
	harnessMu.Unlock()
	ho.once.Do(func() { ho.h, ho.err = load() })
	if ho.err != nil {
		t.Fatal(ho.err)
	}
	return ho.h
}

func loadHarness(path string) (*harness, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return loadHarnessBytes(path, wasm, guardOff)
}

// guard is how a harness bounds a guest's CPU.
type guard int

const (
	guardOff  guard = iota // not at all
	guardFuel              // the product host's fuel pass (runtime.InstrumentFuel), unlimited fuel
	guardCtx               // wazero's close-on-context-done, a 1 s timeout per call: the old guard
)

// loadHarnessBytes makes a harness of wasm with guard g.
func loadHarnessBytes(path string, wasm []byte, g guard) (*harness, error) {
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfig().WithMemoryLimitPages(abi.DefaultMaxMemoryPages).WithCloseOnContextDone(g == guardCtx)
	if harnessCache != nil {
		cfg = cfg.WithCompilationCache(harnessCache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if g == guardFuel {
		var err error
		if wasm, err = runtime.InstrumentFuel(wasm); err != nil {
			_ = rt.Close(ctx)
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		// Unlimited: every refill grants 2^62 units, which no scenario comes near using.
		_, err = rt.NewHostModuleBuilder("solti_fuel").NewFunctionBuilder().
			WithGoFunction(api.GoFunc(func(_ context.Context, stack []uint64) { stack[0] = 1 << 62 }),
				[]api.ValueType{api.ValueTypeI64}, []api.ValueType{api.ValueTypeI64}).
			Export("refill").Instantiate(ctx)
		if err != nil {
			_ = rt.Close(ctx)
			return nil, err
		}
	}
	i32 := api.ValueTypeI32
	var err error
	_, err = rt.NewHostModuleBuilder("solti").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
		st := ctx.Value(stateKey{}).(*callState)
		if !m.Memory().Write(api.DecodeU32(stack[0]), st.input) {
			panic("pointer out of guest memory")
		}
	}), []api.ValueType{i32}, nil).Export("input").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
		st := ctx.Value(stateKey{}).(*callState)
		ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
		if n > abi.DefaultMaxOutputBytes {
			panic("output too large")
		}
		b, ok := m.Memory().Read(ptr, n)
		if !ok {
			panic("pointer out of guest memory")
		}
		st.output, st.outSet = append(st.output[:0], b...), true
	}), []api.ValueType{i32, i32}, nil).Export("output").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
		st := ctx.Value(stateKey{}).(*callState)
		b, ok := m.Memory().Read(api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
		if !ok {
			panic("pointer out of guest memory")
		}
		st.logs = append(st.logs, logRec{api.DecodeI32(stack[0]), string(b)})
	}), []api.ValueType{i32, i32, i32}, nil).Export("log").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
		st := ctx.Value(stateKey{}).(*callState)
		b, ok := m.Memory().Read(api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
		if !ok {
			panic("pointer out of guest memory")
		}
		st.lines = append(st.lines, splitLines(api.DecodeI32(stack[0]), b)...)
	}), []api.ValueType{i32, i32, i32}, nil).Export("emit").
		Instantiate(ctx)
	if err == nil {
		var compiled wazero.CompiledModule
		if compiled, err = rt.CompileModule(ctx, wasm); err == nil {
			return &harness{rt: rt, compiled: compiled, lang: strings.TrimSuffix(filepath.Base(path), ".wasm"), path: path, guard: g}, nil
		}
	}
	_ = rt.Close(ctx)
	return nil, fmt.Errorf("%s: %w", path, err)
}

// splitLines splits the bytes of one emit call into lines as ABI v1 §4 says: at newlines, a
// trailing newline ending the last line; stream 2 is stderr, any other value stdout. (The
// harness has no line limits: the table stays far below them.)
func splitLines(stream int32, b []byte) []lineRec {
	if stream != abi.StreamStderr {
		stream = abi.StreamStdout
	}
	s := strings.TrimSuffix(string(b), "\n")
	var out []lineRec
	for _, l := range strings.Split(s, "\n") {
		out = append(out, lineRec{stream, l})
	}
	return out
}

// instance is one instantiated runner.
type instance struct {
	mod    api.Module
	guard  guard
	stderr bytes.Buffer // WASI standard error: a Go guest's runtime writes its fatal errors there
}

func (h *harness) instantiate(t testing.TB) *instance {
	t.Helper()
	in := &instance{guard: h.guard}
	mod, err := h.rt.InstantiateModule(context.Background(), h.compiled, moduleConfig(in))
	if err != nil {
		t.Fatalf("instantiating %s: %v", h.path, err)
	}
	t.Cleanup(func() { _ = mod.Close(context.Background()) })
	in.mod = mod
	return in
}

// moduleConfig instantiates as the product host does: _initialize first (Go), anonymous (so
// that instances of one module coexist), standard error kept for the failure messages.
func moduleConfig(in *instance) wazero.ModuleConfig {
	return wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize").WithStderr(&in.stderr)
}

// result is what one export call did.
type result struct {
	rc     int32
	trap   error // non-nil: the call trapped (or exited)
	output []byte
	outSet bool
	logs   []logRec
	lines  []lineRec
}

func (in *instance) call(export string, input []byte) result {
	st := &callState{input: input}
	ctx := context.WithValue(context.Background(), stateKey{}, st)
	if in.guard == guardCtx {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Second)
		defer cancel()
	}
	f := in.mod.ExportedFunction(export)
	if f == nil {
		return result{trap: fmt.Errorf("no export %q", export)}
	}
	var params []uint64
	if len(f.Definition().ParamTypes()) == 1 {
		params = []uint64{uint64(len(input))}
	}
	res, err := f.Call(ctx, params...)
	r := result{trap: err, output: st.output, outSet: st.outSet, logs: st.logs, lines: st.lines}
	if err != nil && in.stderr.Len() > 0 {
		r.trap = fmt.Errorf("%w\nstderr: %s", err, clip(in.stderr.Bytes()[:min(in.stderr.Len(), 200)]))
	}
	if err == nil && len(res) == 1 {
		r.rc = int32(res[0])
	}
	return r
}

func (in *instance) pages() uint32 { return in.mod.Memory().Size() / 65536 }

// diffJSON compares two JSON documents and names every field that differs ("payload.text:
// got …, want …"); numbers compare by value and key order does not matter.
func diffJSON(got, want []byte) []string {
	var g, w any
	if err := unmarshal(got, &g); err != nil {
		return []string{fmt.Sprintf("output is not JSON (%v): %s", err, clip(got))}
	}
	if err := unmarshal(want, &w); err != nil {
		return []string{fmt.Sprintf("the table's expectation is not JSON: %v", err)}
	}
	var out []string
	diffValue("", g, w, &out)
	return out
}

func unmarshal(b []byte, v any) error {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

func diffValue(path string, g, w any, out *[]string) {
	name := path
	if name == "" {
		name = "(root)"
	}
	switch wv := w.(type) {
	case map[string]any:
		gv, ok := g.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: got %s, want an object", name, show(g)))
			return
		}
		keys := map[string]bool{}
		for k := range wv {
			keys[k] = true
		}
		for k := range gv {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			p := k
			if path != "" {
				p = path + "." + k
			}
			gk, gok := gv[k]
			wk, wok := wv[k]
			switch {
			case !gok:
				*out = append(*out, fmt.Sprintf("%s: missing, want %s", p, show(wk)))
			case !wok:
				*out = append(*out, fmt.Sprintf("%s: unexpected field, got %s", p, show(gk)))
			default:
				diffValue(p, gk, wk, out)
			}
		}
	case []any:
		gv, ok := g.([]any)
		if !ok || len(gv) != len(wv) {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", name, show(g), show(w)))
			return
		}
		for i := range wv {
			diffValue(fmt.Sprintf("%s[%d]", path, i), gv[i], wv[i], out)
		}
	case json.Number:
		gv, ok := g.(json.Number)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", name, show(g), show(w)))
			return
		}
		gf, _ := gv.Float64()
		wf, _ := wv.Float64()
		if gv != wv && gf != wf {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", name, gv, wv))
		}
	default:
		if g != w {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", name, show(g), show(w)))
		}
	}
}

// show prints a value for a diff, clipped: a 512 KiB string must not flood the log.
func show(v any) string {
	b, _ := json.Marshal(v)
	return clip(b)
}

func clip(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%s… (%d bytes)", b[:200], len(b))
	}
	return string(b)
}

// runners lists the committed conformance modules: one per language.
func runners(t testing.TB) []string {
	t.Helper()
	mods, err := filepath.Glob(filepath.Join("runners", "*.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) == 0 {
		t.Fatal("no conformance modules under tests/conformance/runners/")
	}
	return mods
}
