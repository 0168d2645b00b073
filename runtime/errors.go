package runtime

import (
	"errors"
	"fmt"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Load errors: a *LoadError wraps one of these.
var (
	ErrNotWasm         = errors.New("not a wasm file")
	ErrInvalidModule   = errors.New("invalid wasm module")
	ErrNotRunner       = errors.New("not a solti runner")
	ErrABIVersion      = errors.New("unsupported ABI version")
	ErrMissingExport   = errors.New("missing export")
	ErrExportType      = errors.New("export has the wrong type")
	ErrForbiddenImport = errors.New("forbidden import")
	ErrBadName         = errors.New("invalid runner name")
	ErrBadDescription  = errors.New("invalid describe output")
	ErrDuplicateName   = errors.New("duplicate runner name")
	// ErrComponent is a WebAssembly component (layer 1) where a core module is expected.
	ErrComponent = errors.New("wasm components are not supported yet; build a core module (for example wasm32-wasip1)")
	// ErrModuleLimit is a module over an implementation limit of the pre-validation (counts
	// of types, functions, imports..., body size, locals, nesting depth; ABI.md §7).
	ErrModuleLimit = errors.New("module over an implementation limit")
	// ErrCompileTimeout is a compilation slower than Limits.CompileTimeout.
	ErrCompileTimeout = errors.New("compile time budget exceeded")
	// ErrEnginePanic is a panic inside the engine (a bug in it, triggered by a module),
	// recovered: the load or call fails, the runtime serves on.
	ErrEnginePanic = errors.New("engine panic")
)

// Call errors: a *CallError wraps one of these (or router error variants for a guest's
// structured error from build).
var (
	ErrTrap           = errors.New("trap")
	ErrDeadline       = errors.New("deadline exceeded")
	ErrCanceled       = errors.New("canceled")
	ErrInputTooLarge  = errors.New("input too large")
	ErrOutputTooLarge = errors.New("output too large")
	ErrMemoryLimit    = errors.New("memory cap hit")
	// ErrFuelExhausted is a call that used its whole fuel budget (Limits.CallFuel or
	// RunFuel) before its deadline; the instance is discarded.
	ErrFuelExhausted = errors.New("fuel exhausted")
	ErrBadPointer    = errors.New("pointer out of guest memory")
	ErrBadResult     = errors.New("invalid result")
	ErrGuest         = errors.New("guest error")
	ErrNoRun         = errors.New("module has no run export")
	ErrClosed        = errors.New("module closed")
	// ErrBadMount is a command's mount that cannot be made: a guest path that is not
	// absolute or is given twice, or a host directory that cannot be opened.
	ErrBadMount = errors.New("bad mount")
	// ErrSetup marks a run that never started: no run export, a closed module, or an
	// instantiation (or _initialize) that failed. Executors treat it as fatal, never retried.
	ErrSetup = errors.New("run setup failed")
)

// setupError marks err as ErrSetup without changing its message.
type setupError struct{ err error }

func (e *setupError) Error() string        { return e.err.Error() }
func (e *setupError) Unwrap() error        { return e.err }
func (e *setupError) Is(target error) bool { return target == ErrSetup }

func setup(err error) error { return &setupError{err} }

// LoadError is a module that could not be loaded: which file, at which stage, and why.
type LoadError struct {
	Path  string
	Stage string // read, validate, compile, abi, instantiate, _initialize, name, describe, smoke, register
	Err   error
}

func (e *LoadError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Path, e.Stage, e.Err) }

// Unwrap returns the cause.
func (e *LoadError) Unwrap() error { return e.Err }

// CallError is a failed call into a module: which file, which export, and why.
type CallError struct {
	Path   string
	Runner string
	Export string
	Err    error
}

func (e *CallError) Error() string {
	return fmt.Sprintf("%s: runner %q: %s: %v", e.Path, e.Runner, e.Export, e.Err)
}

// Unwrap returns the cause.
func (e *CallError) Unwrap() error { return e.Err }

// detailError is a sentinel with the specifics of one occurrence.
type detailError struct {
	kind error
	msg  string
}

func (e *detailError) Error() string { return e.kind.Error() + ": " + e.msg }
func (e *detailError) Unwrap() error { return e.kind }

// guestError is a call's non-zero result ret with the structured error the guest output.
func guestError(ret int32, output []byte) error {
	return fmt.Errorf("%w: returned %d: %w", ErrGuest, ret, abi.ParseGuestError(output))
}

func errorf(kind error, format string, args ...any) error {
	return &detailError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
