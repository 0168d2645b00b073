package executor_test

// End-to-end benchmarks of a trivial guest task: route + build + supervise + run, with the
// native floor (a Go runner and task doing the same through the same router and supervisor)
// measured in the same run. See BENCHMARKS.md, "Running tasks".

import (
	"context"
	"encoding/json"
	goruntime "runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/executor"
	promx "github.com/solti-wasm/solti-wasm/metrics/prometheus"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

// nativeEcho is the floor: a native runner that builds a guest plan and runs it by echoing
// the payload, as wat-echo does.
type nativeEcho struct{}

func (nativeEcho) Name() string { return "native-echo" }
func (nativeEcho) Supports(_ context.Context, r *router.Request) (bool, error) {
	return r.Spec.Kind.Name() == "echo", nil
}
func (nativeEcho) Build(_ context.Context, r *router.Request, _ router.BuildArgs) (*abi.Plan, error) {
	return &abi.Plan{Guest: &abi.GuestPlan{Payload: r.Spec.Kind.Extension.Spec}}, nil
}
func (nativeEcho) Run(_ context.Context, in *abi.RunInput) ([]byte, error) {
	b, err := json.Marshal(in)
	return b, err
}

type stack struct {
	router *router.Router
	sup    *supervisor.Supervisor
	exe    *executor.Config
}

func newStack(b *testing.B, runner router.Runner, metrics router.MetricsBackend) *stack {
	r := router.New(router.BuildContext{Metrics: metrics})
	if err := r.Register(runner); err != nil {
		b.Fatal(err)
	}
	s := &stack{router: r, sup: supervisor.New(supervisor.Config{Metrics: metrics}), exe: &executor.Config{}}
	b.Cleanup(func() { _ = s.sup.Close(context.Background()) })
	return s
}

// one routes, builds and supervises one task to its end.
func (s *stack) one(b *testing.B, req *router.Request) {
	ctx := context.Background()
	built, err := s.router.Build(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	task, rt, err := s.exe.Task(built)
	if err != nil {
		b.Fatal(err)
	}
	h, err := s.sup.Submit(ctx, supervisor.Job{RunID: built.RunID.ID, Spec: req.Spec, Task: task, RunnerType: rt})
	if err != nil {
		b.Fatal(err)
	}
	<-h.Done()
	if st := h.Status(); st.Phase != supervisor.PhaseSucceeded {
		b.Fatalf("status %+v", st)
	}
}

func (s *stack) run(b *testing.B, kind, spec string) {
	var g atomic.Int64
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, err := router.ParseRequest([]byte(`{"slot":"s` + strconv.FormatInt(g.Add(1), 10) +
			`","kind":{"extension":{"type":"` + kind + `","spec":` + spec + `}},"timeout":5000}`))
		if err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			s.one(b, req)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
	// On a shared machine wall time measures the neighbours too; the process's CPU time per
	// task does not. cpu-tasks/s is what both cores would sustain at that cost.
	perTask := float64(cpuTime()-cpu0) / float64(b.N)
	b.ReportMetric(perTask, "cpu-ns/task")
	b.ReportMetric(float64(goruntime.GOMAXPROCS(0))*1e9/perTask, "cpu-tasks/s")
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchModule(b *testing.B, path string, cfg runtime.Config) *runtime.Module {
	rt, err := runtime.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rt.Close(context.Background()) })
	m, err := rt.Load(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

const echoSpec = `{"msg":"hello"}`

// BenchmarkGuestTask is a trivial guest task end to end: native floor, the WAT runner on a
// fresh instance per task, and the Go runner on a warm pool.
// Modules load once, outside the measured sub-benchmarks (the Go one compiles for a second).
func BenchmarkGuestTask(b *testing.B) {
	wat := benchModule(b, "../examples/runners/wat-echo.wasm", runtime.Config{})
	gor := benchModule(b, "../examples/runners/go-transform.wasm", runtime.Config{RunInstanceCalls: 1 << 20})
	b.Run("native-floor", func(b *testing.B) {
		newStack(b, nativeEcho{}, nil).run(b, "echo", echoSpec)
	})
	b.Run("wat-echo-fresh", func(b *testing.B) {
		newStack(b, wat, nil).run(b, "echo", echoSpec)
	})
	b.Run("go-transform-pooled", func(b *testing.B) {
		newStack(b, gor, nil).run(b, "transform", `{"text":"hello","ops":["upper"]}`)
	})
}

// BenchmarkMetering is wat-echo's task with the no-op backend and with Prometheus (task
// metrics and the wasm meters on every call).
func BenchmarkMetering(b *testing.B) {
	pm, err := promx.New(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	plain := benchModule(b, "../examples/runners/wat-echo.wasm", runtime.Config{})
	metered := benchModule(b, "../examples/runners/wat-echo.wasm", runtime.Config{Observer: pm})
	b.Run("noop", func(b *testing.B) {
		newStack(b, plain, nil).run(b, "echo", echoSpec)
	})
	b.Run("prometheus", func(b *testing.B) {
		newStack(b, metered, pm).run(b, "echo", echoSpec)
	})
}

// BenchmarkExecTrue is one exec attempt of true: the spawn cost (on Linux through the guard
// that kills the group when the host dies) plus the wait and the pipes.
func BenchmarkExecTrue(b *testing.B) {
	e := &executor.Exec{Plan: &abi.ExecPlan{Command: "true", FailOnNonZero: true}, Policy: executor.ExecPolicy{Allow: []string{"true"}}}
	a := supervisor.Attempt{RunID: "r-x-1", Number: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Execute(b.Context(), a, func(supervisor.Line) {}); err != nil {
			b.Fatal(err)
		}
	}
}
