package sdkbench

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/solti-wasm/solti-wasm/internal/wazerofloor"
)

// callCounter counts the guest function calls it is notified of, by function name.
type callCounter struct{ n map[string]int }

func (c *callCounter) NewFunctionListener(api.FunctionDefinition) experimental.FunctionListener {
	return c
}

func (c *callCounter) Before(_ context.Context, _ api.Module, def api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	if c.n != nil {
		c.n[def.DebugName()]++
	}
}
func (c *callCounter) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}
func (c *callCounter) Abort(context.Context, api.Module, api.FunctionDefinition, error)    {}

// TestTraceGuestCalls prints, for each Go runner, the guest function calls one supports call
// makes (averaged over 64 calls: the Go SDK yields to the Go scheduler every 64th), counted by
// wazero's function listeners on the floor host. BENCHMARKS.md, "Supports per SDK", Go.
func TestTraceGuestCalls(t *testing.T) {
	if os.Getenv("SOLTI_BENCH_TRACE") == "" {
		t.Skip("set SOLTI_BENCH_TRACE=1 to count the Go runners' guest calls per supports")
	}
	cc := &callCounter{}
	ctx := experimental.WithFunctionListenerFactory(context.Background(), cc)
	fh, err := wazerofloor.New(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close(ctx)
	const calls = 64 * 4
	for _, name := range []string{"go-raw", "go-sdk"} {
		wasm, err := os.ReadFile(path(name))
		if err != nil {
			t.Fatal(err)
		}
		c, err := fh.Compile(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		in, err := fh.Instantiate(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		spec := specJSON(t, request(t, "bench", 1<<10))
		for range 128 { // warm: the input buffer grown, the kind interned
			if rc, err := in.Call("supports", spec); err != nil || rc != 1 {
				t.Fatalf("%s: supports = %d, %v", name, rc, err)
			}
		}
		cc.n = map[string]int{}
		for range calls {
			if _, err := in.Call("supports", spec); err != nil {
				t.Fatal(err)
			}
		}
		counts := cc.n
		cc.n = nil
		total := 0
		for _, n := range counts {
			total += n
		}
		var out strings.Builder
		fmt.Fprintf(&out, "%s: %.1f guest calls per supports\n", name, float64(total)/calls)
		keys := slices.SortedFunc(maps.Keys(counts), func(a, b string) int { return counts[b] - counts[a] })
		for _, k := range keys {
			fmt.Fprintf(&out, "  %8.2f %s\n", float64(counts[k])/calls, k)
		}
		t.Log(out.String())
		_ = in.Close(ctx)
	}
}
