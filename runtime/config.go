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
	// CacheDir keeps compiled code on disk so the next process loads modules fast. Empty: no
	// on-disk cache. DefaultCacheDir is the usual choice for a CLI or daemon.
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
}

// NoCallTimeout disables the per-call deadline: calls are faster (wazero then skips its
// context checks at function entries and loop headers), but a guest that loops forever is
// never stopped. Use it only for trusted modules.
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
}

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
