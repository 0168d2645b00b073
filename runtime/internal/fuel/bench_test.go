package fuel

import (
	"context"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// BenchmarkTightLoop runs renumber.wat's loop export (a sum over 100,000 iterations of a
// dozen instructions) on wazero's compiler with no CPU guard, with fuel (a 10^7-unit slice,
// as the runtime grants), and with the guard fuel replaces: close-on-context-done and a
// timeout per call.
//
//	go test ./runtime/internal/fuel/ -run '^$' -bench TightLoop -benchmem -count 5
func BenchmarkTightLoop(b *testing.B) {
	plain := wat(b, "renumber")
	fueled, err := Instrument(plain, DefaultCosts())
	if err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	for _, g := range []struct {
		name string
		wasm []byte
		ctx  bool
	}{{"off", plain, false}, {"fuel", fueled, false}, {"ctx", plain, true}} {
		b.Run("guard="+g.name, func(b *testing.B) {
			ctx := context.Background()
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().
				WithCoreFeatures(api.CoreFeaturesV2|experimental.CoreFeaturesTailCall).WithCloseOnContextDone(g.ctx))
			defer rt.Close(ctx)
			h := &host{rt: rt}
			h.register(b)
			m := &meter{budget: 1 << 62, slice: 10_000_000}
			mod := h.instance(b, g.wasm, m)
			fn := mod.ExportedFunction("loop")
			counter, _ := mod.ExportedGlobal(GlobalExport).(api.MutableGlobal)
			mctx := context.WithValue(ctx, meterKey{}, m)
			stack := []uint64{n}
			b.ReportAllocs()
			for b.Loop() {
				cctx, cancel := mctx, context.CancelFunc(func() {})
				if g.ctx {
					cctx, cancel = context.WithTimeout(mctx, time.Second)
				}
				if counter != nil { // as the runtime does per call
					m.granted = m.slice
					counter.Set(uint64(m.slice))
				}
				stack[0] = n
				if err := fn.CallWithStack(cctx, stack); err != nil {
					b.Fatal(err)
				}
				cancel()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/iter")
		})
	}
}
