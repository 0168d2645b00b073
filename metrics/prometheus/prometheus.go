// Package prometheus exports solti-wasm's meters to Prometheus with client_golang. One
// *Metrics implements both seams of the core: router.MetricsBackend (solti's task metrics,
// with solti's names and labels) and runtime.Observer (the wasm meters). The core packages
// never import this one; wire it in at the edge:
//
//	m, err := prometheus.New(reg)
//	rt, _ := runtime.New(ctx, runtime.Config{Observer: m})
//	sup := supervisor.New(supervisor.Config{Metrics: m})
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// solti's task metrics:
//
//	solti_runner_tasks_started_total{runner}
//	solti_runner_tasks_completed_total{runner,outcome}
//	solti_runner_task_duration_seconds{runner,outcome}   solti's buckets, .01 s to 1 h
//	solti_runner_errors_total{runner,error}
//
// Wasm meters, per runner and module digest (the first 12 hex digits of the module's
// sha256, so a hot-reloaded module is told from its predecessor):
//
//	solti_wasm_calls_total{runner,digest,export}
//	solti_wasm_call_duration_seconds{runner,digest,export}
//	solti_wasm_traps_total{runner,digest,export,kind}       kind: runtime.Fault* (trap, memory_cap, ...)
//	solti_wasm_deadline_hits_total{runner,digest,export}
//	solti_wasm_bytes_in_total{runner,digest,export}, solti_wasm_bytes_out_total{...}
//	solti_wasm_memory_pages_high_water{runner,digest}
//	solti_wasm_pool_instances{runner,digest}                 live instances
//	solti_wasm_pool_wait_seconds{runner,digest}              waits for a free instance
//	solti_wasm_instantiations_total{runner,digest,result}    result: ok, error
//	solti_wasm_instantiation_duration_seconds{runner,digest}
//	solti_wasm_compile_duration_seconds{runner,digest}
//	solti_wasm_module_loads_total{runner}, solti_wasm_module_swaps_total{runner}
//	solti_wasm_module_rejections_total{stage}
//
// A module's digest-labelled series are deleted when it closes, so that hot reload does not
// grow the series without bound; counters by runner (loads, swaps) and by stage stay.
package prometheus

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// TaskDurationBuckets are solti's buckets for solti_runner_task_duration_seconds.
var TaskDurationBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600}

// CallDurationBuckets suit wasm calls, from a microsecond (a supports call) to 10 s.
var CallDurationBuckets = []float64{1e-6, 5e-6, 25e-6, 100e-6, 500e-6, .0025, .01, .05, .25, 1, 10}

// Metrics is the Prometheus backend. It is safe for concurrent use.
type Metrics struct {
	started   *prometheus.CounterVec
	completed *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	errors    *prometheus.CounterVec

	calls, bytesIn, bytesOut, deadlines *prometheus.CounterVec
	fuel                                *prometheus.CounterVec
	callSeconds                         *prometheus.HistogramVec
	traps                               *prometheus.CounterVec
	memHigh, poolSize                   *prometheus.GaugeVec
	poolWait, instSeconds, compile      *prometheus.HistogramVec
	insts                               *prometheus.CounterVec
	loads, swaps, rejections            *prometheus.CounterVec
	cooldowns                           *prometheus.CounterVec
	cooldownUntil                       *prometheus.GaugeVec

	// Pre-bound children of the task metrics for solti's runner types and outcomes: the
	// task path does no label hashing.
	byType sync.Map // router.RunnerType -> *typeMeters
}

type typeMeters struct {
	started   prometheus.Counter
	completed map[router.TaskOutcome]prometheus.Counter
	duration  map[router.TaskOutcome]prometheus.Observer
}

var (
	_ router.MetricsBackend = (*Metrics)(nil)
	_ runtime.Observer      = (*Metrics)(nil)
)

