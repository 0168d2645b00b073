// Package engine is the seam between the runtime and a WebAssembly engine. It is shaped so
// that wazero (pure Go, the default) and wasmtime-go (cgo) both fit: a module is compiled
// once, instantiated many times, and an instance serves one call at a time; limits are per
// instance; host functions find their call's state through the context.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ValueType is a WebAssembly value type.
type ValueType byte

// Value types.
const (
	I32 ValueType = iota + 1
	I64
	F32
	F64
	Other // reference and vector types: never valid in the solti ABI
)

func (v ValueType) String() string {
	switch v {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	}
	return "?"
}

// FuncType is a function signature.
type FuncType struct {
	Params, Results []ValueType
}

func (t FuncType) String() string { return "(" + join(t.Params) + ") -> (" + join(t.Results) + ")" }

func join(ts []ValueType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, ", ")
}

// Equal reports whether two signatures are the same.
func (t FuncType) Equal(o FuncType) bool {
	if len(t.Params) != len(o.Params) || len(t.Results) != len(o.Results) {
		return false
	}
	for i := range t.Params {
		if t.Params[i] != o.Params[i] {
			return false
		}
	}
	for i := range t.Results {
		if t.Results[i] != o.Results[i] {
			return false
		}
	}
	return true
}

// ExternKind is what an import or export is.
type ExternKind byte

// Extern kinds.
const (
	KindFunc ExternKind = iota + 1
	KindMemory
	KindTable
	KindGlobal
)

func (k ExternKind) String() string {
	return [...]string{"?", "func", "memory", "table", "global"}[k]
}

// Import is one import of a compiled module.
type Import struct {
	Module, Name string
	Kind         ExternKind
	Type         FuncType // for functions
}

// Export is one export of a compiled module.
type Export struct {
	Name string
	Kind ExternKind
	Type FuncType // for functions
	// MinPages is the initial size of an exported memory, in 64 KiB pages.
	MinPages uint32
}

// HostFunc is a Go function the guest imports. Fn reads its parameters from stack and writes
// its results there (wazero's stack convention). It may panic with an error to abort the call;
// the engine turns that into a call error.
type HostFunc struct {
	Module, Name string
	Type         FuncType
	Fn           func(ctx context.Context, mem Memory, stack []uint64)
}

// Options are fixed for the lifetime of an engine.
type Options struct {
	// Host functions every module may import, besides WASI.
	Host []HostFunc
	// CacheDir, when set, keeps compiled code on disk across processes.
	CacheDir string
	// Interruptible asks an engine that can stop a call cheaply when its context is done to
	// do so (wasmtime: epoch interruption, a backstop behind the fuel pass). wazero ignores
	// it: its close-on-context-done costs 10-80x on loops, and the fuel pass's refill import
	// checks the deadline instead. An interrupted instance is unusable.
	Interruptible bool
	// Fuel turns on the engine's fuel meter: instances then implement Fueled. Engines that
	// cannot meter fuel ignore it (wazero today; see Fueled).
	Fuel bool
}

// Fueled is an instance whose execution is metered in fuel units, when the engine was made
// with Options.Fuel and supports it (wasmtime: native fuel, about one unit per wasm operator,
// none for nop, drop, block and loop markers). A fresh instance has unlimited fuel; SetFuel
// bounds the calls that follow, and a call that needs more fails with a *TrapError wrapping
// ErrFuelExhausted. The meter spans calls: set it before a call, read FuelConsumed after.
//
// It is the seam's one meter, so that a fuel pass on another engine (a module rewritten to
// charge a global) reports through the same interface and units stay comparable per engine.
type Fueled interface {
	// SetFuel sets the fuel left to units and restarts FuelConsumed from zero.
	SetFuel(units uint64) error
	// FuelConsumed is the fuel used since the last SetFuel (or since instantiation).
	FuelConsumed() (uint64, error)
}

// Engine compiles modules.
type Engine interface {
	Compile(ctx context.Context, wasm []byte) (Module, error)
	Close(ctx context.Context) error
}

// Module is compiled code, safe for concurrent Instantiate calls.
type Module interface {
	Imports() []Import
	Exports() []Export
	Instantiate(ctx context.Context, cfg InstanceConfig) (Instance, error)
	Close(ctx context.Context) error
}

