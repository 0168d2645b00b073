package host_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/store/boltstore"
	"github.com/solti-wasm/solti-wasm/store/memstore"
)

// BenchmarkCreateToTerminal is the pipeline end to end in process: create -> queue -> route
// -> build -> plan persisted -> run (a trivial WAT guest) -> recorded terminal, on memstore
// and on the durable boltstore (every create fsynced before it returns), with 16 creators
// at once, as an API's concurrent clients would be. Each iteration is one task; b.N tasks are
// created, then all awaited. It reports tasks/s to terminal and the creates' p99 latency
// (the acknowledgement a client waits for); BENCHMARKS.md compares the two stores as a ratio.
func BenchmarkCreateToTerminal(b *testing.B) {
	for _, name := range []string{"memstore", "boltstore"} {
		b.Run(name, func(b *testing.B) {
			var st store.Store = memstore.New()
			if name == "boltstore" {
				bs, err := boltstore.Open(filepath.Join(b.TempDir(), "solti.db"), boltstore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				st = bs
			}
			e := &env{st: st, q: memstore.NewQueue(0)}
			b.Cleanup(func() { _ = e.q.Close(); _ = e.st.Close() })
			benchCreateToTerminal(b, e)
		})
	}
}

func benchCreateToTerminal(b *testing.B, e *env) {
	const creators = 16
	h := e.start(b, host.Config{Workers: 64, Tenants: []host.Tenant{{Name: "a", Runners: runnersDir(b, fixtures+"ok.wasm"),
		Limits: host.Limits{MaxRunning: 64, MaxQueued: 1 << 20, CreateRate: 1e9, CreateBurst: 1 << 30}}}})
	ctx := context.Background()
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range creators {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < b.N; i = int(next.Add(1) - 1) {
				m, raw := manifest(b, fmt.Sprintf("t%d", i), fixtureSpec(fmt.Sprintf("s%d", i), 5000, ""))
				start := time.Now()
				if _, err := h.CreateTask(ctx, "a", m, raw); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
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
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-create-ms")
}
