package host

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/executor"
	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

// The scopes of a RunnerInfo.
const (
	ScopeTenant = "tenant"
	ScopeShared = "shared"
)

// tenantRT is one tenant's share of the host: nothing in it is shared with another tenant
// but the compilation cache on disk.
type tenantRT struct {
	name   string
	limits Limits
	caps   Capabilities
	dir    string // its own runners directory, "" when it has none

	rt      *runtime.Runtime
	budget  *runtime.MemoryBudget
	meters  *runnerMeters
	scopes  []*scope // its own runners first, then the shared ones
	sup     *supervisor.Supervisor
	exe     *executor.Config
	limiter *rate.Limiter

	mu      sync.Mutex
	queued  int      // accepted generations not yet running
	running int      // tasks holding a running slot
	parked  []func() // deliveries waiting for a running slot, FIFO
	subs    map[int]chan RunnerEvent
	nextSub int
}

// scope is one registry of a tenant: its own directory or its copy of the shared one.
type scope struct {
	name string // ScopeTenant or ScopeShared
	reg  *registry.Registry

	mu   sync.Mutex
	meta map[string]*fileMeta // by module path
}

// fileMeta is what the registry's events told about one module file.
type fileMeta struct {
	loadedAt time.Time
	history  []RunnerVersion
}

// newTenant builds a tenant's runtime, registries, router, supervisor and executor config.
func (h *Host) newTenant(ctx context.Context, t Tenant) (_ *tenantRT, err error) {
	lim := t.Limits.withDefaults(h.cfg.Defaults.withDefaults(DefaultLimits))
	tr := &tenantRT{name: t.Name, limits: lim, caps: t.Capabilities, dir: t.Runners, subs: map[int]chan RunnerEvent{}}
	var taskMetrics router.MetricsBackend = router.NoopMetrics{}
	var obs runtime.Observer
	if h.cfg.Metrics != nil {
		if taskMetrics, obs, err = h.cfg.Metrics.Tenant(t.Name); err != nil {
			return nil, &SetupError{Tenant: t.Name, Part: "metrics", Err: err}
		}
		if taskMetrics == nil {
			taskMetrics = router.NoopMetrics{}
		}
	}
	tr.meters = &runnerMeters{next: obs, byDigest: map[string]*RunnerMeters{}}
	wait := h.cfg.MemoryWait
	switch {
	case wait == 0:
		wait = 5 * time.Second
	case wait < 0:
		wait = 0
	}
	tr.budget = runtime.NewMemoryBudget(lim.MaxTotalMemoryPages, wait)
	tr.rt, err = runtime.New(ctx, runtime.Config{
		Engine:   h.cfg.Engine,
		CacheDir: h.cfg.CacheDir,
		Limits: runtime.Limits{
			MaxMemoryPages:  lim.MaxMemoryPages,
			CallFuel:        lim.CallFuel,
			RunFuel:         lim.RunFuel,
			CallTimeout:     lim.CallTimeout,
			SupportsTimeout: lim.SupportsTimeout,
		},
		Logger:           tr.logger(h.log, h.cfg.NoTenantAttr),
		Observer:         tr.meters,
		RunInstanceCalls: h.cfg.RunInstanceCalls,
		MemoryBudget:     tr.budget,
	})
	if err != nil {
		return nil, &SetupError{Tenant: t.Name, Part: "runtime", Err: err}
	}
	defer func() {
		if err != nil {
			tr.close(context.Background())
		}
	}()
	bc := router.BuildContext{Env: overlay(hostEnv(t.Capabilities.Env), t.BuildEnv), Metrics: taskMetrics, NextSeq: h.st.NextRunSeq}
	for _, s := range []struct{ name, dir string }{{ScopeTenant, t.Runners}, {ScopeShared, h.cfg.SharedRunners}} {
		if s.dir == "" {
			continue
		}
		sc := &scope{name: s.name, meta: map[string]*fileMeta{}}
		sc.reg, err = registry.New(registry.Config{
			Dir: s.dir, Runtime: tr.rt, Router: router.New(bc), Watch: !h.cfg.NoWatch,
			Debounce: h.cfg.Debounce, Logger: cmp.Or(h.cfg.RegistryLogger, h.log).With("tenant", t.Name, "scope", s.name),
		})
		if err != nil {
			return nil, &SetupError{Tenant: t.Name, Part: s.name + " runners", Err: err}
		}
		events, _ := sc.reg.Subscribe(256) // ended by the registry's Close
		h.bg.Add(1)
		go func() {
			defer h.bg.Done()
			for ev := range events {
				tr.observe(sc, ev)
			}
		}()
		tr.scopes = append(tr.scopes, sc)
		if err = sc.reg.Start(ctx); err != nil {
			return nil, &SetupError{Tenant: t.Name, Part: s.name + " runners", Err: err}
		}
	}
	grants, err := mountGrants(t.Name, t.Capabilities.WasiMounts)
	if err != nil {
		return nil, err
	}
	execEnv := hostEnvList(t.Capabilities.Env)
	if t.Capabilities.InheritEnv {
		execEnv = os.Environ()
	}
	tr.exe = &executor.Config{
		Exec:      executor.ExecPolicy{Allow: t.Capabilities.Exec, Env: t.Capabilities.ExecEnv, Cwd: t.Capabilities.ExecCwd},
		ExecEnv:   execEnv,
		Runtime:   tr.rt,
		ModuleDir: t.Capabilities.WasiDir,
		Mounts:    grants,
	}
	tr.sup = supervisor.New(supervisor.Config{Metrics: taskMetrics})
	tr.limiter = rate.NewLimiter(rate.Limit(lim.CreateRate), lim.CreateBurst)
	return tr, nil
}

