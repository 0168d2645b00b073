package conformance

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFuelDifferential runs every scenario against every conformance runner and every example
// runner twice: as compiled from its file, and instrumented by the product host's fuel pass
// with unlimited fuel. Each step must give byte-identical results: return code, output, log
// records, emitted lines, and the same trap (message and guest stderr; the wasm stack trace is
// left out, since a function without a name shows its index there, which the pass shifts by
// one). The example runners do not implement the conformance contract, so their expected
// outcomes are not checked: only that both builds agree.
func TestFuelDifferential(t *testing.T) {
	t.Parallel()
	mods := runners(t)
	examples, err := filepath.Glob(filepath.Join("..", "..", "examples", "runners", "*.wasm"))
	if err != nil || len(examples) == 0 {
		t.Fatalf("no example runners: %v", err)
	}
	mods = append(mods, examples...)
	for _, mod := range mods {
		wasm, err := os.ReadFile(mod)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(mod), ".wasm")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			plain := newHarness(t, mod)
			fueled := fuelHarness(t, mod, wasm)
			lang := plain.lang
			steps := 0
			for _, sc := range scenarios {
				pin, fin := plain.instantiate(t), fueled.instantiate(t)
				var prev []byte
				for i, st := range sc.steps {
					if st.fresh {
						pin, fin = plain.instantiate(t), fueled.instantiate(t)
					}
					input := st.input(lang, prev)
					want, got := pin.call(st.export, input), fin.call(st.export, input)
					for _, d := range diffResults(got, want) {
						t.Errorf("%s: step %d (%s): instrumented %s", sc.name, i+1, st.export, d)
					}
					prev = want.output
					steps++
				}
			}
			t.Logf("%s: %d steps agree", name, steps)
		})
	}
}

// fuelHarness returns the instrumented harness of the module at path, cached like newHarness.
func fuelHarness(t testing.TB, path string, wasm []byte) *harness {
	t.Helper()
	return guardHarness(t, path, wasm, guardFuel)
}

// guardHarness returns the harness of the module at path with guard g, cached like newHarness.
func guardHarness(t testing.TB, path string, wasm []byte, g guard) *harness {
	t.Helper()
	return cachedHarness(t, fmt.Sprintf("%s#%d", path, g), func() (*harness, error) { return loadHarnessBytes(path, wasm, g) })
}

// diffResults names how got differs from want.
func diffResults(got, want result) []string {
	var out []string
	if g, w := trapText(got.trap), trapText(want.trap); g != w {
		out = append(out, fmt.Sprintf("trap %q, original %q", g, w))
	}
	if got.rc != want.rc {
		out = append(out, fmt.Sprintf("returned %d, original %d", got.rc, want.rc))
	}
	if got.outSet != want.outSet || !bytes.Equal(got.output, want.output) {
		out = append(out, fmt.Sprintf("output %s, original %s", clip(got.output), clip(want.output)))
	}
	if g, w := fmt.Sprint(got.logs), fmt.Sprint(want.logs); g != w {
		out = append(out, fmt.Sprintf("logs %s, original %s", g, w))
	}
	if g, w := fmt.Sprint(got.lines), fmt.Sprint(want.lines); g != w {
		out = append(out, fmt.Sprintf("lines %s, original %s", g, w))
	}
	return out
}

// trapText is a trap's message and guest stderr without the wasm stack trace.
func trapText(err error) string {
	if err == nil {
		return ""
	}
	var keep []string
	inTrace := false
	for _, l := range strings.Split(err.Error(), "\n") {
		switch {
		case l == "wasm stack trace:":
			inTrace = true
		case inTrace && (strings.HasPrefix(l, "\t") || strings.HasPrefix(l, " ")):
		default:
			inTrace = false
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// BenchmarkFuelGuard times supports and build on a 1 KiB spec for each conformance runner
// with the CPU guard off, with fuel (the product host's pass) and with the guard fuel
// replaces (wazero's close-on-context-done and a timeout per call), beside the native Go
// floor of the same work, all in one run for BENCHMARKS.md's ratios:
//
//	go test ./tests/conformance/ -run '^$' -bench FuelGuard -benchmem -count 5
func BenchmarkFuelGuard(b *testing.B) {
	b.Run("native-go/supports-1KiB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !nativeSupports(benchSpec) {
				b.Fatal("no")
			}
		}
	})
	b.Run("native-go/build-1KiB", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := nativeBuild(benchBuild); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, mod := range runners(b) {
		wasm, err := os.ReadFile(mod)
		if err != nil {
			b.Fatal(err)
		}
		for _, g := range []struct {
			name  string
			guard guard
		}{{"off", guardOff}, {"fuel", guardFuel}, {"ctx", guardCtx}} {
			h := guardHarness(b, mod, wasm, g.guard)
			b.Run(h.lang+"/supports-1KiB/guard="+g.name, benchCall(h, "supports", benchSpec, 1))
			b.Run(h.lang+"/build-1KiB/guard="+g.name, benchCall(h, "build", benchBuild, 0))
		}
	}
}
