//go:build wasmtime

package sdkbench

// The wasmtime floor of "Supports per SDK": the same runners and specs straight through
// wasmtime-go (internal/wasmtimefloor), beside the wazero floor, in the same run:
//
//	CGO_ENABLED=1 SOLTI_BENCH_TABLE=1 go test -tags wasmtime ./tests/sdkbench/ -run SDKTableWasmtime -v

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/internal/wasmtimefloor"
	"github.com/solti-wasm/solti-wasm/runtime"
)

var (
	wtOnce sync.Once
	wtHost *wasmtimefloor.Host
	wtErr  error
	wtMods = map[string]*wasmtime.Module{}
)

// wtInstance returns a new wasmtime floor instance of a runner (the module compiled once),
// closed with the test.
func wtInstance(tb testing.TB, name string) *wasmtimefloor.Instance {
	tb.Helper()
	in := wtNewInstance(tb, name)
	tb.Cleanup(in.Close)
	return in
}

// wtNewInstance returns a new wasmtime floor instance of a runner; the caller closes it.
func wtNewInstance(tb testing.TB, name string) *wasmtimefloor.Instance {
	tb.Helper()
	wtOnce.Do(func() { wtHost, wtErr = wasmtimefloor.New() })
	if wtErr != nil {
		tb.Fatal(wtErr)
	}
	m, ok := wtMods[name]
	if !ok {
		wasm, err := os.ReadFile(path(name))
		if err != nil {
			tb.Fatal(err)
		}
		if m, err = wtHost.Compile(wasm); err != nil {
			tb.Fatal(err)
		}
		wtMods[name] = m
	}
	in, err := wtHost.Instantiate(m)
	if err != nil {
		tb.Fatal(err)
	}
	return in
}

// benchBuildWasmtime is benchBuild's floor on wasmtime: build on one instance.
func benchBuildWasmtime(name string) func(*testing.B) {
	return func(b *testing.B) {
		in := wtInstance(b, name)
		input := buildInput(b, request(b, "bench", 1<<10))
		measure(b, func() {
			if rc, err := in.Call("build", input); err != nil || rc != 0 {
				b.Fatalf("build: %d, %v: %s", rc, err, in.Output())
			}
		})
	}
}

// benchRunWasmtime is benchRun's floor on wasmtime: run on a fresh instance each time.
func benchRunWasmtime(name string) func(*testing.B) {
	return func(b *testing.B) {
		input, err := json.Marshal(runInput(request(b, "bench", 1<<10)))
		if err != nil {
			b.Fatal(err)
		}
		wtNewInstance(b, name).Close() // compiles the module outside the measurement
		measure(b, func() {
			in := wtNewInstance(b, name)
			if rc, err := in.Call("run", input); err != nil || rc != 0 {
				b.Fatalf("run: %d, %v: %s", rc, err, in.Output())
			}
			in.Close()
		})
	}
}

func benchSupportsWasmtime(name string, size int) func(*testing.B) {
	return func(b *testing.B) {
		in := wtInstance(b, name)
		spec := specJSON(b, request(b, "bench", size))
		measure(b, func() {
			if rc, err := in.Call("supports", spec); err != nil || rc != 1 {
				b.Fatalf("supports: %d, %v", rc, err)
			}
		})
	}
}

func BenchmarkSupportsWasmtime(b *testing.B) {
	for _, r := range runners {
		for _, size := range sizes {
			b.Run(r.name+"/"+sizeName(size)+"/wasmtime", benchSupportsWasmtime(r.name, size))
		}
	}
}

func BenchmarkBuildWasmtime(b *testing.B) {
	for _, r := range runners {
		if !r.raw {
			b.Run(r.name+"/wasmtime", benchBuildWasmtime(r.name))
		}
	}
}

func BenchmarkRunWasmtime(b *testing.B) {
	wt := wasmtimeRuntime(b)
	for _, r := range runners {
		if !r.raw {
			b.Run(r.name+"/runtime-wasmtime", benchRun(wt, r.name, false))
			b.Run(r.name+"/wasmtime", benchRunWasmtime(r.name))
			b.Run(r.name+"/wasmtime-no-images", benchRunWasmtimeNoImages(r.name))
		}
	}
}

// benchRunWasmtimeNoImages is benchRunWasmtime on a floor with wasmtime's copy-on-write
// memory images off, as the runtime's wasmtime engine has them: what the images are worth
// to a fresh instance's run (BENCHMARKS.md, issue 10).
func benchRunWasmtimeNoImages(name string) func(*testing.B) {
	return func(b *testing.B) {
		h, err := wasmtimefloor.NewWithoutMemoryImages()
		if err != nil {
			b.Fatal(err)
		}
		wasm, err := os.ReadFile(path(name))
		if err != nil {
			b.Fatal(err)
		}
		m, err := h.Compile(wasm)
		if err != nil {
			b.Fatal(err)
		}
		input, err := json.Marshal(runInput(request(b, "bench", 1<<10)))
		if err != nil {
			b.Fatal(err)
		}
		measure(b, func() {
			in, err := h.Instantiate(m)
			if err != nil {
				b.Fatal(err)
			}
			if rc, err := in.Call("run", input); err != nil || rc != 0 {
				b.Fatalf("run: %d, %v: %s", rc, err, in.Output())
			}
			in.Close()
		})
	}
}