// InstanceConfig sets one instance's limits and outputs.
type InstanceConfig struct {
	// MaxMemoryBytes caps linear memory; growing past it fails (memory.grow returns -1).
	MaxMemoryBytes uint64
	// MemoryCapacityHint is how many bytes of memory to reserve up front (at most
	// MaxMemoryBytes), so that growing up to it does not copy. Zero: the module's minimum.
	MemoryCapacityHint uint64
	// Stdout and Stderr receive WASI output; nil discards it.
	Stdout, Stderr io.Writer
	// Args and Env are WASI's; empty for runners.
	Args []string
	Env  []string
	// Stdin is WASI's standard input; nil: empty (end of file at once).
	Stdin io.Reader
	// Mounts are host directories preopened for WASI, in this order (Go's wasip1 programs
	// take the first as their working directory). Nil: no file system at all.
	Mounts []Mount
}

// Mount is a host directory preopened for WASI. An engine confines the guest to it: no path,
// symlink or link the guest opens, creates or follows resolves outside HostDir.
type Mount struct {
	// HostDir is an existing directory on the host.
	HostDir string
	// GuestPath is where the guest sees it: an absolute slash path.
	GuestPath string
	// ReadOnly refuses every write: to files, and to the directory tree.
	ReadOnly bool
}

// Instance is one instantiated module. It serves one call at a time.
type Instance interface {
	// Func returns the exported function name, or nil. A handle may be costly (wazero gives
	// each its own call stack): callers make one per export they call and keep it.
	Func(name string) Func
	// Memory returns the exported memory, or nil.
	Memory() Memory
	// MemoryCapHit reports whether a grow past MaxMemoryBytes was refused since the last call
	// to it, and resets the flag.
	MemoryCapHit() bool
	Close(ctx context.Context) error
}

// Func is an exported function. Call reads params from stack and writes results there; stack
// must be at least max(len(params), len(results)) long.
type Func interface {
	Call(ctx context.Context, stack []uint64) error
}

// Global is an exported mutable global: the runtime reads and sets the fuel counter through it.
type Global interface {
	Get() uint64
	Set(v uint64)
}

// GlobalInstance is implemented by instances that expose their exported mutable globals.
// The runtime's fuel metering needs it: it sets the counter before each call and reads what
// was left after.
type GlobalInstance interface {
	// Global returns the exported mutable global name, or nil.
	Global(name string) Global
}

// Memory is a guest's linear memory; wazero's api.Memory satisfies it. Slices returned by Read
// alias guest memory and are valid until the next call into the guest.
type Memory interface {
	Read(offset, n uint32) ([]byte, bool)
	Write(offset uint32, v []byte) bool
	Size() uint32
}

// Errors a Call may return, besides *TrapError and *ExitError.
var (
	ErrDeadline = errors.New("deadline exceeded")
	ErrCanceled = errors.New("canceled")
	// ErrFuelExhausted is a call stopped by the engine's own fuel metering (Fueled), the
	// Cause of its *TrapError; the runtime's fuel pass reports through its host import instead.
	ErrFuelExhausted = errors.New("fuel exhausted")
)

// ErrMount is matched by an Instantiate error that is a Mount's directory failing to open.
var ErrMount = errors.New("mount")

// TrapError is a guest trap or a host function's panic.
type TrapError struct {
	// Message is the trap's first line, e.g. "wasm error: unreachable".
	Message string
	// Trace is the wasm stack trace, when the engine gives one.
	Trace string
	// Cause is what a host function panicked with, if it was an error.
	Cause error
}

func (e *TrapError) Error() string { return e.Message }

// Unwrap returns a host function's panic error.
func (e *TrapError) Unwrap() error { return e.Cause }

// ExitError is a guest calling WASI proc_exit.
type ExitError struct{ Code uint32 }

func (e *ExitError) Error() string { return fmt.Sprintf("guest exited with code %d", e.Code) }

// New returns the engine registered under name.
func New(ctx context.Context, name string, opts Options) (Engine, error) {
	f, ok := factories[name]
	if !ok {
		return nil, fmt.Errorf("unknown engine %q (have %v)", name, Names())
	}
	return f(ctx, opts)
}

// Factory makes an engine.
type Factory func(ctx context.Context, opts Options) (Engine, error)

var factories = map[string]Factory{}

// Register makes an engine available under name; engines register themselves in init, so a
// build tag can add one (wasmtime) without touching the runtime.
func Register(name string, f Factory) { factories[name] = f }

// Names lists the registered engines.
func Names() []string {
	out := make([]string, 0, len(factories))
	for n := range factories {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
