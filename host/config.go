package host

import (
	"cmp"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/solti-wasm/solti-wasm/executor"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/store"
)

// Config configures a Host.
type Config struct {
	// Store keeps the tasks, runs and run-id sequence; Queue carries the task generations
	// ready to run. Both are required, and the caller closes them after Shutdown.
	Store store.Store
	Queue store.Queue
	// Tenants are the host's tenants (at least one, names unique).
	Tenants []Tenant
	// SharedRunners is a directory of runners every tenant routes to after its own; each
	// tenant loads it in its own registry, so no instance is ever shared. Empty: none.
	SharedRunners string
	// Engine and CacheDir configure every tenant's runtime (runtime.Config). The compilation
	// cache is shared: compiled code is immutable; instances and pools never are.
	Engine   string
	CacheDir string
	// Logger receives the host's logs. Nil discards them.
	Logger *slog.Logger
	// RegistryLogger receives the registries' logs (modules loaded, rejected, swapped,
	// rolled back). Nil: Logger. A caller that reports LoadFailures itself quiets them.
	RegistryLogger *slog.Logger
	// NoTenantAttr leaves the tenant attribute out of the runtimes' logs: for a host whose
	// one tenant is its user (the run command), whose logs read as before the host existed.
	NoTenantAttr bool
	// Metrics gives each tenant its meters, labelled with its name. Nil: none.
	Metrics Metrics
	// Workers is how many tasks are routed and built at once (runs go on under the tenants'
	// supervisors, bounded by Limits.MaxRunning). 0: 4.
	Workers int
	// Retention bounds what the store keeps of finished tasks and runs; zero fields take
	// store.DefaultRetention's. SweepEvery is how often it is applied (0: 5 min).
	Retention  store.Retention
	SweepEvery time.Duration
	// Defaults are the limits of a tenant's zero fields; zero fields of Defaults take
	// DefaultLimits'.
	Defaults Limits
	// LogEvents bounds the log events kept per task for TaskLogs (0: 1024); a reader that
	// falls further behind gets a LogLagged event.
	LogEvents int
	// MemoryWait is how long an instantiation waits for room in its tenant's memory budget
	// (Limits.MaxTotalMemoryPages) before it fails (0: 5 s; negative: not at all).
	MemoryWait time.Duration
	// Debounce is the registries' hot-reload debounce (registry.Config.Debounce; 0: its
	// default).
	Debounce time.Duration
	// NoWatch loads the runners directories once, at New, and does not watch them: a
	// one-shot host (the run command) needs no hot reload, nor its watcher goroutines.
	NoWatch bool
	// RunInstanceCalls is runtime.Config.RunInstanceCalls for every tenant's runtime.
	RunInstanceCalls int
	// Now is the clock of the records' times. Nil: time.Now.
	Now func() time.Time
}

// Metrics gives each tenant its meters: the task meters the tenant's routers and
// supervisor report to, and the wasm meters of its runtime. An exporter implements it
// outside the core, labelling every series with the tenant: with client_golang, a
// metrics/prometheus.Metrics per tenant made on
// prometheus.WrapRegistererWith(prometheus.Labels{"tenant": name}, reg).
type Metrics interface {
	Tenant(name string) (router.MetricsBackend, runtime.Observer, error)
}

// MetricsFunc adapts a function to Metrics.
type MetricsFunc func(tenant string) (router.MetricsBackend, runtime.Observer, error)

// Tenant calls f.
func (f MetricsFunc) Tenant(name string) (router.MetricsBackend, runtime.Observer, error) {
	return f(name)
}

// DefaultLimits are the limits of a tenant that sets none. The memory total is generous:
// each loaded runner keeps a pooled instance for supports and build, which holds its
// per-instance cap of the budget.
var DefaultLimits = Limits{
	MaxRunning:          8,
	MaxQueued:           10000,
	CreateRate:          1000,
	CreateBurst:         2000,
	MaxMemoryPages:      1024,
	MaxTotalMemoryPages: 65536,
	MaxOutputBytes:      64 << 10,
}

