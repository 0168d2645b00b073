package runtime

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

// The guard wrappers put a recover around every entry into the engine (compile, instantiate,
// call, close): a module that triggers a bug in the engine fails its load or call with
// ErrEnginePanic instead of taking the process, and every other module serves on.

// panicError is a recovered engine panic: the stage it happened in, what was thrown, and
// the first frames of the stack, for the log.
type panicError struct {
	stage string
	value any
	stack string
}

func (e *panicError) Error() string {
	return fmt.Sprintf("%v: %s: %v", ErrEnginePanic, e.stage, e.value)
}

func (e *panicError) Is(target error) bool { return target == ErrEnginePanic }

// recovered turns a panic in flight into *err; use as `defer recovered(&err, "compile")`.
func recovered(err *error, stage string) {
	if p := recover(); p != nil {
		*err = &panicError{stage: stage, value: p, stack: stackHead(debug.Stack(), 12)}
	}
}

// stackHead keeps the first n lines of a goroutine stack.
func stackHead(s []byte, n int) string {
	lines := strings.SplitN(string(s), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

type guardedEngine struct{ e engine.Engine }

func guard(e engine.Engine) engine.Engine { return guardedEngine{e} }

func (g guardedEngine) Compile(ctx context.Context, wasm []byte) (m engine.Module, err error) {
	defer recovered(&err, "compile")
	c, err := g.e.Compile(ctx, wasm)
	if err != nil {
		return nil, err
	}
	return guardedModule{c}, nil
}

func (g guardedEngine) Close(ctx context.Context) (err error) {
	defer recovered(&err, "close")
	return g.e.Close(ctx)
}

type guardedModule struct{ m engine.Module }

func (g guardedModule) Imports() []engine.Import { return g.m.Imports() }
func (g guardedModule) Exports() []engine.Export { return g.m.Exports() }

func (g guardedModule) Instantiate(ctx context.Context, cfg engine.InstanceConfig) (i engine.Instance, err error) {
	defer recovered(&err, "instantiate")
	in, err := g.m.Instantiate(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return guardedInstance{in}, nil
}

func (g guardedModule) Close(ctx context.Context) (err error) {
	defer recovered(&err, "close")
	return g.m.Close(ctx)
}

type guardedInstance struct{ i engine.Instance }

func (g guardedInstance) Func(name string) engine.Func {
	f := g.i.Func(name)
	if f == nil {
		return nil // a nil interface, not a guard around nil: callers test for it
	}
	return guardedFunc{f}
}

// Global forwards to the engine's instance when it exposes globals (the fuel counter).
func (g guardedInstance) Global(name string) engine.Global {
	if gi, ok := g.i.(engine.GlobalInstance); ok {
		if v := gi.Global(name); v != nil {
			return v
		}
	}
	return nil // a nil interface, not a typed nil
}

func (g guardedInstance) Memory() engine.Memory { return g.i.Memory() }
func (g guardedInstance) MemoryCapHit() bool    { return g.i.MemoryCapHit() }

func (g guardedInstance) Close(ctx context.Context) (err error) {
	defer recovered(&err, "close")
	return g.i.Close(ctx)
}

type guardedFunc struct{ f engine.Func }

func (g guardedFunc) Call(ctx context.Context, stack []uint64) (err error) {
	defer recovered(&err, "call")
	return g.f.Call(ctx, stack)
}
