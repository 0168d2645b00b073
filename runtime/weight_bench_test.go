package runtime

// Benchmarks of weight and of fleets, each beside the raw-engine floors (internal/wazerofloor,
// and internal/wasmtimefloor with -tags wasmtime: the same module and work straight through
// the engine's API, same run; BENCHMARKS.md, "Weight"). The runtime's own sub-benchmarks run
// on the test run's engine (SOLTI_TEST_ENGINE):
//
//	BenchmarkIdleInstances   memory and time per idle instance of a one-page module, 1k and 10k
//	BenchmarkLoadFleet       loading 1000 small distinct modules: time and memory per module
//	BenchmarkRouteFleet      routing a task among 1000 loaded modules, with and without kinds
//
//	go test ./runtime/ -run '^$' -bench 'IdleInstances|LoadFleet|RouteFleet' -benchtime 3x -count 3
//	CGO_ENABLED=1 [SOLTI_TEST_ENGINE=wasmtime] go test -tags wasmtime ./runtime/ -run '^$' -bench ...

import (
	"bytes"
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/internal/wazerofloor"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

const (
	okModule     = "../tests/testdata/modules/ok.wasm"
	fleetKinds   = "../tests/testdata/modules/fleet.wasm"
	fleetNoKinds = "../tests/testdata/modules/fleet-nokinds.wasm"
	fleetSize    = 1000
)

// memSnap is the process's live heap and resident set.
type memSnap struct{ heap, rss int64 }

// snapshot collects garbage, returns freed pages to the OS and reads both, so that a
// difference of two snapshots is what the objects created between them keep.
func snapshot() memSnap {
	goruntime.GC()
	debug.FreeOSMemory()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return memSnap{heap: int64(ms.HeapAlloc), rss: rss()}
}

// rss reads the resident set size from /proc/self/statm (0 where there is none).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// reportPer reports the memory the n objects created since before keep, per object.
func reportPer(b *testing.B, before memSnap, n int, unit string) {
	after := snapshot()
	b.ReportMetric(float64(after.heap-before.heap)/float64(n), "heap-B/"+unit)
	b.ReportMetric(float64(after.rss-before.rss)/float64(n), "rss-B/"+unit)
}

// fleet returns n distinct modules made from a template by numbering "fleet-0000".
func fleet(tb testing.TB, template string, n int) [][]byte {
	tb.Helper()
	wasm, err := os.ReadFile(template)
	if err != nil {
		tb.Fatal(err)
	}
	mods := make([][]byte, n)
	for i := range mods {
		mods[i] = bytes.ReplaceAll(wasm, []byte("fleet-0000"), fmt.Appendf(nil, "fleet-%04d", i))
	}
	return mods
}

// floorHost is a raw-engine floor driven through a common interface, so that the weight and
// fleet benchmarks run the same loop on each: wazero's (internal/wazerofloor) always, and
// wasmtime's (internal/wasmtimefloor) in builds with the wasmtime tag.
type floorHost interface {
	compile(ctx context.Context, wasm []byte) (any, error)
	instantiate(ctx context.Context, compiled any) (floorInstance, error)
	close(ctx context.Context)
}

// floorInstance is one instance of a floor host.
type floorInstance interface {
	call(export string, input []byte) (int32, error)
	close(ctx context.Context)
}

// floorEngine names a floor and makes its hosts; interruptible asks for code that a deadline
// can stop (wazero's close-on-context-done; the wasmtime floor has no deadline either way).
type floorEngine struct {
	name string
	new  func(ctx context.Context, interruptible bool) (floorHost, error)
}

// floors are the floors of this build: wasmtime's is added by weight_wasmtime_bench_test.go.
var floors = []floorEngine{{"wazero", func(ctx context.Context, interruptible bool) (floorHost, error) {
	h, err := wazerofloor.New(ctx, interruptible)
	return wazeroFloor{h}, err
}}}

type wazeroFloor struct{ h *wazerofloor.Host }

func (f wazeroFloor) compile(ctx context.Context, wasm []byte) (any, error) {
	return f.h.Compile(ctx, wasm)
}

func (f wazeroFloor) instantiate(ctx context.Context, c any) (floorInstance, error) {
	in, err := f.h.Instantiate(ctx, c.(wazero.CompiledModule))
	return wazeroFloorInstance{in}, err
}

func (f wazeroFloor) close(ctx context.Context) { _ = f.h.Close(ctx) }

type wazeroFloorInstance struct{ in *wazerofloor.Instance }

func (i wazeroFloorInstance) call(export string, input []byte) (int32, error) {
	return i.in.Call(export, input)
}

func (i wazeroFloorInstance) close(ctx context.Context) { _ = i.in.Close(ctx) }

// BenchmarkIdleInstances makes n instances of a one-page module (ok.wasm) and keeps them idle:
// fresh from instantiation, and after one supports call each (a pooled instance has served at
// least one call). The floor does the same straight through wazero.
func BenchmarkIdleInstances(b *testing.B) {
	ctx := context.Background()
	wasm, err := os.ReadFile(okModule)
	if err != nil {
		b.Fatal(err)
	}
	spec := benchSpecJSON(b, "fixture")
	for _, n := range []int{1000, 10000} {
		for _, called := range []bool{false, true} {
			state := "fresh"
			if called {
				state = "called"
			}
			b.Run(fmt.Sprintf("n=%d/%s/runtime", n, state), func(b *testing.B) {
				m := benchLoad(b, okModule, true)
				ins := make([]*instance, n)
				for b.Loop() {
					before := snapshot()
					start := time.Now()
					for i := range ins {
						if ins[i], err = m.newInstance(ctx); err != nil {
							b.Fatal(err)
						}
						if called {
							if _, err := m.call(ctx, ins[i], fnSupports, spec, m.rt.limits.CallTimeout); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(n), "ns/inst")
					reportPer(b, before, n, "inst")
					for _, in := range ins {
						in.close(ctx)
					}
					clear(ins) // the next snapshot must not count them
				}
			})
			for _, fe := range floors {
				b.Run(fmt.Sprintf("n=%d/%s/%s", n, state, fe.name), func(b *testing.B) {
					h, err := fe.new(ctx, true) // the runtime's default: a call deadline
					if err != nil {
						b.Fatal(err)
					}
					defer h.close(ctx)
					c, err := h.compile(ctx, wasm)
					if err != nil {
						b.Fatal(err)
					}
					ins := make([]floorInstance, n)
					for b.Loop() {
						before := snapshot()
						start := time.Now()
						for i := range ins {
							if ins[i], err = h.instantiate(ctx, c); err != nil {
								b.Fatal(err)
							}
							if called {
								if _, err := ins[i].call("supports", spec); err != nil {
									b.Fatal(err)
								}
							}
						}
						b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(n), "ns/inst")
						reportPer(b, before, n, "inst")
						for _, in := range ins {
							in.close(ctx)
						}
						clear(ins)
					}
				})
			}
		}
	}
}

// BenchmarkLoadFleet loads 1000 small distinct modules (fleet.wasm, numbered) and keeps them
// loaded, each with its first instance: cold (no on-disk cache), warm (an on-disk cache that
// already holds them, as a restarted host finds it) and on the floor (compile, instantiate,
// name and describe straight through wazero). ns/op is the whole fleet.
func BenchmarkLoadFleet(b *testing.B) {
	ctx := context.Background()
	mods := fleet(b, fleetKinds, fleetSize)
	load := func(b *testing.B, cfg Config) {
		for b.Loop() {
			rt, err := New(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			before := snapshot()
			start, cpu := time.Now(), cpuNow()
			for i, wasm := range mods {
				if _, err := rt.LoadBytes(ctx, "fleet-"+strconv.Itoa(i)+".wasm", wasm); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuNow()-cpu).Microseconds())/fleetSize, "cpu-us/module")
			b.ReportMetric(float64(time.Since(start).Microseconds())/fleetSize, "us/module")
			reportPer(b, before, fleetSize, "module")
			_ = rt.Close(ctx)
		}
	}
	b.Run("runtime/cold", func(b *testing.B) { load(b, Config{}) })
	// Without the fuel pass (no deadline: the runtime then compiles the module's own bytes),
	// to tell the pass's price from the rest of the load (BENCHMARKS.md, issue 10).
	b.Run("runtime/cold-nofuel", func(b *testing.B) { load(b, Config{Limits: Limits{CallTimeout: NoCallTimeout}}) })
	b.Run("runtime/warm-cache", func(b *testing.B) {
		dir := b.TempDir()
		rt, err := New(ctx, Config{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		for i, wasm := range mods { // fill the on-disk cache
			if _, err := rt.LoadBytes(ctx, strconv.Itoa(i), wasm); err != nil {
				b.Fatal(err)
			}
		}
		_ = rt.Close(ctx)
		load(b, Config{CacheDir: dir})
	})
	// The wazero floor also compiles what the runtime compiles, step by step: the fuel pass's
	// bytes (+fuel), and those after the runtime's load checks (+checks+fuel: the header,
	// wasmbin's parse and validation, the table clamp), each step timed with the load.
	checker := &Runtime{limits: Limits{}.withDefaults()}
	type variant struct {
		name string
		prep func(wasm []byte) ([]byte, error)
	}
	asIs := func(wasm []byte) ([]byte, error) { return wasm, nil }
	for _, fe := range floors {
		variants := []variant{{fe.name, asIs}}
		if fe.name == "wazero" {
			variants = append(variants,
				variant{fe.name + "+fuel", InstrumentFuel},
				variant{fe.name + "+checks+fuel", func(wasm []byte) ([]byte, error) {
					p, _, err := checker.prepare(wasm)
					if err != nil {
						return nil, err
					}
					return InstrumentFuel(p.wasm)
				}})
		}
		for _, v := range variants {
			benchFloorLoad(b, fe, v.name, v.prep, mods)
		}
	}
}

// benchFloorLoad is BenchmarkLoadFleet's floor: compile (the bytes prep makes of each
// module), instantiate, name and describe, straight through the floor's engine.
func benchFloorLoad(b *testing.B, fe floorEngine, name string, prep func([]byte) ([]byte, error), mods [][]byte) {
	ctx := context.Background()
	b.Run(name, func(b *testing.B) {
		for b.Loop() {
			h, err := fe.new(ctx, true)
			if err != nil {
				b.Fatal(err)
			}
			// Kept referenced until measured: wazero's runtime holds its modules, but a
			// wasmtime module or store nobody references is freed by its finalizer.
			compiled, ins := make([]any, 0, len(mods)), make([]floorInstance, 0, len(mods))
			before := snapshot()
			start, cpu := time.Now(), cpuNow()
			for _, wasm := range mods {
				code, err := prep(wasm)
				if err != nil {
					b.Fatal(err)
				}
				c, err := h.compile(ctx, code)
				if err != nil {
					b.Fatal(err)
				}
				in, err := h.instantiate(ctx, c)
				if err != nil {
					b.Fatal(err)
				}
				for _, export := range []string{"name", "describe"} {
					if _, err := in.call(export, nil); err != nil {
						b.Fatal(err)
					}
				}
				compiled, ins = append(compiled, c), append(ins, in)
			}
			b.ReportMetric(float64((cpuNow()-cpu).Microseconds())/fleetSize, "cpu-us/module")
			b.ReportMetric(float64(time.Since(start).Microseconds())/fleetSize, "us/module")
			reportPer(b, before, fleetSize, "module")
			for _, in := range ins {
				in.close(ctx)
			}
			goruntime.KeepAlive(compiled)
			h.close(ctx)
		}
	})
}

// BenchmarkRouteFleet routes a task whose kind only the last of 1000 loaded modules handles,
// deadline off. With kinds (fleet.wasm declares its kind) the router asks one module; without
// (fleet-nokinds.wasm) it asks every module's supports. The floor does the same work straight
// through wazero: the same kind filter over a slice, then supports on one instance each.
func BenchmarkRouteFleet(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct{ name, template string }{{"kinds", fleetKinds}, {"no-kinds", fleetNoKinds}} {
		mods := fleet(b, tc.template, fleetSize)
		req := benchRouteRequest(b, fmt.Sprintf("fleet-%04d", fleetSize-1))
		b.Run(tc.name+"/runtime", func(b *testing.B) {
			rt, err := New(ctx, Config{Limits: Limits{CallTimeout: NoCallTimeout}})
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close(ctx)
			r := router.New(router.BuildContext{})
			for i, wasm := range mods {
				m, err := rt.LoadBytes(ctx, strconv.Itoa(i), wasm)
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Register(m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				rn, err := r.Route(ctx, req)
				if err != nil || rn.Name() != req.Spec.Kind.Name() {
					b.Fatalf("routed to %v, %v", rn, err)
				}
			}
		})
		for _, fe := range floors {
			b.Run(tc.name+"/"+fe.name, func(b *testing.B) {
				h, err := fe.new(ctx, false)
				if err != nil {
					b.Fatal(err)
				}
				defer h.close(ctx)
				type entry struct {
					kinds []string
					in    floorInstance
				}
				entries := make([]entry, len(mods))
				for i, wasm := range mods {
					c, err := h.compile(ctx, wasm)
					if err != nil {
						b.Fatal(err)
					}
					if entries[i].in, err = h.instantiate(ctx, c); err != nil {
						b.Fatal(err)
					}
					if tc.template == fleetKinds {
						entries[i].kinds = []string{fmt.Sprintf("fleet-%04d", i)}
					}
				}
				spec, err := req.JSON()
				if err != nil {
					b.Fatal(err)
				}
				kind := req.Spec.Kind.Name()
				b.ReportAllocs()
				for b.Loop() {
					found := -1
					for i, e := range entries {
						if len(e.kinds) > 0 && e.kinds[0] != kind {
							continue
						}
						if rc, err := e.in.call("supports", spec); err == nil && rc == 1 {
							found = i
							break
						}
					}
					if found != len(entries)-1 {
						b.Fatalf("routed to %d", found)
					}
				}
			})
		}
	}
}

// benchRouteRequest is a small task of extension kind `kind`.
func benchRouteRequest(tb testing.TB, kind string) *router.Request {
	tb.Helper()
	req, err := router.ParseRequest(fmt.Appendf(nil, `{"slot":"route","kind":{"extension":{"type":%q,"spec":{"n":1}}},"timeout":1000}`, kind))
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

// goGuests are the Go modules whose fresh instances BenchmarkGoInstance takes apart: go-raw
// (no SDK: the Go runtime alone), go-sdk (the SDK's packages: encoding/json and its
// dependencies) and go-transform (an example runner).
var goGuests = []struct{ name, path string }{
	{"go-raw", "../tests/sdkbench/runners/go-raw.wasm"},
	{"go-sdk", "../tests/sdkbench/runners/go-sdk.wasm"},
	{"go-transform", goTransformModule()},
}

// BenchmarkGoInstance splits a fresh Go guest instance into its phases, through the runtime
// and straight through wazero: "instantiate" is the engine's instantiation alone (linear
// memory, data and element segments, globals), "initialize" adds _initialize (the Go
// runtime's start and every package's init), what each new instance for a run costs.
func BenchmarkGoInstance(b *testing.B) {
	ctx := context.Background()
	for _, g := range goGuests {
		b.Run(g.name+"/instantiate/runtime", func(b *testing.B) {
			m := benchLoad(b, g.path, true)
			b.ReportAllocs()
			for b.Loop() {
				e, err := m.compiled.Instantiate(ctx, engineConfig(m))
				if err != nil {
					b.Fatal(err)
				}
				_ = e.Close(ctx)
			}
		})
		b.Run(g.name+"/initialize/runtime", func(b *testing.B) {
			m := benchLoad(b, g.path, true)
			b.ReportAllocs()
			for b.Loop() {
				in, err := m.newInstance(ctx)
				if err != nil {
					b.Fatal(err)
				}
				in.close(ctx)
			}
			b.ReportMetric(float64(m.initMemory.Load())/abi.PageSize, "pages")
		})
		for _, init := range []bool{false, true} {
			phase := "instantiate"
			if init {
				phase = "initialize"
			}
			b.Run(g.name+"/"+phase+"/wazero", func(b *testing.B) {
				wasm, err := os.ReadFile(g.path)
				if err != nil {
					b.Fatal(err)
				}
				h, err := wazerofloor.New(ctx, true)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close(ctx)
				c, err := h.Compile(ctx, wasm)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if init {
						in, err := h.Instantiate(ctx, c)
						if err != nil {
							b.Fatal(err)
						}
						_ = in.Close(ctx)
						continue
					}
					mod, err := h.InstantiateOnly(ctx, c)
					if err != nil {
						b.Fatal(err)
					}
					_ = mod.Close(ctx)
				}
			})
		}
	}
}

// engineConfig is the instance configuration newInstance uses.
func engineConfig(m *Module) engine.InstanceConfig {
	return engine.InstanceConfig{
		MaxMemoryBytes:     uint64(m.rt.limits.MaxMemoryPages) * abi.PageSize,
		MemoryCapacityHint: m.initMemory.Load(),
	}
}
