package router

import (
	"context"
	"strconv"

	"github.com/solti-wasm/solti-wasm/abi"
)

// BuildContext holds what the router injects into every build: the host's env and the metrics
// backend. The zero value is usable: empty env, no-op metrics.
type BuildContext struct {
	// Env is the host's env; on merge with a task's env its values win.
	Env abi.Env
	// Metrics receives task and runner events. Nil means NoopMetrics.
	Metrics MetricsBackend
	// NextSeq, when set, allocates the sequence number of each build's run id instead of the
	// process-wide counter: a durable host takes it from its store, so that run ids never
	// repeat across restarts. An error fails the build (an InternalError).
	NextSeq func(ctx context.Context) (uint64, error)
}

// runID allocates a build's run id, from NextSeq when set.
func (c *BuildContext) runID(ctx context.Context, runner, slot string) (RunID, error) {
	if c.NextSeq == nil {
		return MakeRunID(runner, slot), nil
	}
	seq, err := c.NextSeq(ctx)
	if err != nil {
		return RunID{}, err
	}
	return FormatRunID(runner, slot, seq), nil
}

// MetricsOrNoop returns Metrics, or NoopMetrics when it is nil.
func (c *BuildContext) MetricsOrNoop() MetricsBackend {
	if c == nil || c.Metrics == nil {
		return NoopMetrics{}
	}
	return c.Metrics
}

// MergedEnv returns the task env overlaid with the context env (context wins), sorted by key.
func (c *BuildContext) MergedEnv(task abi.Env) abi.Env {
	if c == nil {
		return abi.Merge(task, nil)
	}
	return abi.Merge(task, c.Env)
}

// String is solti's form: "BuildContext(env_len=N)".
func (c *BuildContext) String() string {
	n := 0
	if c != nil {
		n = len(c.Env)
	}
	return "BuildContext(env_len=" + strconv.Itoa(n) + ")"
}

// TaskEnv returns the env a task kind carries, if any.
func TaskEnv(spec *abi.TaskSpec) abi.Env {
	switch k := spec.Kind; {
	case k.Subprocess != nil:
		return k.Subprocess.Env
	case k.Wasm != nil:
		return k.Wasm.Env
	case k.Container != nil:
		return k.Container.Env
	}
	return nil
}
