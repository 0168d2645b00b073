package router

import "time"

// RunnerType labels what executes a task.
type RunnerType string

// Runner types.
const (
	RunnerSubprocess RunnerType = "subprocess"
	RunnerWasm       RunnerType = "wasm"
	RunnerContainer  RunnerType = "container"
)

// TaskOutcome labels how a task attempt ended.
type TaskOutcome string

// Task outcomes.
const (
	OutcomeSuccess  TaskOutcome = "success"
	OutcomeFailure  TaskOutcome = "failure"
	OutcomeCanceled TaskOutcome = "canceled"
	OutcomeTimeout  TaskOutcome = "timeout"
)

// Runner error kinds.
const (
	ErrorSpawnFailed         = "spawn_failed"
	ErrorModuleLoadFailed    = "module_load_failed"
	ErrorBackendConfigFailed = "backend_config_failed"
	ErrorCgroupPrepareFailed = "cgroup_prepare_failed"
)

// MetricsBackend receives task and runner events; solti's MetricsBackend. Implementations must
// be safe for concurrent use and cheap: they sit on the task path. The core never imports an
// exporter; a Prometheus backend implements this interface from outside.
type MetricsBackend interface {
	RecordTaskStarted(runner RunnerType)
	RecordTaskCompleted(runner RunnerType, outcome TaskOutcome, d time.Duration)
	RecordRunnerError(runner RunnerType, errorKind string)
}

// NoopMetrics discards everything at no cost.
type NoopMetrics struct{}

// RecordTaskStarted does nothing.
func (NoopMetrics) RecordTaskStarted(RunnerType) {}

// RecordTaskCompleted does nothing.
func (NoopMetrics) RecordTaskCompleted(RunnerType, TaskOutcome, time.Duration) {}

// RecordRunnerError does nothing.
func (NoopMetrics) RecordRunnerError(RunnerType, string) {}