// TestRunnersAnswerWasmtime checks the wasmtime floor as TestRunnersAnswer checks wazero's.
func TestRunnersAnswerWasmtime(t *testing.T) {
	for _, r := range runners {
		in := wtInstance(t, r.name)
		for _, size := range sizes {
			for kind, want := range map[string]bool{"bench": true, "benchmark": false, "other": false} {
				rc, err := in.Call("supports", specJSON(t, request(t, kind, size)))
				if err != nil || (rc == 1) != want {
					t.Errorf("%s: wasmtime: supports(%s, %d B) = %d, %v; want %v", r.name, kind, size, rc, err, want)
				}
			}
		}
	}
}

// TestSDKTableWasmtime prints supports, build and run per SDK through the runtime on each
// engine beside that engine's floor (internal/wazerofloor, internal/wasmtimefloor), medians of
// interleaved rounds.
func TestSDKTableWasmtime(t *testing.T) {
	if os.Getenv("SOLTI_BENCH_TABLE") == "" {
		t.Skip("set SOLTI_BENCH_TABLE=1 to print the wasmtime floor table")
	}
	h, wt := getHosts(t), wasmtimeRuntime(t)
	fs := map[string]func(*testing.B){}
	key := func(host, what, name string, size int) string {
		return fmt.Sprintf("%s/%s/%s/%d", host, what, name, size)
	}
	for _, r := range runners {
		for _, size := range sizes {
			fs[key("runtime", "supports", r.name, size)] = benchSupports(h, r.name, size, false)
			fs[key("runtime-wasmtime", "supports", r.name, size)] = benchSupports(wt, r.name, size, false)
			fs[key("wazero", "supports", r.name, size)] = benchSupports(h, r.name, size, true)
			fs[key("wasmtime", "supports", r.name, size)] = benchSupportsWasmtime(r.name, size)
		}
		if !r.raw {
			for _, floor := range []bool{false, true} {
				fs[key(hostName(floor), "build", r.name, 0)] = benchBuild(h, r.name, floor)
				fs[key(hostName(floor), "run", r.name, 0)] = benchRun(h, r.name, floor)
			}
			fs[key("runtime-wasmtime", "build", r.name, 0)] = benchBuild(wt, r.name, false)
			fs[key("runtime-wasmtime", "run", r.name, 0)] = benchRun(wt, r.name, false)
			fs[key("wasmtime", "build", r.name, 0)] = benchBuildWasmtime(r.name)
			fs[key("wasmtime", "run", r.name, 0)] = benchRunWasmtime(r.name)
		}
	}
	med, _ := table(fs)
	var out strings.Builder
	ratio := func(a, b time.Duration) string { return fmt.Sprintf("%.2fx", float64(a)/float64(b)) }
	fmt.Fprintf(&out, "\nsupports, CPU time per call:\n\n| runner | size | runtime (wazero) | wazero floor | ×floor | runtime (wasmtime) | wasmtime floor | ×floor | wasmtime floor ×wat-raw's |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runners {
		for _, size := range sizes {
			rz, fz := med[key("runtime", "supports", r.name, size)], med[key("wazero", "supports", r.name, size)]
			rw, fw := med[key("runtime-wasmtime", "supports", r.name, size)], med[key("wasmtime", "supports", r.name, size)]
			fmt.Fprintf(&out, "| %s | %s | %v | %v | %s | %v | %v | %s | %s |\n", r.name, sizeName(size), rz, fz, ratio(rz, fz),
				rw, fw, ratio(rw, fw), ratio(fw, med[key("wasmtime", "supports", "wat-raw", size)]))
		}
	}
	fmt.Fprintf(&out, "\nbuild (1 KiB spec) and run (fresh instance, 1 KiB payload), CPU time:\n\n| runner | what | runtime (wazero) | wazero floor | ×floor | runtime (wasmtime) | wasmtime floor | ×floor |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range runners {
		if r.raw {
			continue
		}
		for _, what := range []string{"build", "run"} {
			rz, fz := med[key("runtime", what, r.name, 0)], med[key("wazero", what, r.name, 0)]
			rw, fw := med[key("runtime-wasmtime", what, r.name, 0)], med[key("wasmtime", what, r.name, 0)]
			fmt.Fprintf(&out, "| %s | %s | %v | %v | %s | %v | %v | %s |\n", r.name, what, rz, fz, ratio(rz, fz), rw, fw, ratio(rw, fw))
		}
	}
	t.Log(out.String())
}

// wasmtimeRuntime is a runtime on the wasmtime engine (deadline off, the shared compilation
// cache), closed with the test; its modules load on first use.
func wasmtimeRuntime(t testing.TB) *hosts {
	t.Helper()
	rt, err := runtime.New(context.Background(), runtime.Config{Engine: "wasmtime", CacheDir: testcache.Dir(),
		Limits: runtime.Limits{CallTimeout: runtime.NoCallTimeout, CompileTimeout: raceCompileTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	return &hosts{rt: rt, mods: map[string]*runtime.Module{}}
}
