package fuel

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/runtime/internal/wasmbin"
)

// wat compiles testdata/name.wat with wat2wasm (names kept). Without wat2wasm the test is
// skipped, and fails under CI=true.
func wat(t testing.TB, name string) []byte {
	t.Helper()
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		msg := "wat2wasm is not on PATH (.ci/run shows how to install it): test skipped"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	out := filepath.Join(t.TempDir(), name+".wasm")
	if msg, err := exec.Command(tool, "--debug-names", "--enable-tail-call", filepath.Join("testdata", name+".wat"), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var errExhausted = errors.New("test meter: fuel exhausted")

// meter is a host for instrumented modules, as the runtime's: budget in all, granted in
// slices.
type meter struct {
	budget, slice, granted int64
	refills                int
}

func (m *meter) refill(counter int64) (int64, error) {
	m.refills++
	used := m.granted - counter
	if used >= m.budget {
		return 0, errExhausted
	}
	s := min(m.slice, m.budget-used)
	m.granted = used + s
	return s, nil
}

type meterKey struct{}

// host is a wazero runtime with the env imports renumber.wat uses and the refill import; the
// meter of a call travels in its context.
type host struct {
	rt wazero.Runtime
}

func newHost(t testing.TB) *host {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2|experimental.CoreFeaturesTailCall))
	t.Cleanup(func() { _ = rt.Close(ctx) })
	h := &host{rt: rt}
	h.register(t)
	return h
}

// register instantiates the host modules in h's runtime.
func (h *host) register(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	rt := h.rt
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	_, err := rt.NewHostModuleBuilder("env").
		NewFunctionBuilder().WithGoFunction(api.GoFunc(func(_ context.Context, s []uint64) {
		s[0] = uint64(uint32(s[0]) + uint32(s[1]))
	}), []api.ValueType{i32, i32}, []api.ValueType{i32}).Export("add").
		NewFunctionBuilder().WithGoFunction(api.GoFunc(func(_ context.Context, s []uint64) {
		s[0] = uint64(2 * uint32(s[0]))
	}), []api.ValueType{i32}, []api.ValueType{i32}).Export("twice").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.NewHostModuleBuilder(ImportModule).
		NewFunctionBuilder().WithGoFunction(api.GoFunc(func(ctx context.Context, s []uint64) {
		m := ctx.Value(meterKey{}).(*meter)
		next, err := m.refill(int64(s[0]))
		if err != nil {
			panic(err)
		}
		s[0] = uint64(next)
	}), []api.ValueType{i64}, []api.ValueType{i64}).Export(ImportName).
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
}

// instance instantiates wasm with the meter m (start function included).
func (h *host) instance(t testing.TB, wasm []byte, m *meter) api.Module {
	t.Helper()
	ctx := context.WithValue(context.Background(), meterKey{}, m)
	mod, err := h.rt.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mod.Close(context.Background()) })
	return mod
}

// call calls export with a fresh account of budget (slice 1000) and returns the results,
// the fuel used and the error.
func call(mod api.Module, budget int64, export string, params ...uint64) ([]uint64, int64, error) {
	return callSlice(mod, budget, 1000, export, params...)
}

// callSlice is call with slices of slice units.
func callSlice(mod api.Module, budget, slice int64, export string, params ...uint64) ([]uint64, int64, error) {
	m := &meter{budget: budget, slice: slice}
	g, _ := mod.ExportedGlobal(GlobalExport).(api.MutableGlobal)
	if g != nil {
		m.granted = min(m.slice, budget)
		g.Set(uint64(m.granted))
	}
	ctx := context.WithValue(context.Background(), meterKey{}, m)
	res, err := mod.ExportedFunction(export).Call(ctx, params...)
	var used int64
	if g != nil {
		used = m.granted - int64(g.Get())
	}
	return res, used, err
}

