package serve

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/client"
	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/httpapi"
	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/store/boltstore"
	"github.com/solti-wasm/solti-wasm/store/memstore"
	"github.com/solti-wasm/solti-wasm/tenant"
)

// BenchmarkServeCreateToTerminal is issue 9's end-to-end figure: creates over HTTP on
// loopback (the Go client, keep-alive connections) of a trivial WAT guest task, through
// httpapi and the host, to the task's recorded terminal phase; durable store (boltstore: a
// create is answered once fsynced) against memstore, with 1, 2 and 16 client goroutines.
// It reports tasks/s from the first create to the last terminal, and the creates' p50/p99.
// The same pipeline called in process is host's BenchmarkCreateToTerminal.
func BenchmarkServeCreateToTerminal(b *testing.B) {
	for _, st := range []string{"memstore", "boltstore"} {
		for _, clients := range []int{1, 2, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", st, clients), func(b *testing.B) {
				benchServe(b, st, clients)
			})
		}
	}
}

func benchServe(b *testing.B, storeName string, clients int) {
	var st store.Store = memstore.New()
	if storeName == "boltstore" {
		bs, err := boltstore.Open(filepath.Join(b.TempDir(), "solti.db"), boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		st = bs
	}
	q := memstore.NewQueue(0)
	defer st.Close()
	defer q.Close()
	dir := b.TempDir()
	wasm, err := os.ReadFile(filepath.Join("..", "..", quickModule))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(quickModule)), wasm, 0o644); err != nil {
		b.Fatal(err)
	}
	const token = "bench-token-0123456789abcdef0123"
	set := tenant.Default(dir, token)
	tenants := set.Tenants()
	// Room for the whole load: the default tenant's limits (8 running, 1000 creates/s) would
	// measure the limits, not the pipeline.
	tenants[0].Limits = host.Limits{MaxRunning: 64, MaxQueued: 1 << 20, CreateRate: 1e9, CreateBurst: 1 << 30}
	ctx := context.Background()
	h, err := host.New(ctx, host.Config{Store: st, Queue: q, Tenants: tenants, CacheDir: cacheDir, Workers: 64})
	if err != nil {
		b.Fatal(err)
	}
	if err := h.Start(ctx); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(h, set, httpapi.Options{}))
	defer func() {
		srv.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Shutdown(sctx)
	}()
	c, err := client.New(srv.URL, client.Options{Token: token})
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < b.N; i = int(next.Add(1) - 1) {
				start := time.Now()
				if _, err := c.Create(ctx, guestTask(fmt.Sprintf("t%d", i), "Quick", 5000)); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	for i := range b.N {
		for {
			t, err := h.GetTask(ctx, store.Key{Tenant: tenant.DefaultTenant, Name: fmt.Sprintf("t%d", i)})
			if err != nil {
				b.Fatal(err)
			}
			if t.Status.Phase.Terminal() {
				if t.Status.Phase != store.PhaseSucceeded {
					b.Fatalf("task %s: %+v", t.Name, t.Status)
				}
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-create-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-create-ms")
	if bs, ok := st.(*boltstore.Store); ok { // what the durable store's group commit did
		gs := bs.Stats()
		b.ReportMetric(float64(gs.Commits)/float64(b.N), "commits/task")
		b.ReportMetric(float64(gs.Writes)/float64(max(gs.Commits, 1)), "writes/commit")
		b.ReportMetric(float64(gs.CommitTime.Microseconds())/float64(max(gs.Commits, 1)), "µs/commit")
		b.ReportMetric(float64(gs.Gathered)/float64(max(gs.Commits, 1)), "gathered/commit")
		b.ReportMetric(float64(gs.LogBytes)/1024/float64(b.N), "KiB-logged/task")
		b.ReportMetric(float64(gs.PageBytes)/1024/float64(b.N), "KiB-written/task")
		b.ReportMetric(float64(gs.CheckpointTime.Microseconds())/1000/float64(max(gs.Checkpoints, 1)), "ms/checkpoint")
		b.ReportMetric(float64(gs.CheckpointTime.Microseconds())/float64(b.N), "checkpoint-µs/task")
	}
}
