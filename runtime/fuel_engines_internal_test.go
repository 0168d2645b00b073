//go:build wasmtime

package runtime

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The fuel meter reads the same on both engines: the pass, not the engine, counts, so each
// call of the engine differential test, made on a metered instance of wazero and of wasmtime,
// uses the same fuel and does the same thing (guests that read WASI's clock or random left
// out: wasmtime gives them the real ones, wazero a fake clock and a seeded source).
func TestFuelSameOnBothEngines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	runtimes := map[string]*Runtime{}
	for _, name := range []string{"wazero", "wasmtime"} {
		rt, err := New(ctx, Config{Engine: name, Limits: Limits{CallFuel: UnlimitedFuel, RunFuel: UnlimitedFuel, CompileTimeout: 10 * time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rt.Close(ctx) })
		runtimes[name] = rt
	}
	var mods []string
	for _, pat := range []string{"../tests/conformance/runners/*.wasm", "../examples/runners/*.wasm"} {
		m, _ := filepath.Glob(pat)
		mods = append(mods, m...)
	}
	compared := 0
	for _, path := range mods {
		if strings.Contains(filepath.Base(path), "go") { // Go guests read WASI's clock and random
			continue
		}
		outcomes := map[string][]diffOutcome{}
		for name, rt := range runtimes {
			m, err := rt.Load(ctx, path)
			if err != nil {
				t.Fatalf("%s on %s: %v", path, name, err)
			}
			if readsClockOrRandom(m) {
				_ = m.Close(ctx)
				break
			}
			in := diffInstance(t, m, true)
			for _, c := range diffCalls {
				if !m.has[c.id] {
					continue
				}
				outcomes[name] = append(outcomes[name], diffRun(ctx, m, in, c))
				if in.broken {
					in.close(ctx)
					in = diffInstance(t, m, true)
				}
			}
			in.close(ctx)
			_ = m.Close(ctx)
		}
		z, w := outcomes["wazero"], outcomes["wasmtime"]
		if len(z) == 0 || len(w) == 0 {
			continue
		}
		compared++
		for i := range z {
			if z[i].fuel != w[i].fuel || z[i].ret != w[i].ret || z[i].output != w[i].output || !slices.Equal(z[i].lines, w[i].lines) {
				t.Errorf("%s call %d: wazero %s, fuel %d\n  wasmtime %s, fuel %d", filepath.Base(path), i, z[i], z[i].fuel, w[i], w[i].fuel)
			}
		}
	}
	if compared < 6 {
		t.Errorf("compared only %d modules", compared)
	}
}