func TestInstrumentKeepsBehaviour(t *testing.T) {
	plain := wat(t, "renumber")
	fueled, err := Instrument(plain, DefaultCosts())
	if err != nil {
		t.Fatal(err)
	}
	if err := wasmbin.Check(fueled, wasmbin.Limits{}); err != nil {
		t.Fatalf("instrumented module fails the pre-validator: %v", err)
	}
	h := newHost(t)
	unl := &meter{budget: math.MaxInt64, slice: 1000}
	p, f := h.instance(t, plain, nil), h.instance(t, fueled, unl)
	for _, c := range []struct {
		export string
		params []uint64
	}{
		{"indirect", []uint64{0, 41}}, {"indirect", []uint64{1, 41}}, {"indirect", []uint64{2, 21}},
		{"indirect", []uint64{3, 9}}, {"direct", []uint64{5}}, {"reffunc", []uint64{7}},
		{"started", nil}, {"loop", []uint64{100}}, {"fib", []uint64{15}}, {"const", nil},
		{"grow", []uint64{0}}, {"indirect", []uint64{9, 1}},
	} {
		want, werr := p.ExportedFunction(c.export).Call(context.Background(), c.params...)
		got, _, gerr := call(f, math.MaxInt64, c.export, c.params...)
		if (werr == nil) != (gerr == nil) || (werr != nil && firstLine(werr) != firstLine(gerr)) {
			t.Errorf("%s%v: error %v, uninstrumented %v", c.export, c.params, gerr, werr)
		}
		if len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
			t.Errorf("%s%v = %v, uninstrumented %v", c.export, c.params, got, want)
		}
	}
	// The start function ran once, metered: it asked for its first slice.
	if unl.refills != 1 {
		t.Errorf("the start function asked for fuel %d times, want 1", unl.refills)
	}
	// The names follow their functions.
	m, err := wasmbin.Parse(fueled, wasmbin.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[uint32]string{}
	for _, n := range m.Names.Functions {
		names[n.Index] = n.Name
	}
	if names[0] != "add" || names[1] != "twice" || names[3] != "inc" || names[5] != "sq" {
		t.Errorf("function names after renumbering: %v", names)
	}
	tmpAt := -1
	for _, l := range m.Names.Locals {
		for _, n := range l.Names {
			if n.Name == "tmp" {
				tmpAt = int(l.Index)
			}
		}
	}
	if tmpAt != 3 { // $inc's local: $inc was function 2
		t.Errorf("local $tmp belongs to function %d, want 3 (renumbered $inc)", tmpAt)
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func TestFuelCounts(t *testing.T) {
	fueled, err := Instrument(wat(t, "renumber"), DefaultCosts())
	if err != nil {
		t.Fatal(err)
	}
	mod := newHost(t).instance(t, fueled, &meter{budget: math.MaxInt64, slice: 1000})
	used := func(export string, params ...uint64) int64 {
		t.Helper()
		_, u, err := call(mod, math.MaxInt64, export, params...)
		if err != nil {
			t.Fatalf("%s: %v", export, err)
		}
		return u
	}
	// i32.const, i32.const, i32.add; end is free.
	if u := used("const"); u != 3 {
		t.Errorf("const used %d, want 3", u)
	}
	// Per iteration: local.get, i32.eqz, br_if (3) and 9 more to br, charged together at the
	// loop header; the exit pays the same 12 (br_if's continuation is charged in advance), then
	// the final local.get (1).
	for _, n := range []uint64{0, 1, 10, 1000} {
		if u, want := used("loop", n), int64(12*n+13); u != want {
			t.Errorf("loop(%d) used %d, want %d", n, u, want)
		}
	}
	// Deterministic: the same call costs the same every time.
	first := used("fib", 20)
	for i := 0; i < 10; i++ {
		if u := used("fib", 20); u != first {
			t.Fatalf("fib(20) used %d, then %d", first, u)
		}
	}
	// fill charges one unit per 64 bytes on top of its static cost.
	if a, b := used("fill", 0), used("fill", 64000); b-a != 1000 {
		t.Errorf("fill of 64000 bytes cost %d more than fill of 0, want 1000", b-a)
	}
}

func TestFuelStops(t *testing.T) {
	fueled, err := Instrument(wat(t, "renumber"), DefaultCosts())
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t)
	const budget = 100_000
	for _, c := range []struct {
		name   string
		export string
		params []uint64
	}{
		{"tight loop", "spin", nil},
		{"loop-free recursion", "fib", []uint64{40}},
		{"memory.grow loop", "grow", []uint64{0}},
		{"bulk memory", "fill", []uint64{65536 * 64}}, // 64 pages: 65,536 units
	} {
		t.Run(c.name, func(t *testing.T) {
			mod := h.instance(t, fueled, &meter{budget: math.MaxInt64, slice: 1000})
			if c.name == "bulk memory" {
				if _, err := mod.ExportedFunction("grow").Call(context.WithValue(context.Background(), meterKey{}, &meter{budget: math.MaxInt64, slice: 1000}), 0); err != nil {
					t.Fatal(err)
				}
				// 1 page only: fill of 4 MiB traps out of bounds after being charged, so the
				// charge must come first to stop it with budget 1,000.
				_, _, err := call(mod, 1000, c.export, c.params...)
				if !errors.Is(err, errExhausted) {
					t.Fatalf("fill with budget 1000: %v, want the meter's exhaustion", err)
				}
				return
			}
			_, used, err := call(mod, budget, c.export, c.params...)
			if !errors.Is(err, errExhausted) {
				t.Fatalf("%s with budget %d: %v, want the meter's exhaustion", c.export, budget, err)
			}
			// Stopped at the first test past the budget: the overshoot is one block's cost
			// (a memory.grow's block costs 201 and more).
			if used < budget || used > budget+300 {
				t.Errorf("stopped after %d units, budget %d", used, budget)
			}
		})
	}
}

func TestInstrumentRefuses(t *testing.T) {
	plain := wat(t, "renumber")
	once, err := Instrument(plain, DefaultCosts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Instrument(once, DefaultCosts()); !errors.Is(err, ErrReserved) {
		t.Errorf("instrumenting twice: %v, want ErrReserved", err)
	}
	m, _ := wasmbin.Parse(plain, wasmbin.Limits{})
	ims := append(append([]wasmbin.Import(nil), m.Imports...), wasmbin.Import{Module: ImportModule, Name: "x", Kind: wasmbin.ExternFunc})
	m.SetSection(wasmbin.SectionImport, wasmbin.EncodeImports(ims))
	if _, err := Instrument(m.Encode(), DefaultCosts()); !errors.Is(err, ErrReserved) || !strings.Contains(err.Error(), "solti_fuel.x") {
		t.Errorf("module importing from %s: %v, want ErrReserved naming the import", ImportModule, err)
	}
	m, _ = wasmbin.Parse(plain, wasmbin.Limits{})
	m.SetSection(wasmbin.SectionExport, wasmbin.EncodeExports(append(m.Exports, wasmbin.Export{Name: GlobalExport, Kind: wasmbin.ExternFunc})))
	if _, err := Instrument(m.Encode(), DefaultCosts()); !errors.Is(err, ErrReserved) {
		t.Errorf("module exporting %q: %v, want ErrReserved", GlobalExport, err)
	}
	if _, err := Instrument(plain, Costs{}); !errors.Is(err, ErrCosts) || !strings.Contains(err.Error(), "Instr") {
		t.Errorf("zero cost table: %v, want ErrCosts naming Instr", err)
	}
	if _, err := Instrument(plain, Costs{Instr: 1, BulkByteShift: 64}); !errors.Is(err, ErrCosts) {
		t.Errorf("shift of 64: %v, want ErrCosts", err)
	}
	if _, err := Instrument(plain[:len(plain)/2], DefaultCosts()); !errors.Is(err, wasmbin.ErrMalformed) {
		t.Errorf("truncated module: %v, want wasmbin.ErrMalformed", err)
	}
}

// The pass records its version and cost table, so the bytes (the compile cache's key) change
// with either.
func TestInstrumentRecordsCosts(t *testing.T) {
	plain := wat(t, "renumber")
	a, _ := Instrument(plain, DefaultCosts())
	b, _ := Instrument(plain, DefaultCosts())
	c := DefaultCosts()
	c.GrowPage++
	d, _ := Instrument(plain, c)
	if string(a) != string(b) {
		t.Error("the pass is not deterministic")
	}
	if string(a) == string(d) {
		t.Error("another cost table gave the same bytes")
	}
	if !strings.Contains(string(a), Section(DefaultCosts())) {
		t.Errorf("no %q custom section", SectionName)
	}
}

// exampleModules are the committed example and conformance runners.
func exampleModules(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"../../../examples/runners/*.wasm", "../../../tests/conformance/runners/*.wasm"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d example modules", len(out))
	}
	return out
}

// Every example instruments into a module wazero compiles. wazero decodes and validates the
// instrumented bytes in every case; the machine code comes from the shared test cache, which
// the test first warms outside the race detector with the same bytes (runtime.InstrumentFuel
// is Instrument with DefaultCosts), compiled by the same wazero compiler. Without a shared
// cache, the interpreter compiles them (the compiler takes minutes for a Go guest under -race).
func TestInstrumentExamples(t *testing.T) {
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfigInterpreter()
	if dir := testcache.Dir(); dir != "" {
		if err := testcache.Warm(testcache.Fueled, exampleModules(t)...); err != nil {
			t.Logf("the shared compilation cache is not warm (%v): the interpreter compiles", err)
		} else {
			cache, err := wazero.NewCompilationCacheWithDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer cache.Close(ctx)
			cfg = wazero.NewRuntimeConfigCompiler().WithCompilationCache(cache)
		}
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg.WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(ctx)
	for _, path := range exampleModules(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out, err := Instrument(b, DefaultCosts())
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if testing.Short() && len(b) > 1<<20 {
			continue
		}
		c, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Errorf("%s: instrumented module does not compile: %v", path, err)
			continue
		}
		_ = c.Close(ctx)
		t.Logf("%s: %d -> %d bytes (+%.0f%%)", filepath.Base(path), len(b), len(out), 100*float64(len(out)-len(b))/float64(len(b)))
	}
}

// Every loop shape the pass wraps (or keeps) computes what it computed, and uses the same
// fuel whether its slices are large or so small that the refill path runs every few
// iterations; a call that traps reports the fuel used up to its last refill, call or return,
// which is less than one slice short and the same on every run.
func TestLoopShapes(t *testing.T) {
	t.Parallel()
	plain := wat(t, "loops")
	fueled, err := Instrument(plain, DefaultCosts())
	if err != nil {
		t.Fatal(err)
	}
	if err := wasmbin.Check(fueled, wasmbin.Limits{}); err != nil {
		t.Fatalf("instrumented module fails the pre-validator: %v", err)
	}
	h := newHost(t)
	p := h.instance(t, plain, nil)
	f := h.instance(t, fueled, &meter{budget: math.MaxInt64, slice: 1000})
	for _, c := range []struct {
		export string
		arg    uint64
	}{
		{"nested", 0}, {"nested", 1}, {"nested", 7}, {"nested", 500}, {"result", 1}, {"result", 300},
		{"param", 1}, {"param", 250}, {"types", 1}, {"types", 300}, {"brfunc", 3}, {"brfunc", 200}, {"calls", 0}, {"calls", 90},
	} {
		want, werr := p.ExportedFunction(c.export).Call(context.Background(), c.arg)
		var wantAcc []uint64
		if c.export == "nested" {
			wantAcc, _ = p.ExportedFunction("acc").Call(context.Background())
		}
		var used []int64
		for _, slice := range []int64{1_000_000, 64} {
			got, u, gerr := callSlice(f, math.MaxInt64, slice, c.export, c.arg)
			if werr != nil || gerr != nil {
				t.Fatalf("%s(%d): %v, uninstrumented %v", c.export, c.arg, gerr, werr)
			}
			if len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
				t.Errorf("%s(%d) = %v with slices of %d, uninstrumented %v", c.export, c.arg, got, slice, want)
			}
			if c.export == "nested" {
				if acc, _, _ := call(f, math.MaxInt64, "acc"); acc[0] != wantAcc[0] {
					t.Errorf("nested(%d) left %d, uninstrumented %d", c.arg, acc[0], wantAcc[0])
				}
			}
			used = append(used, u)
		}
		if used[0] != used[1] || used[0] <= 0 {
			t.Errorf("%s(%d) used %d units with large slices and %d with slices of 64", c.export, c.arg, used[0], used[1])
		}
	}
	// The loop with parameters keeps the inline test and is stopped like the others.
	if _, u, err := call(f, 10_000, "param", 1<<30); !errors.Is(err, errExhausted) || u < 10_000 || u > 10_100 {
		t.Errorf("param(2^30) with budget 10000: used %d, %v; want the meter's exhaustion", u, err)
	}
	// A trap: 100/n traps when n reaches 0, after n iterations of 11 units.
	const n = 1000
	_, werr := p.ExportedFunction("trap").Call(context.Background(), n)
	for _, slice := range []int64{1000, 64} {
		var first int64
		for i := 0; i < 3; i++ {
			_, u, err := callSlice(f, math.MaxInt64, slice, "trap", n)
			if err == nil || firstLine(err) != firstLine(werr) {
				t.Fatalf("trap(%d): %v, uninstrumented %v", n, err, werr)
			}
			charged := int64(11*(n+1) + 1) // the first block's charge at entry, then one per iteration
			if u > charged || u <= charged-slice-11 {
				t.Errorf("trap(%d) with slices of %d reports %d units, want at most %d and less than a slice short", n, slice, u, charged)
			}
			if i == 0 {
				first = u
			} else if u != first {
				t.Errorf("trap(%d) with slices of %d reports %d units, then %d", n, slice, first, u)
			}
		}
	}
}
