package sdkbench

// The figures of BENCHMARKS.md, "Supports per SDK": for each SDK, a runner whose supports only
// checks the kind, against the same check written by hand against the raw ABI (wat-raw, c-raw;
// go-raw shows a Go guest's floor), on 1 KiB and 16 KiB canonical specs, with the per-call
// deadline off (runtime.NoCallTimeout); and build and run per SDK. Each through the runtime's
// public API and straight through wazero (internal/wazerofloor), in the same run.
//
//	go test ./tests/sdkbench/ -run '^$' -bench . -benchmem -count 5        # the raw benchmarks
//	SOLTI_BENCH_TABLE=1 go test ./tests/sdkbench/ -run SDKTable -v          # the tables, medians of 5 interleaved rounds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/internal/testengine"
	"github.com/solti-wasm/solti-wasm/internal/wazerofloor"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// runner is one benchmark module: an SDK's, or a hand-written floor (raw: supports only).
type runner struct {
	name string // file name under runners/, without .wasm
	raw  bool
}

var runners = []runner{
	{"wat-raw", true}, {"c-raw", true}, {"go-raw", true},
	{"c-sdk", false}, {"rust-sdk", false}, {"assemblyscript-sdk", false}, {"go-sdk", false},
}

var sizes = []int{1 << 10, 16 << 10}

func sizeName(n int) string { return fmt.Sprintf("%dKiB", n>>10) }

// request returns a request of extension kind `kind` whose canonical JSON is exactly size
// bytes: the extension spec {"text": padding}, a timeout and two labels.
func request(tb testing.TB, kind string, size int) *router.Request {
	tb.Helper()
	mk := func(pad int) *router.Request {
		spec := fmt.Sprintf(`{"slot":"bench","kind":{"extension":{"type":%q,"spec":{"text":%q}}},"timeout":5000,"labels":{"app":"bench","team":"sdk"}}`,
			kind, strings.Repeat("x", pad))
		req, err := router.ParseRequest([]byte(spec))
		if err != nil {
			tb.Fatal(err)
		}
		return req
	}
	n := len(specJSON(tb, mk(0)))
	req := mk(size - n)
	if got := len(specJSON(tb, req)); got != size {
		tb.Fatalf("spec is %d bytes, want %d", got, size)
	}
	return req
}

func specJSON(tb testing.TB, req *router.Request) []byte {
	tb.Helper()
	b, err := req.JSON()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// hosts holds what the benchmarks of one process share: one runtime (deadline off), the
// modules it loaded, and the wazero floors (plain, and interruptible as the runtime's runs).
type hosts struct {
	rt       *runtime.Runtime
	mods     map[string]*runtime.Module
	floor    *wazerofloor.Host
	runFloor *wazerofloor.Host
	compiled map[string]wazero.CompiledModule
	runComp  map[string]wazero.CompiledModule
}

var (
	hostsOnce sync.Once
	theHosts  *hosts
	hostsErr  error
)

// raceCompileTimeout replaces the 30 s compile budget for the Go guests compiled in-process:
// under the race detector, on a loaded 2-core machine, a Go guest takes longer (44 s seen).
const raceCompileTimeout = 10 * time.Minute

func TestMain(m *testing.M) {
	// The Go guests' unmetered code (the runtime's, deadline off), compiled outside the race
	// detector into the shared test cache that getHosts' runtime reads.
	if mods, _ := filepath.Glob(filepath.Join("runners", "go-*.wasm")); testengine.Name() == "" {
		if err := testcache.Warm(testcache.Unmetered, mods...); err != nil && !errors.Is(err, testcache.ErrNoCache) {
			fmt.Fprintln(os.Stderr, "TestMain: warning: the shared compilation cache is not warm:", err)
		}
	}
	code := m.Run()
	if theHosts != nil {
		ctx := context.Background()
		_ = theHosts.rt.Close(ctx)
		_ = theHosts.floor.Close(ctx)
		_ = theHosts.runFloor.Close(ctx)
	}
	if code == 0 {
		// The hosts are closed: nothing of the tests' may still run.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "TestMain: goroutines left running: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func getHosts(tb testing.TB) *hosts {
	tb.Helper()
	hostsOnce.Do(func() {
		ctx := context.Background()
		h := &hosts{mods: map[string]*runtime.Module{}, compiled: map[string]wazero.CompiledModule{}, runComp: map[string]wazero.CompiledModule{}}
		if h.rt, hostsErr = runtime.New(ctx, runtime.Config{CacheDir: testcache.Dir(),
			Limits: runtime.Limits{CallTimeout: runtime.NoCallTimeout, CompileTimeout: raceCompileTimeout}}); hostsErr != nil {
			return
		}
		if h.floor, hostsErr = wazerofloor.New(ctx, false); hostsErr != nil {
			return
		}
		if h.runFloor, hostsErr = wazerofloor.New(ctx, true); hostsErr != nil {
			return
		}
		theHosts = h
	})
	if hostsErr != nil {
		tb.Fatal(hostsErr)
	}
	return theHosts
}

func path(name string) string { return filepath.Join("runners", name+".wasm") }

// module returns the runtime's module of a runner, loading it the first time.
func (h *hosts) module(tb testing.TB, name string) *runtime.Module {
	tb.Helper()
	if m, ok := h.mods[name]; ok {
		return m
	}
	m, err := h.rt.Load(context.Background(), path(name))
	if err != nil {
		tb.Fatal(err)
	}
	h.mods[name] = m
	return m
}

// floorModule returns the runner's module compiled by a floor host.
func (h *hosts) floorModule(tb testing.TB, name string, interruptible bool) (*wazerofloor.Host, wazero.CompiledModule) {
	tb.Helper()
	fh, cache := h.floor, h.compiled
	if interruptible {
		fh, cache = h.runFloor, h.runComp
	}
	if c, ok := cache[name]; ok {
		return fh, c
	}
	wasm, err := os.ReadFile(path(name))
	if err != nil {
		tb.Fatal(err)
	}
	c, err := fh.Compile(context.Background(), wasm)
	if err != nil {
		tb.Fatal(err)
	}
	cache[name] = c
	return fh, c
}

func (h *hosts) floorInstance(tb testing.TB, name string) *wazerofloor.Instance {
	tb.Helper()
	fh, c := h.floorModule(tb, name, false)
	in, err := fh.Instantiate(context.Background(), c)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = in.Close(context.Background()) })
	return in
}