// withDefaults fills l's zero fields from d.
func (l Limits) withDefaults(d Limits) Limits {
	l.MaxRunning = cmp.Or(l.MaxRunning, d.MaxRunning)
	l.MaxQueued = cmp.Or(l.MaxQueued, d.MaxQueued)
	l.CreateRate = cmp.Or(l.CreateRate, d.CreateRate)
	l.CreateBurst = cmp.Or(l.CreateBurst, d.CreateBurst)
	l.MaxMemoryPages = cmp.Or(l.MaxMemoryPages, d.MaxMemoryPages)
	l.MaxTotalMemoryPages = cmp.Or(l.MaxTotalMemoryPages, d.MaxTotalMemoryPages)
	l.CallFuel = cmp.Or(l.CallFuel, d.CallFuel)
	l.RunFuel = cmp.Or(l.RunFuel, d.RunFuel)
	l.CallTimeout = cmp.Or(l.CallTimeout, d.CallTimeout)
	l.SupportsTimeout = cmp.Or(l.SupportsTimeout, d.SupportsTimeout)
	l.MaxOutputBytes = cmp.Or(l.MaxOutputBytes, d.MaxOutputBytes)
	return l
}

// tenantName is a DNS-1123 label.
var tenantName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// check validates the configuration, naming the field at fault.
func (c *Config) check() error {
	if c.Store == nil || c.Queue == nil {
		return fmt.Errorf("host config: Store and Queue are required")
	}
	if len(c.Tenants) == 0 {
		return fmt.Errorf("host config: no tenant")
	}
	seen := map[string]bool{}
	for i, t := range c.Tenants {
		if !tenantName.MatchString(t.Name) {
			return fmt.Errorf("host config: tenant %d: name %q is not a DNS-1123 label", i, t.Name)
		}
		if seen[t.Name] {
			return fmt.Errorf("host config: tenant %q is listed twice", t.Name)
		}
		seen[t.Name] = true
		if t.Runners == "" && c.SharedRunners == "" {
			return fmt.Errorf("host config: tenant %q: no runners directory and no shared one", t.Name)
		}
		for _, d := range []string{t.Runners, t.Capabilities.WasiDir} {
			if d == "" {
				continue
			}
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				return fmt.Errorf("host config: tenant %q: %s is not a directory", t.Name, d)
			}
		}
		if err := executor.ValidatePatterns(t.Capabilities.ExecEnv); err != nil {
			return fmt.Errorf("host config: tenant %q: exec env: %w", t.Name, err)
		}
		l := t.Limits
		if l.MaxRunning < 0 || l.MaxQueued < 0 || l.CreateRate < 0 || l.CreateBurst < 0 || l.MaxOutputBytes < 0 || l.SupportsTimeout < 0 ||
			(l.CallTimeout < 0 && l.CallTimeout != runtime.NoCallTimeout) {
			return fmt.Errorf("host config: tenant %q: negative limit", t.Name)
		}
	}
	if c.SharedRunners != "" {
		if fi, err := os.Stat(c.SharedRunners); err != nil || !fi.IsDir() {
			return fmt.Errorf("host config: shared runners %s is not a directory", c.SharedRunners)
		}
	}
	return nil
}

// mountGrants parses a tenant's wasi mounts, host paths made absolute.
func mountGrants(tenant string, mounts []string) ([]executor.MountGrant, error) {
	var out []executor.MountGrant
	for _, m := range mounts {
		g, err := executor.ParseMountGrant(m)
		if err != nil {
			return nil, fmt.Errorf("host config: tenant %q: wasi mount: %w", tenant, err)
		}
		if g.Host, err = filepath.Abs(g.Host); err != nil {
			return nil, fmt.Errorf("host config: tenant %q: wasi mount %q: %w", tenant, m, err)
		}
		out = append(out, g)
	}
	return out, nil
}
