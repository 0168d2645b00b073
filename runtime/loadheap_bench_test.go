package runtime_test

import (
	"context"
	"os"
	goruntime "runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/runtime"
)

// BenchmarkLoadPeakHeap loads the largest accepted module (go-transform, 3.6 MB, compiled
// cold by a fresh runtime each iteration) and rejected lying ones, and reports the peak heap
// growth during the load (peak-heap-B, sampled every 100 µs) beside -benchmem's totals. A
// lying module's load must cost about its own size, however much it declares.
func BenchmarkLoadPeakHeap(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"accepted/go-transform", goTransformPath},
		{"rejected/lying-imports", "../tests/testdata/hostile/lying-imports.wasm"},
		{"rejected/lying-locals", "../tests/testdata/hostile/lying-locals.wasm"},
		{"rejected/lying-name-map", "../tests/testdata/hostile/lying-name-map.wasm"},
		{"rejected/lying-data-size", "../tests/testdata/hostile/lying-data-size.wasm"},
	} {
		b.Run(c.name, func(b *testing.B) {
			wasm, err := os.ReadFile(c.path)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var peak uint64
			b.ReportAllocs()
			for b.Loop() {
				rt, err := runtime.New(ctx, runtime.Config{})
				if err != nil {
					b.Fatal(err)
				}
				p := peakHeap(func() {
					m, err := rt.LoadBytes(ctx, c.path, wasm)
					if m != nil {
						_ = m.Close(ctx)
					}
					if accepted := c.name[:8] == "accepted"; accepted != (err == nil) {
						b.Fatalf("load: %v", err)
					}
				})
				peak = max(peak, p)
				_ = rt.Close(ctx)
			}
			b.ReportMetric(float64(peak), "peak-heap-B")
		})
	}
}

// peakHeap runs f and returns the largest growth of live heap objects seen while it ran.
func peakHeap(f func()) uint64 {
	goruntime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var (
		wg   sync.WaitGroup
		stop = make(chan struct{})
		top  uint64
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			top = max(top, read())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	top = max(top, read())
	if top < base {
		return 0
	}
	return top - base
}
