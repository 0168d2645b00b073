package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

// Command is a WASI command module (the module of a wasi plan): it exports _start and imports
// nothing but WASI functions. It runs sandboxed: arguments and environment as given, stdout
// and stderr to the writers given, an empty stdin, no preopened directory, no socket, no host
// environment, wazero's deterministic clock and random source (wasmtime's WASI gives the
// host's clock and random source), and the runtime's memory cap.
type Command struct {
	rt       *Runtime
	compiled engine.Module
	path     string
	digest   string
}

// ExportStart is a WASI command's entry point.
const ExportStart = "_start"

// LoadCommand reads and compiles the WASI command module at path. It refuses a module that
// imports anything besides WASI functions (the solti imports included: a command is not a
// runner) or exports no _start.
func (rt *Runtime) LoadCommand(ctx context.Context, path string) (*Command, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, &LoadError{Path: path, Stage: "read", Err: err}
	}
	if err := checkHeader(wasm); err != nil {
		return nil, &LoadError{Path: path, Stage: "read", Err: err}
	}
	eng := rt.eng
	if !rt.interruptible { // a command runs until its task's deadline: it must stop on time
		if eng, err = rt.runEngine(ctx); err != nil {
			return nil, &LoadError{Path: path, Stage: "compile", Err: err}
		}
	}
	compiled, err := eng.Compile(ctx, wasm)
	if err != nil {
		return nil, &LoadError{Path: path, Stage: "compile", Err: errorf(ErrInvalidModule, "%v", err)}
	}
	if err := checkCommand(compiled, rt.limits.MaxMemoryPages); err != nil {
		_ = compiled.Close(ctx)
		return nil, &LoadError{Path: path, Stage: "abi", Err: err}
	}
	sum := sha256.Sum256(wasm)
	return &Command{rt: rt, compiled: compiled, path: path, digest: hex.EncodeToString(sum[:])}, nil
}

func checkCommand(c engine.Module, maxPages uint32) error {
	for _, im := range c.Imports() {
		if im.Module != abi.WASIModule || im.Kind != engine.KindFunc {
			return errorf(ErrForbiddenImport, "imports %s %s.%s; a WASI command may import only %s functions",
				im.Kind, im.Module, im.Name, abi.WASIModule)
		}
	}
	var start bool
	for _, e := range c.Exports() {
		switch {
		case e.Name == ExportStart && e.Kind == engine.KindFunc:
			if !e.Type.Equal(sigVoid) {
				return errorf(ErrExportType, "export %s has type %s, want %s", ExportStart, e.Type, sigVoid)
			}
			start = true
		case e.Kind == engine.KindMemory && e.MinPages > maxPages:
			return errorf(ErrMemoryLimit, "initial memory of %d pages exceeds the %d-page cap", e.MinPages, maxPages)
		}
	}
	if !start {
		return errorf(ErrMissingExport, "no %s export: not a WASI command module", ExportStart)
	}
	return nil
}

// Path is the file the command was loaded from.
func (c *Command) Path() string { return c.path }

// Digest is the sha256 of the module's bytes, in hex.
func (c *Command) Digest() string { return c.digest }

// CommandIO is what one run of a command gets.
type CommandIO struct {
	// Args are the arguments after argv[0], which is the module's file name.
	Args []string
	// Env is KEY=VALUE pairs; nothing else of the host's environment is visible.
	Env []string
	// Stdout and Stderr receive the module's output; nil discards it.
	Stdout, Stderr io.Writer
}

// Run instantiates the command and calls _start, bounded by ctx. It returns the exit code
// (0 when _start returns, else what proc_exit got). Errors: setup failures match ErrSetup; a
// trap is ErrTrap; ctx's end is ErrDeadline or ErrCanceled.
func (c *Command) Run(ctx context.Context, cio CommandIO) (int, error) {
	inst, err := c.compiled.Instantiate(ctx, engine.InstanceConfig{
		MaxMemoryBytes: uint64(c.rt.limits.MaxMemoryPages) * abi.PageSize,
		Stdout:         cio.Stdout,
		Stderr:         cio.Stderr,
		Args:           append([]string{filepath.Base(c.path)}, cio.Args...),
		Env:            cio.Env,
	})
	if err != nil {
		return 0, setup(c.fail(ctx, nil, err))
	}
	defer inst.Close(context.Background())
	start := inst.Func(ExportStart)
	var stack [1]uint64
	err = start.Call(ctx, stack[:])
	var exit *engine.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return int(exit.Code), nil
	}
	return 0, c.fail(ctx, inst, err)
}

func (c *Command) fail(ctx context.Context, inst engine.Instance, err error) error {
	switch {
	case errors.Is(err, engine.ErrDeadline):
		return errorf(ErrDeadline, "%v", context.Cause(ctx))
	case errors.Is(err, engine.ErrCanceled):
		return errorf(ErrCanceled, "%v", context.Cause(ctx))
	case inst != nil && inst.MemoryCapHit():
		return errorf(ErrMemoryLimit, "growing memory past the %d-page cap was refused, then: %v", c.rt.limits.MaxMemoryPages, err)
	}
	return errorf(ErrTrap, "%s", trapMessage(err))
}

// Close releases the compiled code.
func (c *Command) Close(ctx context.Context) error { return c.compiled.Close(ctx) }
