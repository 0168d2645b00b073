package prometheus_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/abi"
	promx "github.com/solti-wasm/solti-wasm/metrics/prometheus"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const modules = "../../tests/testdata/modules"

func newMetrics(t *testing.T) (*promx.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := promx.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func TestTaskMetricsHaveSoltiNames(t *testing.T) {
	m, reg := newMetrics(t)
	m.RecordTaskStarted(router.RunnerWasm)
	m.RecordTaskStarted(router.RunnerWasm)
	m.RecordTaskStarted(router.RunnerSubprocess)
	m.RecordTaskCompleted(router.RunnerWasm, router.OutcomeSuccess, 20*time.Millisecond)
	m.RecordTaskCompleted(router.RunnerWasm, router.OutcomeTimeout, 2*time.Second)
	m.RecordRunnerError(router.RunnerSubprocess, router.ErrorSpawnFailed)

	want := `
# HELP solti_runner_tasks_started_total Task attempts started, by runner type.
# TYPE solti_runner_tasks_started_total counter
solti_runner_tasks_started_total{runner="container"} 0
solti_runner_tasks_started_total{runner="subprocess"} 1
solti_runner_tasks_started_total{runner="wasm"} 2
# HELP solti_runner_errors_total Runner errors, by runner type and kind (spawn_failed, module_load_failed, backend_config_failed, ...).
# TYPE solti_runner_errors_total counter
solti_runner_errors_total{error="spawn_failed",runner="subprocess"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "solti_runner_tasks_started_total", "solti_runner_errors_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(mustCounter(t, reg, "solti_runner_tasks_completed_total", "wasm", "timeout")); got != 1 {
		t.Errorf("completed{wasm,timeout} = %v, want 1", got)
	}
	// The histogram has solti's buckets: 0.025 holds the 20 ms attempt, 2.5 the 2 s one.
	const hist = `
# HELP solti_runner_task_duration_seconds Duration of task attempts, by runner type and outcome.
# TYPE solti_runner_task_duration_seconds histogram
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="0.01"} 0
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="0.025"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="0.05"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="0.1"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="0.25"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="0.5"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="1"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="2.5"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="5"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="10"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="30"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="60"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="300"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="1800"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="3600"} 1
solti_runner_task_duration_seconds_bucket{outcome="success",runner="wasm",le="+Inf"} 1
solti_runner_task_duration_seconds_sum{outcome="success",runner="wasm"} 0.02
solti_runner_task_duration_seconds_count{outcome="success",runner="wasm"} 1
`
	h, err := gatherOne(reg, "solti_runner_task_duration_seconds", map[string]string{"runner": "wasm", "outcome": "success"})
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.CollectAndCompare(h, strings.NewReader(hist), "solti_runner_task_duration_seconds"); err != nil {
		t.Error(err)
	}
}

// gatherOne returns a collector for one series of a registered histogram vector, by name.
func gatherOne(reg *prometheus.Registry, name string, labels map[string]string) (prometheus.Collector, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			match := true
			for _, lp := range mt.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					match = false
				}
			}
			if match {
				return &staticCollector{mf: mf, i: mt}, nil
			}
		}
	}
	return nil, errors.New("no series " + name)
}

func mustCounter(t *testing.T, reg *prometheus.Registry, name string, values ...string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, mt := range mf.GetMetric() {
			got := map[string]bool{}
			for _, lp := range mt.GetLabel() {
				got[lp.GetValue()] = true
			}
			for _, v := range values {
				if !got[v] {
					continue next
				}
			}
			return &staticCollector{mf: mf, i: mt}
		}
	}
	t.Fatalf("no series %s%v", name, values)
	return nil
}

func loadWith(t *testing.T, m *promx.Metrics, limits runtime.Limits, files ...string) (*runtime.Runtime, []*runtime.Module) {
	t.Helper()
	rt, err := runtime.New(t.Context(), runtime.Config{Observer: m, Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	var mods []*runtime.Module
	for _, f := range files {
		mod, err := rt.Load(t.Context(), filepath.Join(modules, f))
		if err != nil {
			continue // rejections are part of some tests
		}
		mods = append(mods, mod)
	}
	return rt, mods
}

func fixtureRequest(t *testing.T) *router.Request {
	t.Helper()
	req, err := router.ParseRequest([]byte(`{"slot":"fx","kind":{"extension":{"type":"fixture"}},"timeout":1000}`))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestWasmMeters(t *testing.T) {
	m, reg := newMetrics(t)
	_, mods := loadWith(t, m, runtime.Limits{}, "ok.wasm", "trap-run.wasm", "no-marker.wasm", "abi-v2.wasm")
	if len(mods) != 2 {
		t.Fatalf("%d modules loaded, want 2", len(mods))
	}
	ok, trap := mods[0], mods[1]
	req := fixtureRequest(t)
	okD, trapD := promx.ShortDigest(ok.Digest()), promx.ShortDigest(trap.Digest())
	if _, err := ok.Supports(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	plan, err := ok.Build(t.Context(), req, router.BuildArgs{RunID: router.MakeRunID("fixture-ok", "fx")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := ok.Run(t.Context(), &abi.RunInput{RunID: "x", Attempt: 1, Payload: plan.Guest.Payload})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trap.Run(t.Context(), &abi.RunInput{RunID: "y", Attempt: 1}); !errors.Is(err, runtime.ErrTrap) {
		t.Fatalf("trap-run: %v", err)
	}
	spec, _ := req.JSON()

	check := func(name string, want float64, labels ...string) {
		t.Helper()
		if got := testutil.ToFloat64(mustCounter(t, reg, name, labels...)); got != want {
			t.Errorf("%s%v = %v, want %v", name, labels, got, want)
		}
	}
	check("solti_wasm_calls_total", 1, "fixture-ok", okD, "supports")
	check("solti_wasm_calls_total", 1, "fixture-ok", okD, "run")
	check("solti_wasm_bytes_in_total", float64(len(spec)), "fixture-ok", okD, "supports")
	check("solti_wasm_bytes_out_total", float64(len(out)), "fixture-ok", okD, "run")
	check("solti_wasm_traps_total", 1, "trap-run", trapD, "run", runtime.FaultTrap)
	// The fixture's supports pulls its input and returns: a few dozen fuel units, not zero.
	if f := testutil.ToFloat64(mustCounter(t, reg, "solti_wasm_fuel_total", "fixture-ok", okD, "supports")); f <= 0 || f > 10_000 {
		t.Errorf("solti_wasm_fuel_total of supports = %v, want a few dozen units", f)
	}
	check("solti_wasm_module_loads_total", 1, "fixture-ok")
	check("solti_wasm_module_rejections_total", 2, "abi")
	check("solti_wasm_memory_pages_high_water", 1, "fixture-ok", okD)
	// The load's instance stays pooled; the run's fresh instance was instantiated and closed.
	check("solti_wasm_instantiations_total", 1, "fixture-ok", okD, "ok")
	check("solti_wasm_pool_instances", 1, "fixture-ok", okD)
	if n, err := testutil.GatherAndCount(reg, "solti_wasm_call_duration_seconds"); err != nil || n == 0 {
		t.Errorf("call latency series: %d, %v", n, err)
	}

	// Closing a module deletes its digest-labelled series; loads stay.
	if err := ok.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if lp.GetName() == "digest" && lp.GetValue() == okD {
					t.Errorf("%s still has a series of the closed module", mf.GetName())
				}
			}
		}
	}
	check("solti_wasm_module_loads_total", 1, "fixture-ok")

	m.ModuleSwapped("fixture-ok")
	check("solti_wasm_module_swaps_total", 1, "fixture-ok")
}

func TestDeadlineHits(t *testing.T) {
	m, reg := newMetrics(t)
	_, mods := loadWith(t, m, runtime.Limits{CallTimeout: 50 * time.Millisecond}, "loop.wasm")
	if len(mods) != 1 {
		t.Fatal("loop.wasm did not load")
	}
	loop := mods[0]
	if _, err := loop.Supports(t.Context(), fixtureRequest(t)); !errors.Is(err, runtime.ErrDeadline) {
		t.Fatalf("supports: %v, want a deadline", err)
	}
	d := promx.ShortDigest(loop.Digest())
	if got := testutil.ToFloat64(mustCounter(t, reg, "solti_wasm_deadline_hits_total", loop.Name(), d, "supports")); got != 1 {
		t.Errorf("deadline hits %v, want 1", got)
	}
	if got := testutil.ToFloat64(mustCounter(t, reg, "solti_wasm_traps_total", loop.Name(), d, "supports", runtime.FaultDeadline)); got != 1 {
		t.Errorf("traps{deadline} %v, want 1", got)
	}
}

// TestThroughSupervisor: the supervisor meters attempts through the backend.
func TestThroughSupervisor(t *testing.T) {
	m, reg := newMetrics(t)
	sup := supervisor.New(supervisor.Config{Metrics: m})
	defer sup.Close(context.Background())
	spec := &abi.TaskSpec{Slot: "s", TimeoutMs: 1000, Restart: abi.RestartPolicy{Type: abi.RestartNever}}
	h, err := sup.Submit(t.Context(), supervisor.Job{RunID: "r", Spec: spec, RunnerType: router.RunnerSubprocess,
		Task: supervisor.TaskFunc(func(context.Context, supervisor.Attempt, supervisor.Sink) (supervisor.Result, error) {
			return supervisor.Result{}, supervisor.Fatal(router.ErrorSpawnFailed, errors.New("no"))
		})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	for name, labels := range map[string][]string{
		"solti_runner_tasks_started_total":   {"subprocess"},
		"solti_runner_tasks_completed_total": {"subprocess", "failure"},
		"solti_runner_errors_total":          {"subprocess", "spawn_failed"},
	} {
		if got := testutil.ToFloat64(mustCounter(t, reg, name, labels...)); got != 1 {
			t.Errorf("%s%v = %v, want 1", name, labels, got)
		}
	}
}

func TestRegisterTwiceFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := promx.New(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := promx.New(reg); err == nil {
		t.Error("a second New on the same registry succeeded")
	}
}
