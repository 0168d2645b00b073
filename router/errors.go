package router

import (
	"errors"
	"fmt"
)

// Sentinel errors, one per solti RunnerError variant. Every error the router returns wraps one
// of them, so callers test the variant with errors.Is and read details with errors.As.
var (
	ErrNoRunner        = errors.New("no suitable runner")
	ErrUnsupportedKind = errors.New("unsupported task kind")
	ErrInvalidSpec     = errors.New("invalid specification")
	ErrInternal        = errors.New("internal error")
	ErrMissingField    = errors.New("missing field")
	ErrIO              = errors.New("io error")
	// ErrDuplicateRunner, ErrInvalidLabels and ErrInvalidRunner are registration errors (solti's newer generation).
	ErrDuplicateRunner = errors.New("duplicate runner name")
	ErrInvalidLabels   = errors.New("invalid runner labels")
	ErrInvalidRunner   = errors.New("invalid runner")
)

// NoRunnerError: no registered runner supports the task and matches its selector.
type NoRunnerError struct {
	Kind string
	// Faults are the runners whose Supports failed (a guest trap, a deadline) rather than
	// said no, in routing order: the reason a caller should show, since a fault counts as no.
	Faults []RunnerFault
}

// RunnerFault is a runner's failed Supports call.
type RunnerFault struct {
	Runner string
	Err    error
}

func (e *NoRunnerError) Error() string { return "no suitable runner for task kind: " + e.Kind }

// Is makes errors.Is(err, ErrNoRunner) true.
func (e *NoRunnerError) Is(target error) bool { return target == ErrNoRunner }

// UnsupportedKindError: a runner was asked to build a kind it does not handle.
type UnsupportedKindError struct{ Runner, Kind string }

func (e *UnsupportedKindError) Error() string {
	return fmt.Sprintf("unsupported task kind for runner '%s': %s", e.Runner, e.Kind)
}

// Is makes errors.Is(err, ErrUnsupportedKind) true.
func (e *UnsupportedKindError) Is(target error) bool { return target == ErrUnsupportedKind }

// InvalidSpecError: the spec (or what a runner derived from it) is not valid. Err, when set,
// is the underlying cause, such as an *abi.ValidationError.
type InvalidSpecError struct {
	Msg string
	Err error
}

func (e *InvalidSpecError) Error() string { return "invalid specification: " + e.Msg }

// Is makes errors.Is(err, ErrInvalidSpec) true.
func (e *InvalidSpecError) Is(target error) bool { return target == ErrInvalidSpec }

// Unwrap returns the cause.
func (e *InvalidSpecError) Unwrap() error { return e.Err }

// InternalError: a runner or the host failed in a way the spec did not cause.
type InternalError struct {
	Msg string
	Err error
}

func (e *InternalError) Error() string { return "internal error: " + e.Msg }

// Is makes errors.Is(err, ErrInternal) true.
func (e *InternalError) Is(target error) bool { return target == ErrInternal }

// Unwrap returns the cause.
func (e *InternalError) Unwrap() error { return e.Err }

// MissingFieldError: a field the runner needs is absent.
type MissingFieldError struct{ Field string }

func (e *MissingFieldError) Error() string { return "missing field: " + e.Field }

// Is makes errors.Is(err, ErrMissingField) true.
func (e *MissingFieldError) Is(target error) bool { return target == ErrMissingField }

// IOError: reading or writing something the build needed failed.
type IOError struct {
	Msg string
	Err error
}

func (e *IOError) Error() string { return "io error: " + e.Msg }

// Is makes errors.Is(err, ErrIO) true.
func (e *IOError) Is(target error) bool { return target == ErrIO }

// Unwrap returns the cause.
func (e *IOError) Unwrap() error { return e.Err }

// BuildError wraps the error of the runner chosen to build a task:
// "runner '<name>' failed to build task: <cause>". The cause keeps its variant, so
// errors.Is(err, ErrInvalidSpec) still answers for it.
type BuildError struct {
	Runner string
	Err    error
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("runner '%s' failed to build task: %v", e.Runner, e.Err)
}

// Unwrap returns the runner's error.
func (e *BuildError) Unwrap() error { return e.Err }
