package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// FuzzLoad drives the whole load and call path with mutated modules: pre-validation,
// compile, ABI check, instantiation, name, describe, the smoke test, then supports, build
// and run on a fixed task. Nothing may panic, a refused module must be a *LoadError naming
// the file and a stage, and the one runtime must keep serving across iterations. Seeds: the
// small example runners, the test fixtures and the hostile corpus (the Go runners, 3.6 MB,
// would make iterations slow).
func FuzzLoad(f *testing.F) {
	var seeds []string
	for _, pat := range []string{"../examples/runners/*.wasm", fixtures + "/*.wasm", "../tests/testdata/hostile/*.wasm"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, m...)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 200_000 {
			f.Add(b)
		}
	}
	ctx := context.Background()
	// The interpreter compiles fast; a short call deadline stops looping mutants quickly. The
	// deadline is checked when a fuel slice runs out: the default slice (10^7 units, ~10 ms of
	// compiled code) takes seconds on the race-built interpreter, so each call of a looping
	// seed overran its 100 ms by that much (~10 s a seed); 10^5 units keeps the overrun small.
	rt, err := runtime.New(ctx, runtime.Config{Engine: "wazero-interpreter", Limits: runtime.Limits{CallTimeout: 100 * time.Millisecond, FuelSlice: 1e5}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = rt.Close(ctx) })
	req, err := router.ParseRequest([]byte(`{"slot":"fz","kind":{"extension":{"type":"fixture"}},"timeout":1000}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		const path = "fuzz.wasm"
		m, err := rt.LoadBytes(ctx, path, wasm)
		if err != nil {
			var le *runtime.LoadError
			if !errors.As(err, &le) || le.Stage == "" || !strings.HasPrefix(err.Error(), path+": ") {
				t.Fatalf("load error %T %q: want a *LoadError naming the file and stage", err, err)
			}
			if errors.Is(err, runtime.ErrEnginePanic) {
				t.Fatalf("the engine panicked on a module the pre-validation accepted: %v", err)
			}
			return
		}
		defer m.Close(ctx)
		if _, err := m.Supports(ctx, req); err != nil && errors.Is(err, runtime.ErrEnginePanic) {
			t.Fatal(err)
		}
		_, err = m.Build(ctx, req, router.BuildArgs{RunID: router.RunID{ID: m.Name() + "-fz-0"}, Metrics: router.NoopMetrics{}})
		if err != nil && errors.Is(err, runtime.ErrEnginePanic) {
			t.Fatal(err)
		}
		if m.HasRun() {
			rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			_, err := m.Run(rctx, &abi.RunInput{RunID: m.Name() + "-fz-0", Attempt: 1})
			cancel()
			if err != nil && errors.Is(err, runtime.ErrEnginePanic) {
				t.Fatal(err)
			}
		}
	})
}