// buildInput is the BuildInput the runtime writes for req (canonical).
func buildInput(tb testing.TB, req *router.Request) []byte {
	tb.Helper()
	b, err := json.Marshal(abi.BuildInput{RunID: "bench-bench-1", Runner: "bench", Spec: req.Spec})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func runInput(req *router.Request) *abi.RunInput {
	return &abi.RunInput{RunID: "bench-bench-1", Attempt: 1, Payload: req.Spec.Kind.Extension.Spec}
}

// --- the benchmarks ------------------------------------------------------------------------

// cpuNow is the process's CPU time. The benchmarks report it per op (cpu-ns/op) beside the
// wall time: on a shared machine the CPU time a call costs moves far less than its wall time.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs body b.N times between ResetTimer and the cpu-ns/op report.
func measure(b *testing.B, body func()) {
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuNow()
	for range b.N {
		body()
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuNow()-start)/float64(b.N), "cpu-ns/op")
}

func benchSupports(h *hosts, name string, size int, floor bool) func(*testing.B) {
	return func(b *testing.B) {
		req := request(b, "bench", size)
		if floor {
			in := h.floorInstance(b, name)
			spec := specJSON(b, req)
			measure(b, func() {
				if rc, err := in.Call("supports", spec); err != nil || rc != 1 {
					b.Fatalf("supports: %d, %v", rc, err)
				}
			})
			return
		}
		m := h.module(b, name)
		ctx := context.Background()
		measure(b, func() {
			if yes, err := m.Supports(ctx, req); err != nil || !yes {
				b.Fatalf("supports: %v, %v", yes, err)
			}
		})
	}
}