// New makes the metrics and registers them with reg (prometheus.DefaultRegisterer, or a
// registry of one's own). It fails when a metric of the same name is already registered.
func New(reg prometheus.Registerer) (*Metrics, error) {
	mod := []string{"runner", "digest"}
	exp := []string{"runner", "digest", "export"}
	m := &Metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_runner_tasks_started_total",
			Help: "Task attempts started, by runner type."}, []string{"runner"}),
		completed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_runner_tasks_completed_total",
			Help: "Task attempts completed, by runner type and outcome (success, failure, canceled, timeout)."}, []string{"runner", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "solti_runner_task_duration_seconds",
			Help: "Duration of task attempts, by runner type and outcome.", Buckets: TaskDurationBuckets}, []string{"runner", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_runner_errors_total",
			Help: "Runner errors, by runner type and kind (spawn_failed, module_load_failed, backend_config_failed, ...)."}, []string{"runner", "error"}),

		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_wasm_calls_total",
			Help: "Calls into runner modules, by export."}, exp),
		callSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "solti_wasm_call_duration_seconds",
			Help: "Latency of calls into runner modules, by export.", Buckets: CallDurationBuckets}, exp),
		traps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_wasm_traps_total",
			Help: "Calls that failed, by export and kind (trap, deadline, canceled, memory_cap, fuel, bad_pointer, output_too_large, input_too_large, other)."},
			[]string{"runner", "digest", "export", "kind"}),
		deadlines: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_wasm_deadline_hits_total",
			Help: "Calls stopped by their deadline, by export."}, exp),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_wasm_bytes_in_total",
			Help: "Input bytes handed to calls, by export."}, exp),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_wasm_bytes_out_total",
			Help: "Output bytes returned by calls, by export."}, exp),
		fuel: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_wasm_fuel_total",
			Help: "Fuel units used by metered calls, by export (ABI.md §7: about one simple wasm instruction each)."}, exp),
		memHigh: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "solti_wasm_memory_pages_high_water",
			Help: "Largest linear memory seen after a call in any instance of the module, in 64 KiB pages."}, mod),
		poolSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "solti_wasm_pool_instances",
			Help: "Live instances of the module (pooled and running)."}, mod),
		poolWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "solti_wasm_pool_wait_seconds",
			Help: "Time calls waited for a free instance (only calls that waited).", Buckets: CallDurationBuckets}, mod),
		insts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_wasm_instantiations_total",
			Help: "Instantiations of the module, by result (ok, error)."}, []string{"runner", "digest", "result"}),
		instSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "solti_wasm_instantiation_duration_seconds",
			Help: "Time to instantiate the module, _initialize included.", Buckets: CallDurationBuckets}, mod),
		compile: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "solti_wasm_compile_duration_seconds",
			Help: "Time to compile the module at load (a cache hit is fast).", Buckets: prometheus.ExponentialBuckets(.001, 4, 8)}, mod),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_wasm_module_loads_total",
			Help: "Modules loaded, by runner."}, []string{"runner"}),
		swaps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_wasm_module_swaps_total",
			Help: "Modules replaced by a new version (hot reload), by runner."}, []string{"runner"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_wasm_module_rejections_total",
			Help: "Modules refused at load, by stage (read, compile, abi, instantiate, name, describe, register)."}, []string{"stage"}),
		cooldowns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "solti_wasm_supports_cooldowns_total",
			Help: "Times a runner was taken out of routing because its supports kept faulting, by runner."}, []string{"runner"}),
		cooldownUntil: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "solti_wasm_supports_cooldown_until_seconds",
			Help: "When the runner's last supports cool-down ends, as a Unix time: it is out of routing while this is after time()."}, []string{"runner"}),
	}
	for _, c := range []prometheus.Collector{m.started, m.completed, m.duration, m.errors, m.calls, m.callSeconds, m.traps,
		m.deadlines, m.bytesIn, m.bytesOut, m.fuel, m.memHigh, m.poolSize, m.poolWait, m.insts, m.instSeconds, m.compile,
		m.loads, m.swaps, m.rejections, m.cooldowns, m.cooldownUntil} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, rt := range []router.RunnerType{router.RunnerSubprocess, router.RunnerWasm, router.RunnerContainer} {
		m.byType.Store(rt, m.bind(rt))
	}
	return m, nil
}

func (m *Metrics) bind(rt router.RunnerType) *typeMeters {
	t := &typeMeters{started: m.started.WithLabelValues(string(rt)),
		completed: map[router.TaskOutcome]prometheus.Counter{}, duration: map[router.TaskOutcome]prometheus.Observer{}}
	for _, o := range []router.TaskOutcome{router.OutcomeSuccess, router.OutcomeFailure, router.OutcomeCanceled, router.OutcomeTimeout} {
		t.completed[o] = m.completed.WithLabelValues(string(rt), string(o))
		t.duration[o] = m.duration.WithLabelValues(string(rt), string(o))
	}
	return t
}

func (m *Metrics) typeMeters(rt router.RunnerType) *typeMeters {
	if t, ok := m.byType.Load(rt); ok {
		return t.(*typeMeters)
	}
	t, _ := m.byType.LoadOrStore(rt, m.bind(rt))
	return t.(*typeMeters)
}

// RecordTaskStarted counts an attempt's start.
func (m *Metrics) RecordTaskStarted(rt router.RunnerType) { m.typeMeters(rt).started.Inc() }

// RecordTaskCompleted counts an attempt's end and observes its duration.
func (m *Metrics) RecordTaskCompleted(rt router.RunnerType, o router.TaskOutcome, d time.Duration) {
	t := m.typeMeters(rt)
	c, ok := t.completed[o]
	if !ok { // an outcome solti does not define: still counted
		m.completed.WithLabelValues(string(rt), string(o)).Inc()
		m.duration.WithLabelValues(string(rt), string(o)).Observe(d.Seconds())
		return
	}
	c.Inc()
	t.duration[o].Observe(d.Seconds())
}

// RecordRunnerError counts a runner error of kind.
func (m *Metrics) RecordRunnerError(rt router.RunnerType, kind string) {
	m.errors.WithLabelValues(string(rt), kind).Inc()
}

// ModuleSwapped counts a hot reload that replaced runner's module by a new version. The
// runtime does not swap modules itself; a registry that does calls this.
func (m *Metrics) ModuleSwapped(runner string) { m.swaps.WithLabelValues(runner).Inc() }

