package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/guest-sdk/go/solti"
)

// The per-language figures of BENCHMARKS.md: module size, instantiation, supports and build on
// a 1 KiB spec, for each conformance module on the harness's wazero (compiler), and the same
// supports and build as native Go code (the Go conformance runner's logic, called directly) in
// the same run, for the ratios.
//
//	go test ./tests/conformance/ -bench . -run '^$'                       # the raw benchmarks
//	SOLTI_BENCH_TABLE=1 go test ./tests/conformance/ -run BenchTable -v   # the table, medians of 5

// benchSpec is a canonical conformance spec of 1 KiB, and benchBuild its BuildInput.
var benchSpec, benchBuild = func() ([]byte, []byte) {
	text := strings.Repeat("a", 1024-len(task(`{"op":"echo","text":""}`, `{"team":"a"}`)))
	spec := task(`{"op":"echo","text":"`+text+`"}`, `{"team":"a"}`)
	return spec, buildInput(spec)("bench", nil)
}()

func benchInstantiate(h *harness) func(b *testing.B) {
	return func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			in := h.instantiateB(b)
			_ = in.mod.Close(b.Context())
		}
	}
}

func benchCall(h *harness, export string, input []byte, wantRC int32) func(b *testing.B) {
	return func(b *testing.B) {
		in := h.instantiate(b)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if r := in.call(export, input); r.trap != nil || r.rc != wantRC {
				b.Fatalf("%s: rc %d, %v: %s", export, r.rc, r.trap, clip(r.output))
			}
		}
	}
}

// nativeSupports and nativeBuild are the Go conformance runner's supports and build (echo)
// as plain Go: what a runner costs without WebAssembly.
func nativeSupports(spec []byte) bool {
	s := solti.NewSpec(spec)
	if mode, _ := s.Label("conformance"); mode == "refuse" || mode == "error" {
		return false
	}
	return s.Kind() == "conformance"
}

func nativeBuild(in []byte) ([]byte, error) {
	var bi abi.BuildInput
	if err := json.Unmarshal(in, &bi); err != nil {
		return nil, err
	}
	var s struct {
		Op    string          `json:"op"`
		Text  string          `json:"text"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(bi.Spec.Kind.Extension.Spec, &s); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(map[string]any{"runId": bi.RunID, "runner": bi.Runner, "slot": bi.Spec.Slot,
		"timeout": bi.Spec.TimeoutMs, "labels": bi.Spec.Labels, "env": bi.Env, "text": s.Text, "value": s.Value})
	if err != nil {
		return nil, err
	}
	return json.Marshal(abi.Plan{Guest: &abi.GuestPlan{Payload: payload}})
}

func BenchmarkConformance(b *testing.B) {
	b.Run("native-go/supports-1KiB", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if !nativeSupports(benchSpec) {
				b.Fatal("no")
			}
		}
	})
	b.Run("native-go/build-1KiB", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := nativeBuild(benchBuild); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, mod := range runners(b) {
		h := newHarness(b, mod)
		b.Run(h.lang+"/instantiate", benchInstantiate(h))
		b.Run(h.lang+"/supports-1KiB", benchCall(h, "supports", benchSpec, 1))
		b.Run(h.lang+"/build-1KiB", benchCall(h, "build", benchBuild, 0))
	}
}

// instantiateB is instantiate without the cleanup (a benchmark makes thousands).
func (h *harness) instantiateB(b *testing.B) *instance {
	in := &instance{}
	mod, err := h.rt.InstantiateModule(b.Context(), h.compiled, moduleConfig(in))
	if err != nil {
		b.Fatal(err)
	}
	in.mod = mod
	return in
}

func median(f func(b *testing.B)) time.Duration {
	var ns []float64
	for i := 0; i < 5; i++ {
		r := testing.Benchmark(f)
		ns = append(ns, float64(r.T.Nanoseconds())/float64(r.N))
	}
	sort.Float64s(ns)
	return time.Duration(ns[2])
}

func TestBenchTable(t *testing.T) {
	if os.Getenv("SOLTI_BENCH_TABLE") == "" {
		t.Skip("set SOLTI_BENCH_TABLE=1 to print BENCHMARKS.md's per-language table (about a minute)")
	}
	nsup := median(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			nativeSupports(benchSpec)
		}
	})
	nbuild := median(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_, _ = nativeBuild(benchBuild)
		}
	})
	var out strings.Builder
	fmt.Fprintf(&out, "| language | module size | instantiate | supports (1 KiB spec) | × native | build (1 KiB spec) | × native |\n|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&out, "| native Go (no wasm) | – | – | %v | 1 | %v | 1 |\n", nsup, nbuild)
	for _, mod := range runners(t) {
		h := newHarness(t, mod)
		fi, err := os.Stat(mod)
		if err != nil {
			t.Fatal(err)
		}
		inst := median(benchInstantiate(h))
		sup := median(benchCall(h, "supports", benchSpec, 1))
		build := median(benchCall(h, "build", benchBuild, 0))
		fmt.Fprintf(&out, "| %s | %s | %v | %v | %.1f | %v | %.1f |\n", strings.TrimSuffix(filepath.Base(mod), ".wasm"),
			size(fi.Size()), inst.Round(time.Microsecond/10), sup, float64(sup)/float64(nsup), build.Round(time.Microsecond/10), float64(build)/float64(nbuild))
	}
	t.Logf("spec: %d bytes, build input: %d bytes\n%s", len(benchSpec), len(benchBuild), out.String())
}

func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KB", float64(n)/1024)
}
