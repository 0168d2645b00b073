package runtime

import (
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Config configures a Runtime. The zero value is usable: the wazero compiler, no on-disk
// cache, the ABI's default limits, logs discarded.
type Config struct {
	// Engine is "wazero" (the default, compiled), "wazero-interpreter", or another registered
	// engine (wasmtime with the wasmtime build tag).
	Engine string
	// CacheDir keeps compiled code (and the fuel pass's output, under solti-fuel/) on disk
	// so the next process loads modules fast. Empty: no on-disk cache. DefaultCacheDir is
	// the usual choice for a CLI or daemon.
	CacheDir string
	// Limits bounds every module; zero fields take the ABI defaults.
	Limits Limits
	// Logger receives the runtime's and the guests' logs. Nil discards them.
	Logger *slog.Logger
	// Observer receives the wasm meters (calls, traps, latency, bytes, memory, pool,
	// instantiations, loads). Nil: none, at no cost.
	Observer Observer
	// RunInstanceCalls chooses the instances that execute guest plans (the run export):
	// 0 or 1, a fresh instance per run, closed afterwards (the default: no run sees another's
	// leftovers); N > 1, a warm pool per module, never shared across modules, in which an
	// instance serves at most N runs and is retired at once after any trap, deadline or
	// cancellation. Pooling is for guests whose instantiation is costly (Go: milliseconds)
	// and that keep no state between runs; the ABI promises guests neither.
	RunInstanceCalls int
	// MemoryBudget, when set, bounds the memory of all the instances of the runtimes that
	// share it: each instantiation reserves its memory cap from it (see MemoryBudget). Nil:
	// each instance is bounded by Limits.MaxMemoryPages alone.
	MemoryBudget *MemoryBudget
}

// NoCallTimeout disables the per-call deadline and, with it, fuel metering of name,
// describe, supports and build: those calls run uninstrumented code (a little faster), and a
// guest that loops forever in one is never stopped. Runs stay bounded by fuel and their
// context, on a second, metered compilation. Use it only for trusted modules.
const NoCallTimeout time.Duration = -1

// DefaultSupportsTimeout bounds each supports call (ABI §7), which every task may ask of
// every runner: a slow or looping one must cost the others little. It is here rather than in
// package abi with the other limits so that guests, which import abi, do not change with it.
const DefaultSupportsTimeout = 100 * time.Millisecond

// Limits bound what one module may use. Zero values mean the defaults in package abi.
type Limits struct {
	// MaxInputBytes is the largest input the host hands to one call; a larger one is refused
	// before the guest runs (ErrInputTooLarge).
	MaxInputBytes int
	// MaxOutputBytes is the largest output a call may set; the guest's output call traps
	// (ErrOutputTooLarge).
	MaxOutputBytes int
	// MaxMemoryPages caps each instance's linear memory, in 64 KiB pages; memory.grow past it
	// returns -1, and the call that then fails reports ErrMemoryLimit. A module whose initial
	// memory is larger is refused at load.
	MaxMemoryPages uint32
	// CallTimeout bounds each name, describe, supports and build call (ErrDeadline); a run
	// call is bounded by its context instead. NoCallTimeout disables it.
	CallTimeout time.Duration
	// SupportsTimeout bounds each supports call, more tightly than CallTimeout: supports is
	// asked for every task of a kind the runner takes, before the runner that builds it, so a
	// slow one delays every task. Zero means DefaultSupportsTimeout; it is capped at
	// CallTimeout, and off with NoCallTimeout (calls cannot be interrupted then).
	SupportsTimeout time.Duration
	// MaxInstances bounds the instances per module, hence its concurrent calls; callers beyond
	// it wait for a free instance. Default GOMAXPROCS.
	MaxInstances int
	// MaxLogBytes truncates longer log messages; MaxLogsPerCall drops log calls beyond it.
	MaxLogBytes    int
	MaxLogsPerCall int
	// MaxLineBytes truncates longer emitted lines; MaxLinesPerCall drops emit calls beyond
	// it (the emit import, ABI v1 §4).
	MaxLineBytes    int
	MaxLinesPerCall int

	// CallFuel is the fuel budget of each name, describe, supports, build and _initialize
	// call and of instantiation (ErrFuelExhausted); RunFuel that of each run. A fuel unit is
	// about one simple wasm instruction (ABI.md §7). UnlimitedFuel removes the budget; the
	// deadlines still apply. Defaults DefaultCallFuel and DefaultRunFuel.
	CallFuel int64
	RunFuel  int64
	// FuelSlice is how much fuel the guest gets between two visits to the host, where the
	// budget, the deadline and the context are checked: a smaller slice stops a call closer
	// to its deadline, at the price of more host calls. Default DefaultFuelSlice.
	FuelSlice int64
	// MaxModuleBytes caps a module file's size, checked before it is read. Default
	// DefaultMaxModuleBytes.
	MaxModuleBytes int64
	// MaxTableElements caps each table a module defines, in elements: a table declaring a
	// larger minimum is refused at load, and every table's maximum is lowered to it (set when
	// none is declared), so table.grow past it returns -1. Tables count toward the memory
	// cap: each element reserves 8 bytes of MaxMemoryPages. Default DefaultMaxTableElements.
	MaxTableElements uint32
	// CompileTimeout bounds one module's compilation; a slower one fails its load (the
	// abandoned compilation finishes in the background, bounded by the pre-validation
	// limits). Default DefaultCompileTimeout.
	CompileTimeout time.Duration
}

// Load limits' defaults (see ABI.md §7 for why these numbers).
const (
	// DefaultMaxModuleBytes is 64 MiB: 17 times the largest example runner (a 3.6 MB Go module).
	DefaultMaxModuleBytes = 64 << 20
	// DefaultMaxTableElements is 65,536 elements (512 KiB of references, 8 of the default
	// 1,024 memory pages): ten times the table of a Go runner (6,410 elements).
	DefaultMaxTableElements = 1 << 16
	// DefaultCompileTimeout is 30 s: seven times what the largest example runner takes to
	// compile (4.3 s) on a loaded two-core machine.
	DefaultCompileTimeout = 30 * time.Second
)

// tableElementBytes is what one table element costs in wazero: a pointer-sized reference.
const tableElementBytes = 8

// withDefaults fills zero fields.
func (l Limits) withDefaults() Limits {
	if l.MaxInputBytes <= 0 {
		l.MaxInputBytes = abi.DefaultMaxInputBytes
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = abi.DefaultMaxOutputBytes
	}
	if l.MaxMemoryPages == 0 {
		l.MaxMemoryPages = abi.DefaultMaxMemoryPages
	}
	if l.CallTimeout == 0 {
		l.CallTimeout = abi.DefaultCallTimeout
	}
	if l.SupportsTimeout <= 0 {
		l.SupportsTimeout = DefaultSupportsTimeout
	}
	switch {
	case l.CallTimeout < 0:
		l.SupportsTimeout = l.CallTimeout
	case l.SupportsTimeout > l.CallTimeout:
		l.SupportsTimeout = l.CallTimeout
	}
	if l.MaxInstances <= 0 {
		l.MaxInstances = goruntime.GOMAXPROCS(0)
	}
	if l.MaxLogBytes <= 0 {
		l.MaxLogBytes = abi.DefaultMaxLogBytes
	}
	if l.MaxLogsPerCall <= 0 {
		l.MaxLogsPerCall = abi.DefaultMaxLogsPerCall
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = abi.DefaultMaxLineBytes
	}
	if l.MaxLinesPerCall <= 0 {
		l.MaxLinesPerCall = abi.DefaultMaxLinesPerCall
	}
	if l.CallFuel == 0 {
		l.CallFuel = DefaultCallFuel
	}
	if l.RunFuel == 0 {
		l.RunFuel = DefaultRunFuel
	}
	if l.FuelSlice <= 0 {
		l.FuelSlice = DefaultFuelSlice

	}
	if l.MaxModuleBytes <= 0 {
		l.MaxModuleBytes = DefaultMaxModuleBytes
	}
	if l.MaxTableElements == 0 {
		l.MaxTableElements = DefaultMaxTableElements
	}
	if l.CompileTimeout <= 0 {
		l.CompileTimeout = DefaultCompileTimeout
	}
	return l
}

// DefaultCacheDir is the compilation cache directory under the user's cache dir
// ($XDG_CACHE_HOME/solti-wasm/compiled, or ~/.cache/solti-wasm/compiled), or "" when the
// system has none.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "solti-wasm", "compiled")
}
