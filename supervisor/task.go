package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/solti-wasm/solti-wasm/router"
)

// Task is one built task, ready to run: what an executor makes of a plan. Execute runs one
// attempt; the supervisor calls it once per attempt, never concurrently for one task.
//
// Execute must return when ctx is done (the supervisor cancels it on Cancel, on replace and
// at the task's deadline), and stream output lines to out as they come. Its error decides
// the attempt's outcome:
//
//   - nil: success;
//   - a *FatalError (see Fatal): setup, spawn or instantiation failed; never retried;
//   - anything else, such as an *ExitError: a retryable failure.
//
// An error after ctx is done counts as canceled or timeout, whatever it is.
type Task interface {
	Execute(ctx context.Context, a Attempt, out Sink) (Result, error)
}

// TaskFunc adapts a function to Task.
type TaskFunc func(ctx context.Context, a Attempt, out Sink) (Result, error)

// Execute calls f.
func (f TaskFunc) Execute(ctx context.Context, a Attempt, out Sink) (Result, error) {
	return f(ctx, a, out)
}

// Attempt identifies one attempt of a task.
type Attempt struct {
	RunID string
	// Number counts from 1.
	Number int
}

// Result is what an attempt produced besides its streamed lines.
type Result struct {
	// ExitCode is the process's (exec) or WASI module's (wasi) exit code; nil for a guest.
	ExitCode *int
	// Output is the task's result bytes (a guest's run output); nil for processes, whose
	// output is the lines they streamed.
	Output []byte
}

// Stream names where a line came from.
type Stream string

// Streams of output lines.
const (
	Stdout Stream = "stdout" // a process's or WASI module's stdout; a guest's emit(1, ...)
	Stderr Stream = "stderr" // a process's or WASI module's stderr; a guest's emit(2, ...)
	Log    Stream = "log"    // a guest's log import
)

// Line is one line of live output, without its newline.
type Line struct {
	Stream Stream
	Text   string
	// Truncated: the guest's line or log message was cut at its limit (ABI §7).
	Truncated bool
}

// Sink receives an attempt's live output. It is called from the executor's goroutines, one
// line at a time per stream; implementations must be quick and safe for concurrent use.
type Sink func(Line)

// FatalError marks an attempt that failed before the work could start: a policy refusal, a
// spawn, load or instantiation failure. The supervisor never retries it; the task ends failed.
type FatalError struct {
	// Kind is solti's runner error kind for the metrics (router.ErrorSpawnFailed, ...), or "".
	Kind string
	Err  error
}

func (e *FatalError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *FatalError) Unwrap() error { return e.Err }

// Fatal wraps err as a *FatalError of kind (nil stays nil).
func Fatal(kind string, err error) error {
	if err == nil {
		return nil
	}
	return &FatalError{Kind: kind, Err: err}
}

// ExitError is a process that exited with a non-zero code while failOnNonZero held: a
// retryable failure with solti's message.
type ExitError struct{ Code int }

func (e *ExitError) Error() string {
	return fmt.Sprintf("process exited with non-zero code: %d", e.Code)
}

// Errors and causes the supervisor reports.
var (
	// ErrSlotBusy: admission dropIfRunning refused a task because its slot is busy.
	ErrSlotBusy = errors.New("slot busy")
	// ErrQueueFull: admission queue refused a task because its slot's queue is full.
	ErrQueueFull = errors.New("slot queue full")
	// ErrClosed: the supervisor is shut down.
	ErrClosed = errors.New("supervisor closed")
	// ErrCanceled is the cause of a task canceled through its Handle.
	ErrCanceled = errors.New("task canceled")
	// ErrReplaced is the cause of a task canceled by a newer one under admission replace.
	ErrReplaced = errors.New("replaced by a newer task in its slot")
)

// TimeoutError is the cause of an attempt stopped at the task's deadline.
type TimeoutError struct{ Timeout time.Duration }

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("the task's timeout of %v expired", e.Timeout)
}

// Phase is where a task is in its life.
type Phase string

// Phases; the last five are terminal.
const (
	PhasePending   Phase = "pending" // admitted, waiting for its slot, or for a restart
	PhaseRunning   Phase = "running"
	PhaseSucceeded Phase = "succeeded"
	PhaseFailed    Phase = "failed"
	PhaseTimeout   Phase = "timeout"
	PhaseCanceled  Phase = "canceled"
	PhaseExhausted Phase = "exhausted" // retries exhausted (maxRetries)
)

// Terminal reports whether p is a final phase.
func (p Phase) Terminal() bool {
	switch p {
	case PhaseSucceeded, PhaseFailed, PhaseTimeout, PhaseCanceled, PhaseExhausted:
		return true
	}
	return false
}

// Status is a task's state: solti's {phase, attempt, exitCode, error}, with the run id, its
// slot and the outcome of the last attempt.
type Status struct {
	RunID string `json:"runId"`
	Slot  string `json:"slot"`
	Phase Phase  `json:"phase"`
	// Attempt is the number of the current or last attempt; 0 before the first.
	Attempt int `json:"attempt"`
	// ExitCode is the last attempt's exit code, for exec and wasi tasks.
	ExitCode *int `json:"exitCode"`
	// Error is the last attempt's error, "" when it succeeded.
	Error string `json:"error,omitempty"`
	// Outcome is how the last attempt ended ("" before one did).
	Outcome router.TaskOutcome `json:"outcome,omitempty"`
	// Output is the last successful attempt's result bytes (a guest's run output).
	Output []byte `json:"-"`
	// Err is the last attempt's error value, for errors.Is.
	Err error `json:"-"`
}
