package prometheus_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	promx "github.com/solti-wasm/solti-wasm/metrics/prometheus"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// BenchmarkMeteringPerTask is the metering work of one guest task in isolation, as the
// runtime and the supervisor emit it: supports, build and run calls, a fresh instance
// (instantiated, counted, closed), and the task's started and completed. Set against a task's
// cost (executor's BenchmarkGuestTask) it gives metering's share, free of the noise of
// measuring two whole tasks against each other. The floor is the same calls on no-op meters.
func BenchmarkMeteringPerTask(b *testing.B) {
	task := func(mb router.MetricsBackend, mm runtime.ModuleMeter) {
		mm.Called(runtime.CallStats{Export: "supports", Duration: 200 * time.Nanosecond, BytesIn: 90, MemoryPages: 2})
		mm.Called(runtime.CallStats{Export: "build", Duration: 800 * time.Nanosecond, BytesIn: 140, BytesOut: 40, MemoryPages: 2})
		mb.RecordTaskStarted(router.RunnerWasm)
		mm.Instantiated(20*time.Microsecond, nil)
		mm.PoolSize(2)
		mm.Called(runtime.CallStats{Export: "run", Duration: time.Microsecond, BytesIn: 60, BytesOut: 60, MemoryPages: 2})
		mm.PoolSize(1)
		mb.RecordTaskCompleted(router.RunnerWasm, router.OutcomeSuccess, 30*time.Microsecond)
	}
	b.Run("noop-floor", func(b *testing.B) {
		var mm noopMeter
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				task(router.NoopMetrics{}, mm)
			}
		})
	})
	b.Run("prometheus", func(b *testing.B) {
		m, err := promx.New(prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		mm := m.ModuleLoaded(runtime.ModuleRef{Runner: "bench", Digest: "0123456789abcdef"}, time.Millisecond)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				task(m, mm)
			}
		})
	})
}

type noopMeter struct{}

func (noopMeter) Called(runtime.CallStats)          {}
func (noopMeter) Instantiated(time.Duration, error) {}
func (noopMeter) PoolWaited(time.Duration)          {}
func (noopMeter) PoolSize(int)                      {}
func (noopMeter) Closed()                           {}
