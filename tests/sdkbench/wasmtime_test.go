//go:build wasmtime

package sdkbench

// The wasmtime floor of "Supports per SDK": the same runners and specs straight through
// wasmtime-go (internal/wasmtimefloor), beside the wazero floor, in the same run:
//
//	CGO_ENABLED=1 SOLTI_BENCH_TABLE=1 go test -tags wasmtime ./tests/sdkbench/ -run SDKTableWasmtime -v

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"

	"github.com/solti-wasm/solti-wasm/internal/wasmtimefloor"
)

var (
	wtOnce sync.Once
	wtHost *wasmtimefloor.Host
	wtErr  error
	wtMods = map[string]*wasmtime.Module{}
)

// wtInstance returns a new wasmtime floor instance of a runner (the module compiled once).
func wtInstance(tb testing.TB, name string) *wasmtimefloor.Instance {
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
	tb.Cleanup(in.Close)
	return in
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

// TestSDKTableWasmtime prints supports per SDK through the runtime, the wazero floor and the
// wasmtime floor, medians of interleaved rounds.
func TestSDKTableWasmtime(t *testing.T) {
	if os.Getenv("SOLTI_BENCH_TABLE") == "" {
		t.Skip("set SOLTI_BENCH_TABLE=1 to print the wasmtime floor table")
	}
	h := getHosts(t)
	fs := map[string]func(*testing.B){}
	key := func(host, name string, size int) string { return fmt.Sprintf("%s/%s/%d", host, name, size) }
	for _, r := range runners {
		for _, size := range sizes {
			fs[key("runtime", r.name, size)] = benchSupports(h, r.name, size, false)
			fs[key("wazero", r.name, size)] = benchSupports(h, r.name, size, true)
			fs[key("wasmtime", r.name, size)] = benchSupportsWasmtime(r.name, size)
		}
	}
	med, _ := table(fs)
	var out strings.Builder
	fmt.Fprintf(&out, "\n| runner | size | runtime (wazero) | wazero floor | wasmtime floor | wasmtime ×wat-raw |\n|---|---|---|---|---|---|\n")
	for _, r := range runners {
		for _, size := range sizes {
			wt := med[key("wasmtime", r.name, size)]
			fmt.Fprintf(&out, "| %s | %s | %v | %v | %v | %.2fx |\n", r.name, sizeName(size), med[key("runtime", r.name, size)],
				med[key("wazero", r.name, size)], wt, float64(wt)/float64(med[key("wasmtime", "wat-raw", size)]))
		}
	}
	t.Log(out.String())
}
