package host

import (
	"errors"
	"fmt"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Errors of the pipeline, beside the store's (store.ErrNotFound, ErrExists, ErrConflict,
// ErrExpired), for errors.Is.
var (
	// ErrDraining: the host is stopping and takes no new task (HTTP 503).
	ErrDraining = errors.New("host is shutting down")
	// ErrNotReady: the store is not open or the runners are not loaded yet (HTTP 503).
	ErrNotReady = errors.New("host is not ready")
)

// SetupError is a tenant's part that New could not set up: Part is "metrics", "runtime",
// "tenant runners" or "shared runners".
type SetupError struct {
	Tenant, Part string
	Err          error
}

func (e *SetupError) Error() string { return fmt.Sprintf("tenant %q: %s: %v", e.Tenant, e.Part, e.Err) }

// Unwrap returns the cause.
func (e *SetupError) Unwrap() error { return e.Err }

// QuotaError is a tenant limit that refused a request (HTTP 429 with Retry-After).
type QuotaError struct {
	Tenant string
	// Limit names the limit: "createRate", "queuedTasks", ...
	Limit string
	// RetryAfter is when trying again may succeed; 0 when unknown.
	RetryAfter time.Duration
	Detail     string
}

func (e *QuotaError) Error() string {
	msg := fmt.Sprintf("tenant %s: over its %s limit", e.Tenant, e.Limit)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// LogEvent is one event of a task's log stream: a run started, a chunk of output, a run
// finished, or lagged (the reader fell behind and Skipped events were dropped). Seq orders
// a task's events from 1; a reader resumes after the last Seq it saw.
type LogEvent struct {
	Seq  uint64 `json:"seq"`
	Type string `json:"type"` // LogRunStarted, LogChunk, LogRunFinished, LogLagged
	// Attempt and RunID name the run.
	Attempt int    `json:"attempt,omitempty"`
	RunID   string `json:"runId,omitempty"`
	// Stream (stdout, stderr, log) and Line are a chunk's.
	Stream    string `json:"stream,omitempty"`
	Line      string `json:"line,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	// Phase, Outcome (success, failure, timeout or canceled), ExitCode and Error are a
	// finished run's.
	Phase    string `json:"phase,omitempty"`
	Outcome  string `json:"outcome,omitempty"`
	ExitCode *int   `json:"exitCode,omitempty"`
	Error    string `json:"error,omitempty"`
	// Output is a successful guest run's result, whole (not on the wire: the run's record
	// keeps its tail), for a reader in the host's process.
	Output []byte `json:"-"`
	// Skipped is a lagged event's count of dropped events.
	Skipped uint64 `json:"skipped,omitempty"`
	// Time is when the event happened.
	Time time.Time `json:"ts"`
}

// The log event types, solti's SSE names.
const (
	LogRunStarted  = "run-started"
	LogChunk       = "chunk"
	LogRunFinished = "run-finished"
	LogLagged      = "lagged"
)

// RunnerInfo describes a runner module a tenant can route to.
type RunnerInfo struct {
	Name string `json:"name"`
	// Scope is "tenant" for the tenant's own runners, "shared" for the shared directory's.
	Scope    string            `json:"scope"`
	File     string            `json:"file"`
	Digest   string            `json:"digest"`
	Kinds    []string          `json:"kinds"`
	Labels   map[string]string `json:"labels,omitempty"`
	LoadedAt time.Time         `json:"loadedAt"`
	// History lists the versions that served before this one, newest first.
	History []RunnerVersion `json:"history,omitempty"`
	// Meters are the runner's call counts and fuel, from the host's meters.
	Meters RunnerMeters `json:"meters"`
}

// RunnerVersion is one earlier version of a runner.
type RunnerVersion struct {
	Digest   string    `json:"digest"`
	LoadedAt time.Time `json:"loadedAt"`
	// Ended says how it stopped serving: swapped, rolledBack, removed.
	Ended string `json:"ended"`
}

// RunnerMeters are a runner's counters since it was loaded.
type RunnerMeters struct {
	Calls    uint64 `json:"calls"`
	Faults   uint64 `json:"faults"`
	FuelUsed int64  `json:"fuelUsed"`
	Tasks    uint64 `json:"tasks"`
}

// RouteVerdict is one runner's answer to a dry-run route: what `solti-wasm route` prints.
type RouteVerdict struct {
	Runner string `json:"runner"`
	// Verdict is the router's: selected, supported, unsupported, selectorMismatch, fault,
	// coolingDown, ...
	Verdict string `json:"verdict"`
	Detail  string `json:"detail,omitempty"`
}

// RunnerEvent is one event of a tenant's registry feed: a module loaded, swapped,
// rejected, rolled back or removed.
type RunnerEvent struct {
	Type   string    `json:"type"`
	Runner string    `json:"runner,omitempty"`
	File   string    `json:"file"`
	Digest string    `json:"digest,omitempty"`
	Error  string    `json:"error,omitempty"`
	Time   time.Time `json:"time"`
}

// Tenant is one tenant of a host: its name, its runners and what it may use. Package tenant
// reads these from the serve command's YAML config.
type Tenant struct {
	// Name is a DNS-1123 label; it labels the tenant's meters.
	Name string
	// Runners is the tenant's own runners directory, hot-reloaded; it routes to these first,
	// then to the host's shared runners.
	Runners string
	Limits  Limits
	// Capabilities are what the tenant's plans may do on the host.
	Capabilities Capabilities
	// BuildEnv are values every build of the tenant's tasks gets in its env, over the task's
	// own and the host variables Capabilities.Env lets through (the run command's --env).
	BuildEnv abi.Env
}

// Limits bound one tenant. Zero fields take the host's defaults (DefaultLimits).
type Limits struct {
	// MaxRunning bounds the tenant's tasks running at once; more wait in the queue.
	MaxRunning int
	// MaxQueued bounds the tenant's tasks accepted and not yet running; a create beyond it
	// is refused (QuotaError "queuedTasks").
	MaxQueued int
	// CreateRate is creates per second, with bursts of CreateBurst (QuotaError "createRate").
	CreateRate  float64
	CreateBurst int
	// MaxMemoryPages caps each instance's memory; MaxTotalMemoryPages all the tenant's
	// instances together (64 KiB pages).
	MaxMemoryPages      uint32
	MaxTotalMemoryPages uint32
	// CallFuel and RunFuel are the fuel budgets per call and per run; CallTimeout bounds each
	// call (runs are bounded by the task's timeout; runtime.NoCallTimeout: no deadline), and
	// SupportsTimeout each supports call (runtime.Limits' fields; 0: the runtime's default).
	CallFuel        int64
	RunFuel         int64
	CallTimeout     time.Duration
	SupportsTimeout time.Duration
	// MaxOutputBytes bounds the output kept per run (the tail is kept).
	MaxOutputBytes int
}

// Capabilities are what one tenant's plans may do on the host; the zero value allows guest
// plans only.
type Capabilities struct {
	// Exec is the exec allow-list (executor.ExecPolicy.Allow); ExecEnv and ExecCwd its env and
	// cwd grants.
	Exec    []string
	ExecEnv []string
	ExecCwd []string
	// WasiDir holds the tenant's wasi plan modules; WasiMounts are the directories they may
	// mount (HOST:GUEST[:ro|rw]).
	WasiDir    string
	WasiMounts []string
	// Env names the host environment variables that pass through to the tenant's builds and
	// exec plans; none by default.
	Env []string
	// InheritEnv starts exec plans from the host process's whole environment instead of
	// Env's variables alone (the plan's env still needs ExecEnv's grants): for a host whose
	// only tenant is its own user, the run command.
	InheritEnv bool
}