func benchBuild(h *hosts, name string, floor bool) func(*testing.B) {
	return func(b *testing.B) {
		req := request(b, "bench", 1<<10)
		if floor {
			in := h.floorInstance(b, name)
			input := buildInput(b, req)
			measure(b, func() {
				if rc, err := in.Call("build", input); err != nil || rc != 0 {
					b.Fatalf("build: %d, %v: %s", rc, err, in.Output())
				}
			})
			return
		}
		m := h.module(b, name)
		ctx := context.Background()
		args := router.BuildArgs{RunID: router.RunID{ID: "bench-bench-1"}}
		measure(b, func() {
			if _, err := m.Build(ctx, req, args); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// benchRun runs on a fresh instance each time, as the runtime does by default: through the
// runtime (its interruptible compilation for runs) and through an interruptible floor.
func benchRun(h *hosts, name string, floor bool) func(*testing.B) {
	return func(b *testing.B) {
		req := request(b, "bench", 1<<10)
		ri := runInput(req)
		ctx := context.Background()
		if floor {
			fh, c := h.floorModule(b, name, true)
			input, err := json.Marshal(ri)
			if err != nil {
				b.Fatal(err)
			}
			measure(b, func() {
				in, err := fh.Instantiate(ctx, c)
				if err != nil {
					b.Fatal(err)
				}
				if rc, err := in.Call("run", input); err != nil || rc != 0 {
					b.Fatalf("run: %d, %v: %s", rc, err, in.Output())
				}
				_ = in.Close(ctx)
			})
			return
		}
		m := h.module(b, name)
		if _, err := m.Run(ctx, ri); err != nil { // compiles the interruptible code for runs
			b.Fatal(err)
		}
		measure(b, func() {
			if _, err := m.Run(ctx, ri); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func hostName(floor bool) string {
	if floor {
		return "wazero"
	}
	return "runtime"
}

func BenchmarkSupports(b *testing.B) {
	h := getHosts(b)
	for _, r := range runners {
		for _, size := range sizes {
			for _, floor := range []bool{false, true} {
				b.Run(r.name+"/"+sizeName(size)+"/"+hostName(floor), benchSupports(h, r.name, size, floor))
			}
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	h := getHosts(b)
	for _, r := range runners {
		if r.raw {
			continue
		}
		for _, floor := range []bool{false, true} {
			b.Run(r.name+"/"+hostName(floor), benchBuild(h, r.name, floor))
		}
	}
}

func BenchmarkRun(b *testing.B) {
	h := getHosts(b)
	for _, r := range runners {
		if r.raw {
			continue
		}
		for _, floor := range []bool{false, true} {
			b.Run(r.name+"/"+hostName(floor), benchRun(h, r.name, floor))
		}
		b.Run(r.name+"/wazero+fuel", benchRunFueled(h, r.name))
	}
}

// benchRunFueled is benchRun's floor on the code the runtime runs: the fuel pass's bytes
// (runtime.InstrumentFuel), compiled without wazero's close-on-context-done, whose
// termination checks (at every function entry and loop header) the floor's runs otherwise
// pay and the runtime's metered code does not (BENCHMARKS.md, issue 10).
func benchRunFueled(h *hosts, name string) func(*testing.B) {
	return func(b *testing.B) {
		ctx := context.Background()
		wasm, err := os.ReadFile(path(name))
		if err != nil {
			b.Fatal(err)
		}
		if wasm, err = runtime.InstrumentFuel(wasm); err != nil {
			b.Fatal(err)
		}
		c, err := h.floor.Compile(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close(ctx)
		input, err := json.Marshal(runInput(request(b, "bench", 1<<10)))
		if err != nil {
			b.Fatal(err)
		}
		measure(b, func() {
			in, err := h.floor.Instantiate(ctx, c)
			if err != nil {
				b.Fatal(err)
			}
			if rc, err := in.Call("run", input); err != nil || rc != 0 {
				b.Fatalf("run: %d, %v: %s", rc, err, in.Output())
			}
			_ = in.Close(ctx)
		})
	}
}

// --- correctness and the table -------------------------------------------------------------

// TestRunnersAnswer checks what the benchmarks rely on: every runner says yes to its kind and
// no to another, on both sizes and both hosts, and the SDK runners build and run.
func TestRunnersAnswer(t *testing.T) {
	h := getHosts(t)
	ctx := context.Background()
	for _, r := range runners {
		// Go modules take seconds to compile: they are checked through the runtime only, and
		// their build and run by the conformance suite (the same SDK).
		goGuest := strings.HasPrefix(r.name, "go-")
		m := h.module(t, r.name)
		var in *wazerofloor.Instance
		if !goGuest {
			in = h.floorInstance(t, r.name)
		}
		for _, size := range sizes {
			for kind, want := range map[string]bool{"bench": true, "benchmark": false, "other": false} {
				req := request(t, kind, size)
				if yes, err := m.Supports(ctx, req); err != nil || yes != want {
					t.Errorf("%s: runtime: supports(%s, %d B) = %v, %v; want %v", r.name, kind, size, yes, err, want)
				}
				if goGuest {
					continue
				}
				rc, err := in.Call("supports", specJSON(t, req))
				if err != nil || (rc == 1) != want {
					t.Errorf("%s: wazero: supports(%s, %d B) = %d, %v; want %v", r.name, kind, size, rc, err, want)
				}
			}
		}
		if r.raw || goGuest {
			continue
		}
		req := request(t, "bench", 1<<10)
		plan, err := m.Build(ctx, req, router.BuildArgs{RunID: router.RunID{ID: "bench-bench-1"}})
		if err != nil || plan.Guest == nil || string(plan.Guest.Payload) != string(req.Spec.Kind.Extension.Spec) {
			t.Errorf("%s: build = %+v, %v; want the extension spec as payload", r.name, plan, err)
		}
		out, err := m.Run(ctx, runInput(req))
		if err != nil || string(out) != string(req.Spec.Kind.Extension.Spec) {
			t.Errorf("%s: run = %.80s, %v; want the payload back", r.name, out, err)
		}
	}
}

// rounds is how many times the table measures each cell; it prints the medians.
const rounds = 5

// table measures every benchmark of fs once per round, the rounds one after another, so that
// a change in the machine's load during the run (it is shared) falls on every cell alike
// instead of on the runners measured at that moment; it returns each one's median CPU time per
// op and its allocations.
func table(fs map[string]func(*testing.B)) (map[string]time.Duration, map[string]int64) {
	keys := slices.Sorted(maps.Keys(fs))
	ns := map[string][]float64{}
	allocs := map[string]int64{}
	for range rounds {
		for _, k := range keys {
			r := testing.Benchmark(fs[k])
			ns[k] = append(ns[k], r.Extra["cpu-ns/op"])
			allocs[k] = r.AllocsPerOp()
		}
	}
	med := map[string]time.Duration{}
	for k, v := range ns {
		slices.Sort(v)
		med[k] = time.Duration(v[len(v)/2]).Round(time.Nanosecond)
	}
	return med, allocs
}

// TestSDKTable prints BENCHMARKS.md's "Supports per SDK" tables.
func TestSDKTable(t *testing.T) {
	if os.Getenv("SOLTI_BENCH_TABLE") == "" {
		t.Skip("set SOLTI_BENCH_TABLE=1 to print BENCHMARKS.md's per-SDK tables (a few minutes)")
	}
	h := getHosts(t)
	type cell struct{ rt, floor time.Duration }
	fs := map[string]func(*testing.B){}
	key := func(what, name string, size int, floor bool) string {
		return fmt.Sprintf("%s/%s/%d/%v", what, name, size, floor)
	}
	for _, r := range runners {
		for _, size := range sizes {
			for _, floor := range []bool{false, true} {
				fs[key("supports", r.name, size, floor)] = benchSupports(h, r.name, size, floor)
			}
		}
		if !r.raw {
			for _, floor := range []bool{false, true} {
				fs[key("build", r.name, 0, floor)] = benchBuild(h, r.name, floor)
				fs[key("run", r.name, 0, floor)] = benchRun(h, r.name, floor)
			}
		}
	}
	med, allocs := table(fs)
	sup := map[string]map[int]cell{}
	for _, r := range runners {
		sup[r.name] = map[int]cell{}
		for _, size := range sizes {
			sup[r.name][size] = cell{med[key("supports", r.name, size, false)], med[key("supports", r.name, size, true)]}
		}
	}
	var out strings.Builder
	ratio := func(a, b time.Duration) string { return fmt.Sprintf("%.2fx", float64(a)/float64(b)) }
	fmt.Fprintf(&out, "\nsupports, deadline off, CPU time per call (runtime; raw wazero floor; runtime/floor):\n\n")
	fmt.Fprintf(&out, "| runner | 1 KiB | floor | ×floor | 16 KiB | floor | ×floor | 1 KiB ×wat-raw | ×c-raw | 16 KiB ×wat-raw | ×c-raw |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runners {
		s := sup[r.name]
		k1, k16 := s[1<<10], s[16<<10]
		fmt.Fprintf(&out, "| %s | %v | %v | %s | %v | %v | %s | %s | %s | %s | %s |\n", r.name,
			k1.rt, k1.floor, ratio(k1.rt, k1.floor), k16.rt, k16.floor, ratio(k16.rt, k16.floor),
			ratio(k1.rt, sup["wat-raw"][1<<10].rt), ratio(k1.rt, sup["c-raw"][1<<10].rt),
			ratio(k16.rt, sup["wat-raw"][16<<10].rt), ratio(k16.rt, sup["c-raw"][16<<10].rt))
	}
	fmt.Fprintf(&out, "\nbuild (1 KiB spec) and run (fresh instance, 1 KiB payload):\n\n| runner | build | floor | ×floor | allocs | run | floor | ×floor |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range runners {
		if r.raw {
			continue
		}
		b, bf := med[key("build", r.name, 0, false)], med[key("build", r.name, 0, true)]
		rn, rf := med[key("run", r.name, 0, false)], med[key("run", r.name, 0, true)]
		fmt.Fprintf(&out, "| %s | %v | %v | %s | %d | %v | %v | %s |\n", r.name, b, bf, ratio(b, bf), allocs[key("build", r.name, 0, false)], rn, rf, ratio(rn, rf))
	}
	t.Log(out.String())
}
