package supervisor_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

// noop is a native runner's task that does nothing: what remains is the supervisor's cost.
var noop = supervisor.TaskFunc(func(context.Context, supervisor.Attempt, supervisor.Sink) (supervisor.Result, error) {
	return supervisor.Result{}, nil
})

// BenchmarkSupervisor measures the supervisor's overhead per task (admission, the attempt's
// deadline timer and context, metrics through the no-op backend, phases, the slot's release)
// with a native no-op task, against the floor of calling the task directly.
func BenchmarkSupervisor(b *testing.B) {
	ctx := context.Background()
	b.Run("native-floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := noop.Execute(ctx, supervisor.Attempt{RunID: "r", Number: 1}, func(supervisor.Line) {}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("submit-wait", func(b *testing.B) {
		sup := supervisor.New(supervisor.Config{})
		defer sup.Close(ctx)
		spec := &abi.TaskSpec{Slot: "bench", TimeoutMs: 5000, Restart: abi.RestartPolicy{Type: abi.RestartNever}}
		b.ReportAllocs()
		for b.Loop() {
			h, err := sup.Submit(ctx, supervisor.Job{RunID: "r", Spec: spec, Task: noop})
			if err != nil {
				b.Fatal(err)
			}
			<-h.Done()
		}
	})
	b.Run("submit-wait-parallel", func(b *testing.B) {
		sup := supervisor.New(supervisor.Config{})
		defer sup.Close(ctx)
		var g atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			spec := &abi.TaskSpec{Slot: "bench-" + strconv.FormatInt(g.Add(1), 10), TimeoutMs: 5000, Restart: abi.RestartPolicy{Type: abi.RestartNever}}
			for pb.Next() {
				h, err := sup.Submit(ctx, supervisor.Job{RunID: "r", Spec: spec, Task: noop})
				if err != nil {
					b.Error(err)
					return
				}
				<-h.Done()
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
	})
}