// logger is base with the tenant's attribute, unless untagged.
func (tr *tenantRT) logger(base *slog.Logger, untagged bool) *slog.Logger {
	if untagged {
		return base
	}
	return base.With("tenant", tr.name)
}

// hostEnv is the host environment variables a tenant lets through, for its builds.
func hostEnv(names []string) abi.Env {
	m := map[string]string{}
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			m[n] = v
		}
	}
	return abi.EnvFromMap(m)
}

// overlay is base with over's values on top (over wins).
func overlay(base, over abi.Env) abi.Env {
	if len(over) == 0 {
		return base
	}
	m := map[string]string{}
	for _, kv := range base {
		m[kv.Key] = kv.Value
	}
	for _, kv := range over {
		m[kv.Key] = kv.Value
	}
	return abi.EnvFromMap(m)
}

// hostEnvList is the same as KEY=VALUE, the base env of the tenant's exec plans: nothing of
// the host's environment but the names the tenant was granted.
func hostEnvList(names []string) []string {
	out := []string{}
	for _, kv := range hostEnv(names) {
		out = append(out, kv.Key+"="+kv.Value)
	}
	return out
}

// observe records a registry event and fans it out to the tenant's subscribers.
func (tr *tenantRT) observe(sc *scope, ev registry.Event) {
	sc.mu.Lock()
	fm := sc.meta[ev.Path]
	if fm == nil {
		fm = &fileMeta{}
		sc.meta[ev.Path] = fm
	}
	switch ev.Type {
	case registry.EventLoaded:
		fm.loadedAt = ev.Time
	case registry.EventSwapped, registry.EventRolledBack:
		ended := "swapped"
		if ev.Type == registry.EventRolledBack {
			ended = "rolledBack"
		}
		if ev.PrevDigest != "" {
			fm.history = slices.Insert(fm.history, 0, RunnerVersion{Digest: "sha256:" + ev.PrevDigest, LoadedAt: fm.loadedAt, Ended: ended})
			fm.history = fm.history[:min(len(fm.history), 16)]
		}
		fm.loadedAt = ev.Time
	case registry.EventRemoved:
		delete(sc.meta, ev.Path)
	}
	sc.mu.Unlock()

	re := RunnerEvent{Type: string(ev.Type), Runner: ev.Runner, File: filepath.Base(ev.Path), Error: ev.Reason, Time: ev.Time}
	if ev.Digest != "" {
		re.Digest = "sha256:" + ev.Digest
	}
	if ev.Stage != "" && re.Error != "" {
		re.Error = ev.Stage + ": " + re.Error
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, ch := range tr.subs {
		select { // never block the registry: a slow subscriber misses events
		case ch <- re:
		default:
		}
	}
}

// version finds the serving version of runner name, the tenant's own first.
func (tr *tenantRT) version(name string) *registry.Version {
	for _, sc := range tr.scopes {
		for _, v := range sc.reg.Current() {
			if v.Name() == name {
				return v
			}
		}
	}
	return nil
}

// build routes and builds req among the tenant's runners, then the shared ones.
func (tr *tenantRT) build(ctx context.Context, req *router.Request) (*router.Built, error) {
	var first error
	for _, sc := range tr.scopes {
		b, err := sc.reg.Router().Build(ctx, req)
		if err == nil {
			return b, nil
		}
		var nr *router.NoRunnerError
		if !errors.As(err, &nr) {
			return nil, err
		}
		if first == nil {
			first = err
		} else if len(nr.Faults) > 0 { // keep every scope's faults in the answer
			var fnr *router.NoRunnerError
			if errors.As(first, &fnr) {
				fnr.Faults = append(fnr.Faults, nr.Faults...)
			}
		}
	}
	if first == nil {
		first = &router.NoRunnerError{Kind: req.Spec.Kind.Name()}
	}
	return nil, first
}

// acquire takes a running slot, or parks resume until one frees; it reports whether it took one.
func (tr *tenantRT) acquire(resume func()) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.running < tr.limits.MaxRunning {
		tr.running++
		return true
	}
	tr.parked = append(tr.parked, resume)
	return false
}

// release frees a running slot, handing it to the oldest parked delivery if any (returned,
// for the caller to start).
func (tr *tenantRT) release() func() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.parked) > 0 {
		next := tr.parked[0]
		tr.parked = tr.parked[1:]
		return next // the slot passes to it
	}
	tr.running--
	return nil
}

// takeParked empties the parked list (at shutdown).
func (tr *tenantRT) takeParked() []func() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	p := tr.parked
	tr.parked = nil
	return p
}

func (tr *tenantRT) addQueued(n int) {
	tr.mu.Lock()
	tr.queued += n
	tr.mu.Unlock()
}

// close stops the tenant's supervisor, registries and runtime.
func (tr *tenantRT) close(ctx context.Context) {
	if tr.sup != nil {
		_ = tr.sup.Close(ctx)
	}
	for _, sc := range tr.scopes {
		_ = sc.reg.Close(ctx)
	}
	if tr.rt != nil {
		_ = tr.rt.Close(ctx)
	}
	tr.mu.Lock()
	for id, ch := range tr.subs {
		close(ch)
		delete(tr.subs, id)
	}
	tr.mu.Unlock()
}

// isWasmBase reports whether file is a plain module file name: a base name ending .wasm,
// not hidden.
func isWasmBase(file string) bool {
	return file != "" && filepath.Base(file) == file && strings.HasSuffix(file, ".wasm") && !strings.HasPrefix(file, ".") && file != ".wasm"
}
