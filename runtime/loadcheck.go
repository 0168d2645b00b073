package runtime

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
	"github.com/solti-wasm/solti-wasm/runtime/internal/wasmbin"
)

// validateError is a pre-validation failure: it reads as wasmbin's error (section, offset,
// cause) and matches the runtime's sentinel for its kind.
type validateError struct {
	kind error
	err  *wasmbin.Error
}

func (e *validateError) Error() string        { return e.err.Error() }
func (e *validateError) Is(target error) bool { return target == e.kind }

// prepared is a module's bytes after the load checks that run before any engine sees them.
type prepared struct {
	wasm       []byte // what to compile: the file's bytes, with tables clamped when needed
	tableBytes uint64 // what the module's tables may hold at most, counted against memory
}

// prepare runs the checks every load shares (runners, commands, inspect) before compilation:
// the header, the bounded pre-validation of the whole binary, and the table cap. It returns
// the stage that failed with the error.
func (rt *Runtime) prepare(wasm []byte) (*prepared, string, error) {
	if err := checkHeader(wasm); err != nil {
		return nil, "read", err
	}
	m, err := wasmbin.Parse(wasm, wasmbin.Limits{})
	if err != nil {
		var we *wasmbin.Error
		if !errors.As(err, &we) {
			return nil, "validate", errorf(ErrInvalidModule, "%v", err)
		}
		kind := ErrInvalidModule
		switch {
		case errors.Is(err, wasmbin.ErrLimit):
			kind = ErrModuleLimit
		case errors.Is(err, wasmbin.ErrComponent):
			kind = ErrComponent
		}
		return nil, "validate", &validateError{kind: kind, err: we}
	}
	changed, err := wasmbin.ClampTables(m, rt.limits.MaxTableElements)
	if err != nil {
		var we *wasmbin.Error
		errors.As(err, &we)
		return nil, "validate", &validateError{kind: ErrModuleLimit, err: we}
	}
	p := &prepared{wasm: wasm, tableBytes: wasmbin.TableElements(m) * tableElementBytes}
	if changed {
		p.wasm = m.Encode()
	}
	return p, "", nil
}

// memoryCap is an instance's linear-memory cap in bytes once its tables' share of the
// memory budget is taken out, rounded down to whole pages; ok is false when the tables alone
// take all of it.
func (rt *Runtime) memoryCap(tableBytes uint64) (capBytes uint64, ok bool) {
	budget := uint64(rt.limits.MaxMemoryPages) * abi.PageSize
	if tableBytes >= budget {
		return 0, false
	}
	return (budget - tableBytes) / abi.PageSize * abi.PageSize, true
}

// checkMemoryBudget refuses a module whose initial memory plus its tables exceed the budget.
func (rt *Runtime) checkMemoryBudget(minPages uint32, tableBytes uint64) error {
	capBytes, ok := rt.memoryCap(tableBytes)
	if !ok || uint64(minPages)*abi.PageSize > capBytes {
		return errorf(ErrMemoryLimit, "initial memory of %d pages plus tables of %d KiB exceed the %d-page memory budget",
			minPages, tableBytes>>10, rt.limits.MaxMemoryPages)
	}
	return nil
}

// compile compiles wasm with eng within the compile budget and ctx. The engine cannot be
// interrupted, so the compilation runs in its own goroutine: when the budget or ctx ends
// first, compile returns at once and the abandoned compilation finishes in the background
// (bounded by the pre-validation limits) and is closed.
func (rt *Runtime) compile(ctx context.Context, eng engine.Engine, wasm []byte) (engine.Module, error) {
	type result struct {
		m   engine.Module
		err error
	}
	const (
		running = iota
		delivered
		abandoned
	)
	var state atomic.Int32
	done := make(chan result, 1)
	rt.compiling.Add(1)
	go func() {
		defer rt.compiling.Done()
		m, err := eng.Compile(context.WithoutCancel(ctx), wasm)
		if state.CompareAndSwap(running, delivered) {
			done <- result{m, err}
			return
		}
		if m != nil {
			_ = m.Close(context.Background())
		}
	}()
	timer := time.NewTimer(rt.limits.CompileTimeout)
	defer timer.Stop()
	var stopped error
	select {
	case r := <-done:
		return r.m, r.err
	case <-timer.C:
		stopped = errorf(ErrCompileTimeout, "compilation took longer than the %v budget", rt.limits.CompileTimeout)
	case <-ctx.Done():
		stopped = errorf(ErrCanceled, "compilation stopped: %v", context.Cause(ctx))
	}
	if !state.CompareAndSwap(running, abandoned) {
		r := <-done // finished meanwhile: use it
		return r.m, r.err
	}
	return nil, stopped
}

// logPanic records a recovered engine panic with the file and stage it hit.
func (rt *Runtime) logPanic(path, stage string, err error) {
	var pe *panicError
	if errors.As(err, &pe) {
		rt.logger.Error("engine panic recovered", "path", path, "stage", stage, "panic", pe.value, "stack", pe.stack)
	}
}
