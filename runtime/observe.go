package runtime

import (
	"errors"
	"time"
)

// Observer receives the runtime's meters: module loads and rejections, and through the
// ModuleMeter it returns for each loaded module, every call, instantiation and pool event of
// that module. It is the seam an exporter implements (package metrics/prometheus does, for
// Prometheus), as client_golang's Collector is: the runtime never imports an exporter.
//
// Implementations must be safe for concurrent use and cheap: ModuleMeter methods sit on the
// call path. With no Observer (Config.Observer nil) the runtime does not even read the clock
// for them.
type Observer interface {
	// ModuleLoaded is called once a module has loaded; the meter it returns receives the
	// module's events until ModuleMeter.Closed. compile is the compilation time (a cache hit
	// is fast).
	ModuleLoaded(m ModuleRef, compile time.Duration) ModuleMeter
	// ModuleRejected is called for a module that failed to load, with the stage (read,
	// compile, abi, instantiate, name, describe, register).
	ModuleRejected(path, stage string)
}

// ModuleRef names a module in the meters: its runner name and the sha256 of its bytes.
type ModuleRef struct {
	Runner string
	Digest string
	Path   string
}

// ModuleMeter receives one module's events.
type ModuleMeter interface {
	// Called is every export call's outcome.
	Called(c CallStats)
	// Instantiated is every instantiation (pooled or fresh), with how long it took
	// (_initialize included) and its error.
	Instantiated(d time.Duration, err error)
	// PoolWaited is the time a call waited for a free pooled instance; called only when it
	// had to wait.
	PoolWaited(d time.Duration)
	// PoolSize is the number of live instances of the module, pooled and running, after a
	// change.
	PoolSize(n int)
	// Closed is called once when the module is closed.
	Closed()
}

// CallStats describes one export call.
type CallStats struct {
	Export   string
	Duration time.Duration
	BytesIn  int
	BytesOut int
	// Fault is "" for a call that returned, else FaultKind of its error.
	Fault string
	// MemoryPages is the instance's linear memory size after the call, in 64 KiB pages.
	MemoryPages uint32
	// Fuel is the fuel the call used (ABI.md §7), 0 when it was not metered; the same for
	// the same module and input on every run.
	Fuel int64
}

// Fault kinds of a failed call, the label values of the trap meters.
const (
	FaultTrap           = "trap"
	FaultDeadline       = "deadline"
	FaultCanceled       = "canceled"
	FaultMemoryLimit    = "memory_cap"
	FaultFuel           = "fuel"
	FaultBadPointer     = "bad_pointer"
	FaultOutputTooLarge = "output_too_large"
	FaultInputTooLarge  = "input_too_large"
	FaultEnginePanic    = "engine_panic"
	FaultOther          = "other"
)

// FaultKind classifies a call error for the meters.
func FaultKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrDeadline):
		return FaultDeadline
	case errors.Is(err, ErrCanceled):
		return FaultCanceled
	case errors.Is(err, ErrMemoryLimit):
		return FaultMemoryLimit
	case errors.Is(err, ErrFuelExhausted):
		return FaultFuel
	case errors.Is(err, ErrBadPointer):
		return FaultBadPointer
	case errors.Is(err, ErrOutputTooLarge):
		return FaultOutputTooLarge
	case errors.Is(err, ErrInputTooLarge):
		return FaultInputTooLarge
	case errors.Is(err, ErrTrap):
		return FaultTrap
	case errors.Is(err, ErrEnginePanic):
		return FaultEnginePanic
	}
	return FaultOther
}
