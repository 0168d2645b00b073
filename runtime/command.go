package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"path"
	"path/filepath"
	"slices"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

// Command is a WASI command module (the module of a wasi plan): it exports _start and imports
// nothing but WASI functions. It runs sandboxed: arguments, environment and stdin as given,
// stdout and stderr to the writers given, only the directories given (each confined to
// itself: no path or symlink leads out of it), no socket, no host environment, wazero's
// deterministic clock and random source (wasmtime's WASI gives the host's clock and random
// source), and the runtime's memory cap.
type Command struct {
	rt       *Runtime
	compiled engine.Module
	path     string
	digest   string
	memCap   uint64 // linear-memory cap in bytes, tables' share taken out
}

// ExportStart is a WASI command's entry point.
const ExportStart = "_start"

// LoadCommand reads and compiles the WASI command module at path, with the checks runner
// modules get (regular file, size cap, pre-validation, table cap, compile budget). It refuses
// a module that imports anything besides WASI functions (the solti imports included: a
// command is not a runner) or exports no _start.
func (rt *Runtime) LoadCommand(ctx context.Context, path string) (*Command, error) {
	wasm, err := rt.ReadModule(path)
	if err != nil {
		return nil, err
	}
	prep, stage, err := rt.prepare(wasm)
	if err != nil {
		return nil, &LoadError{Path: path, Stage: stage, Err: err}
	}
	// A command runs until its task's deadline: it is always metered, so that it stops on time.
	code, err := rt.instrument(prep.wasm)
	if err != nil {
		return nil, &LoadError{Path: path, Stage: "validate", Err: err}
	}
	compiled, err := rt.compile(ctx, rt.eng, code)
	if err != nil {
		rt.logPanic(path, "compile", err)
		return nil, &LoadError{Path: path, Stage: "compile", Err: compileError(err)}
	}
	memCap, ok := rt.memoryCap(prep.tableBytes)
	err = checkCommand(compiled, rt.limits.MaxMemoryPages)
	if err == nil && !ok {
		err = rt.checkMemoryBudget(0, prep.tableBytes)
	}
	if err != nil {
		_ = compiled.Close(ctx)
		return nil, &LoadError{Path: path, Stage: "abi", Err: err}
	}
	sum := sha256.Sum256(wasm)
	return &Command{rt: rt, compiled: compiled, path: path, digest: hex.EncodeToString(sum[:]), memCap: memCap}, nil
}

func checkCommand(c engine.Module, maxPages uint32) error {
	for _, im := range dropFuelImport(slices.Clone(c.Imports())) {
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
	// Stdin is what the module reads from its standard input, at most the runtime's
	// MaxInputBytes (ErrInputTooLarge); empty: end of file at once.
	Stdin []byte
	// Mounts are the host directories the module sees, preopened in this order; none: no
	// file system.
	Mounts []Mount
}

// Mount is a host directory that a command sees at GuestPath. The command cannot reach
// anything outside HostDir through it: not with "..", not through a symlink inside it, and
// it cannot create a symlink that points out of it. ReadOnly refuses every write.
type Mount struct {
	HostDir   string
	GuestPath string // absolute, slash-separated
	ReadOnly  bool
}

// Run instantiates the command and calls _start, bounded by ctx and by Limits.RunFuel. It
// returns the exit code (0 when _start returns, else what proc_exit got). Errors: setup
// failures match ErrSetup (stdin over the input limit is also ErrInputTooLarge; a mount that
// is not an absolute guest path, is given twice or whose directory cannot be opened,
// ErrBadMount); a trap is ErrTrap; ctx's end is ErrDeadline or ErrCanceled; the fuel
// budget's, ErrFuelExhausted.
func (c *Command) Run(ctx context.Context, cio CommandIO) (int, error) {
	if n, limit := len(cio.Stdin), c.rt.limits.MaxInputBytes; n > limit {
		return 0, setup(errorf(ErrInputTooLarge, "stdin of %d bytes exceeds the %d-byte input limit", n, limit))
	}
	mounts, err := engineMounts(cio.Mounts)
	if err != nil {
		return 0, setup(err)
	}
	f := &fuelMeter{}
	f.start(ctx, c.rt.limits.RunFuel, c.rt.limits.FuelSlice, 0)
	ctx = context.WithValue(ctx, fuelKey{}, f)
	cfg := engine.InstanceConfig{
		MaxMemoryBytes: c.memCap,
		Stdout:         cio.Stdout,
		Stderr:         cio.Stderr,
		Args:           append([]string{filepath.Base(c.path)}, cio.Args...),
		Env:            cio.Env,
		Mounts:         mounts,
	}
	if len(cio.Stdin) > 0 {
		cfg.Stdin = bytes.NewReader(cio.Stdin)
	}
	if b := c.rt.budget; b != nil {
		pages := capPages(c.memCap)
		if err := b.reserve(ctx, pages); err != nil {
			return 0, setup(err)
		}
		defer b.release(pages)
	}
	inst, err := c.compiled.Instantiate(ctx, cfg)
	if err != nil {
		if errors.Is(err, engine.ErrMount) {
			return 0, setup(errorf(ErrBadMount, "%v", err))
		}
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
	var stop *detailError // the fuel account's: deadline, cancellation, fuel
	switch {
	case errors.As(err, &stop):
		return stop
	case errors.Is(err, ErrEnginePanic):
		c.rt.logPanic(c.path, "_start", err)
		return err
	case errors.Is(err, engine.ErrDeadline):
		return errorf(ErrDeadline, "%v", context.Cause(ctx))
	case errors.Is(err, engine.ErrCanceled):
		return errorf(ErrCanceled, "%v", context.Cause(ctx))
	case inst != nil && inst.MemoryCapHit():
		return withStack(errorf(ErrMemoryLimit, "growing memory past the %d-page cap was refused, then: %v", c.rt.limits.MaxMemoryPages, err), err)
	}
	return withStack(errorf(ErrTrap, "%s", trapMessage(err)), err)
}

func engineMounts(ms []Mount) ([]engine.Mount, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	out := make([]engine.Mount, len(ms))
	seen := make(map[string]bool, len(ms))
	for i, m := range ms {
		g := m.GuestPath
		if !path.IsAbs(g) || path.Clean(g) != g {
			return nil, errorf(ErrBadMount, "guest path %q is not an absolute, clean slash path", g)
		}
		if seen[g] {
			return nil, errorf(ErrBadMount, "guest path %q is mounted twice", g)
		}
		seen[g] = true
		out[i] = engine.Mount{HostDir: m.HostDir, GuestPath: g, ReadOnly: m.ReadOnly}
	}
	return out, nil
}

// Close releases the compiled code.
func (c *Command) Close(ctx context.Context) error { return c.compiled.Close(ctx) }
