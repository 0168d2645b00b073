package host_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/store"
)

// BenchmarkCreateToTerminal is the in-process pipeline's floor: create -> queue -> route ->
// build -> plan persisted -> run (a trivial WAT guest) -> recorded terminal, with memstore.
// Each iteration is one task; b.N tasks are created, then all awaited.
func BenchmarkCreateToTerminal(b *testing.B) {
	e := newEnv(b)
	h := e.start(b, host.Config{Workers: 4, Tenants: []host.Tenant{{Name: "a", Runners: runnersDir(b, fixtures+"ok.wasm"),
		Limits: host.Limits{MaxRunning: 64, MaxQueued: 1 << 20, CreateRate: 1e9, CreateBurst: 1 << 30}}}})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		m, raw := manifest(b, fmt.Sprintf("t%d", i), fixtureSpec(fmt.Sprintf("s%d", i), 5000, ""))
		if _, err := h.CreateTask(ctx, "a", m, raw); err != nil {
			b.Fatal(err)
		}
	}
	for i := range b.N { // the store is polled: a watch would fall behind and be ended
		for {
			t, err := h.GetTask(ctx, store.Key{Tenant: "a", Name: fmt.Sprintf("t%d", i)})
			if err != nil {
				b.Fatal(err)
			}
			if t.Status.Phase.Terminal() {
				if t.Status.Phase != store.PhaseSucceeded {
					b.Fatalf("task %s: %+v", t.Name, t.Status)
				}
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}