// SupportsCooledDown meters a runner taken out of routing until until because its supports
// kept faulting. The runtime does not route; a registry that cools runners down calls this.
func (m *Metrics) SupportsCooledDown(runner string, until time.Time) {
	m.cooldowns.WithLabelValues(runner).Inc()
	m.cooldownUntil.WithLabelValues(runner).Set(float64(until.UnixNano()) / 1e9)
}

// ModuleRejected counts a module refused at stage.
func (m *Metrics) ModuleRejected(_ string, stage string) { m.rejections.WithLabelValues(stage).Inc() }

// ModuleLoaded counts a load, observes its compile time and returns the module's meter.
func (m *Metrics) ModuleLoaded(ref runtime.ModuleRef, compile time.Duration) runtime.ModuleMeter {
	d := ShortDigest(ref.Digest)
	m.loads.WithLabelValues(ref.Runner).Inc()
	m.compile.WithLabelValues(ref.Runner, d).Observe(compile.Seconds())
	mm := &moduleMeter{m: m, runner: ref.Runner, digest: d, exports: map[string]*exportMeters{},
		memHigh:  m.memHigh.WithLabelValues(ref.Runner, d),
		poolSize: m.poolSize.WithLabelValues(ref.Runner, d),
		poolWait: m.poolWait.WithLabelValues(ref.Runner, d),
		instOK:   m.insts.WithLabelValues(ref.Runner, d, "ok"),
		instErr:  m.insts.WithLabelValues(ref.Runner, d, "error"),
		instTime: m.instSeconds.WithLabelValues(ref.Runner, d),
	}
	for _, e := range []string{"name", "describe", "supports", "build", "run", "_initialize"} {
		mm.exports[e] = mm.bindExport(e)
	}
	return mm
}

// ShortDigest is the digest label: the first 12 hex digits of a sha256.
func ShortDigest(sha string) string { return sha[:min(len(sha), 12)] }

type moduleMeter struct {
	m               *Metrics
	runner, digest  string
	exports         map[string]*exportMeters // fixed after ModuleLoaded: read without a lock
	memHigh         prometheus.Gauge
	memMax          atomic.Uint32
	poolSize        prometheus.Gauge
	poolWait        prometheus.Observer
	instOK, instErr prometheus.Counter
	instTime        prometheus.Observer
}

type exportMeters struct {
	calls, in, out, fuel prometheus.Counter
	seconds              prometheus.Observer
}

func (mm *moduleMeter) bindExport(e string) *exportMeters {
	l := []string{mm.runner, mm.digest, e}
	return &exportMeters{calls: mm.m.calls.WithLabelValues(l...), in: mm.m.bytesIn.WithLabelValues(l...),
		out: mm.m.bytesOut.WithLabelValues(l...), fuel: mm.m.fuel.WithLabelValues(l...),
		seconds: mm.m.callSeconds.WithLabelValues(l...)}
}

func (mm *moduleMeter) Called(c runtime.CallStats) {
	em, ok := mm.exports[c.Export]
	if !ok {
		em = mm.bindExport(c.Export)
	}
	em.calls.Inc()
	em.seconds.Observe(c.Duration.Seconds())
	if c.BytesIn > 0 {
		em.in.Add(float64(c.BytesIn))
	}
	if c.BytesOut > 0 {
		em.out.Add(float64(c.BytesOut))
	}
	if c.Fuel > 0 {
		em.fuel.Add(float64(c.Fuel))
	}
	if c.Fault != "" {
		mm.m.traps.WithLabelValues(mm.runner, mm.digest, c.Export, c.Fault).Inc()
		if c.Fault == runtime.FaultDeadline {
			mm.m.deadlines.WithLabelValues(mm.runner, mm.digest, c.Export).Inc()
		}
	}
	for {
		old := mm.memMax.Load()
		if c.MemoryPages <= old {
			break
		}
		if mm.memMax.CompareAndSwap(old, c.MemoryPages) {
			mm.memHigh.Set(float64(c.MemoryPages))
			break
		}
	}
}

func (mm *moduleMeter) Instantiated(d time.Duration, err error) {
	if err != nil {
		mm.instErr.Inc()
		return
	}
	mm.instOK.Inc()
	mm.instTime.Observe(d.Seconds())
}

func (mm *moduleMeter) PoolWaited(d time.Duration) { mm.poolWait.Observe(d.Seconds()) }

func (mm *moduleMeter) PoolSize(n int) { mm.poolSize.Set(float64(n)) }

// Closed deletes the module's digest-labelled series.
func (mm *moduleMeter) Closed() {
	l := prometheus.Labels{"runner": mm.runner, "digest": mm.digest}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		mm.m.calls, mm.m.callSeconds, mm.m.traps, mm.m.deadlines, mm.m.bytesIn, mm.m.bytesOut, mm.m.fuel,
		mm.m.memHigh, mm.m.poolSize, mm.m.poolWait, mm.m.insts, mm.m.instSeconds, mm.m.compile,
	} {
		v.DeletePartialMatch(l)
	}
}
