package registry_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// withCustomSection returns wasm with a custom section "bench" holding n appended: the same
// module to the host, other bytes (and digest) to the registry and the compilation cache.
func withCustomSection(wasm []byte, n uint64) []byte {
	payload := append([]byte{5, 'b', 'e', 'n', 'c', 'h'}, binary.LittleEndian.AppendUint64(nil, n)...)
	out := append([]byte(nil), wasm...)
	out = append(out, 0, byte(len(payload)))
	return append(out, payload...)
}

type benchRegistry struct {
	dir    string
	rt     *runtime.Runtime
	reg    *registry.Registry
	events <-chan registry.Event
}

func newBenchRegistry(b *testing.B, cacheDir string, debounce time.Duration, initial []byte) *benchRegistry {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.wasm"), initial, 0o644); err != nil {
		b.Fatal(err)
	}
	rt, err := runtime.New(context.Background(), runtime.Config{CacheDir: cacheDir})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := registry.New(registry.Config{Dir: dir, Runtime: rt, Watch: true, Debounce: debounce})
	if err != nil {
		b.Fatal(err)
	}
	events, _ := reg.Subscribe(1 << 12)
	if err := reg.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	if e := <-events; e.Type != registry.EventLoaded {
		b.Fatalf("initial event %s", e)
	}
	b.Cleanup(func() {
		_ = reg.Close(context.Background())
		_ = rt.Close(context.Background())
	})
	return &benchRegistry{dir: dir, rt: rt, reg: reg, events: events}
}

func (br *benchRegistry) write(b *testing.B, wasm []byte) {
	tmp := filepath.Join(br.dir, "m.wasm.tmp")
	if err := os.WriteFile(tmp, wasm, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(br.dir, "m.wasm")); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSwapLatency measures, per swap, the time from the rename that completes the new
// file to the new version serving (the swapped event is published right after the router
// serves it), for a small WAT module and the Go example, with a cold compilation cache (new
// bytes every time, no on-disk cache) and a warm one (versions already in the on-disk cache).
// compile-ms is the load of the new version (compile or cache read, instantiate, name,
// describe); overhead-ms is what is left after the debounce and that load.
func BenchmarkSwapLatency(b *testing.B) {
	const debounce = 10 * time.Millisecond
	for _, mod := range []struct{ name, path string }{
		{"small", filepath.Join(fixtures, "hot-a.wasm")},
		{"go-transform", "../examples/runners/go-transform.wasm"},
	} {
		wasm, err := os.ReadFile(mod.path)
		if err != nil {
			b.Fatal(err)
		}
		for _, cache := range []string{"cold", "warm"} {
			b.Run(mod.name+"/"+cache, func(b *testing.B) {
				cacheDir := ""
				versions := [2][]byte{withCustomSection(wasm, 1), withCustomSection(wasm, 2)}
				if cache == "warm" {
					cacheDir = b.TempDir()
					// Compile both versions once, so the swaps read them from the cache.
					rt, err := runtime.New(context.Background(), runtime.Config{CacheDir: cacheDir})
					if err != nil {
						b.Fatal(err)
					}
					for _, v := range versions {
						m, err := rt.LoadBytes(context.Background(), "warm.wasm", v)
						if err != nil {
							b.Fatal(err)
						}
						_ = m.Close(context.Background())
					}
					_ = rt.Close(context.Background())
				}
				br := newBenchRegistry(b, cacheDir, debounce, versions[0])
				var load, total time.Duration
				b.ResetTimer()
				for i := range b.N {
					next := versions[(i+1)%2]
					if cache == "cold" {
						next = withCustomSection(wasm, uint64(1000+i))
					}
					br.write(b, next)
					written := time.Now()
					e := <-br.events
					lat := time.Since(written)
					if e.Type != registry.EventSwapped {
						b.Fatalf("event %s", e)
					}
					total += lat
					info := br.reg.Current()[0].Module().Info()
					load += info.CompileTime + info.InitTime
				}
				b.StopTimer()
				n := float64(b.N)
				b.ReportMetric(float64(total.Microseconds())/1000/n, "latency-ms")
				b.ReportMetric(float64(load.Microseconds())/1000/n, "compile-ms")
				b.ReportMetric(float64((total-load).Microseconds())/1000/n-float64(debounce.Milliseconds()), "overhead-ms")
				// Let the old versions drain before the next sub-benchmark.
				for br.reg.Stats().Draining > 0 {
					time.Sleep(time.Millisecond)
				}
			})
		}
	}
}

// BenchmarkRouteBuildSwapOverhead compares route+build throughput idle and while swapping, in
// alternating windows (idle, swapping, idle, ...) so that a busy machine's drift hits both
// alike; it reports each mode's median builds/s over the windows and swapping/idle. Run it
// with -benchtime 1x (one series of windows per b.N).
func BenchmarkRouteBuildSwapOverhead(b *testing.B) {
	a, err := os.ReadFile(filepath.Join(fixtures, "hot-a.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	bb, err := os.ReadFile(filepath.Join(fixtures, "hot-b.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	const windows, window = 16, 250 * time.Millisecond
	for _, mode := range []struct {
		name  string
		every time.Duration
	}{{"every-100ms", 100 * time.Millisecond}, {"back-to-back", 0}} {
		b.Run(mode.name, func(b *testing.B) {
			br := newBenchRegistry(b, "", -1, a)
			rtr := br.reg.Router()
			req, err := router.ParseRequest([]byte(`{"slot":"t","kind":{"extension":{"type":"hot"}},"timeout":1000}`))
			if err != nil {
				b.Fatal(err)
			}
			var builds, swaps atomic.Int64
			var swapping atomic.Bool
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range goruntime.GOMAXPROCS(0) {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := rtr.Build(context.Background(), req); err != nil {
							b.Error(err)
							return
						}
						builds.Add(1)
					}
				})
			}
			wg.Go(func() {
				for i := 0; ; {
					select {
					case <-stop:
						return
					default:
					}
					if !swapping.Load() {
						time.Sleep(time.Millisecond)
						continue
					}
					br.write(b, [2][]byte{bb, a}[i%2])
					<-br.events
					i++
					swaps.Add(1)
					if mode.every > 0 {
						time.Sleep(mode.every)
					}
				}
			})
			var idle, busy []float64
			var swapCount int64
			b.ResetTimer()
			for range b.N {
				for w := range windows {
					swapping.Store(w%2 == 1)
					time.Sleep(20 * time.Millisecond) // settle into the mode
					n0, s0, t0 := builds.Load(), swaps.Load(), time.Now()
					time.Sleep(window)
					rate := float64(builds.Load()-n0) / time.Since(t0).Seconds()
					if w%2 == 1 {
						busy = append(busy, rate)
						swapCount += swaps.Load() - s0
					} else {
						idle = append(idle, rate)
					}
				}
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			mi, mb := median(idle), median(busy)
			b.ReportMetric(mi, "idle-builds/s")
			b.ReportMetric(mb, "swapping-builds/s")
			b.ReportMetric(mb/mi, "swapping/idle")
			b.ReportMetric(float64(swapCount)/(float64(len(busy))*window.Seconds()), "swaps/s")
		})
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
