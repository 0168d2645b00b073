package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// runnerSet is a runners directory loaded into a router: the modules that serve, in routing
// order, and the files that failed to load, which run and route report but never stop on.
type runnerSet struct {
	dir     string
	modules []*runtime.Module
	failed  []*runtime.LoadError
	router  *router.Router
	compare func(a, b string) int // routing order of two module files
}

// loadRunners loads every *.wasm of dir and registers the modules, in file order, with a
// router whose builds get env. Each module that fails is reported on warn as one line naming
// the file, the stage and the cause. It fails (ExitNoRunner) only when dir is not a directory
// or no module loaded.
func loadRunners(ctx context.Context, rt *runtime.Runtime, dir string, env abi.Env, warn io.Writer) (*runnerSet, error) {
	if err := checkRunnersDir(dir); err != nil {
		return nil, err
	}
	// The registry's loading rules (routing order, order file, duplicate names, sample smoke
	// test) are watch's, so run, route and a hot-reloading host agree on a directory.
	set := &runnerSet{dir: dir, router: router.New(router.BuildContext{Env: env})}
	reg, err := registry.Open(ctx, registry.Config{Dir: dir, Runtime: rt, Router: set.router})
	if err != nil {
		return nil, fail(ExitNoRunner, "--runners %s: %w", dir, err)
	}
	set.compare = reg.Compare
	for _, le := range reg.Failed() {
		set.addFailed(le, warn)
	}
	for _, v := range reg.Current() {
		set.modules = append(set.modules, v.Module())
	}
	if len(set.modules) == 0 {
		if len(set.failed) == 0 {
			return nil, fail(ExitNoRunner, "--runners %s: no runner module loaded: the directory has no *.wasm file", dir)
		}
		return nil, fail(ExitNoRunner, "--runners %s: no runner module loaded: all %d *.wasm files failed (see the warnings above)", dir, len(set.failed))
	}
	return set, nil
}

func (s *runnerSet) addFailed(err error, warn io.Writer) {
	var le *runtime.LoadError
	if !errors.As(err, &le) { // the registry reports *LoadError; keep anything else visible
		le = &runtime.LoadError{Path: s.dir, Stage: "load", Err: err}
	}
	s.failed = append(s.failed, le)
	fmt.Fprintf(warn, "warning: module not loaded: %s\n", safeLine(le.Error()))
}

// checkRunnersDir fails (ExitNoRunner) unless dir is a directory. The registry refuses a
// missing directory too; checking first gives the flag's name and a plainer message.
func checkRunnersDir(dir string) error {
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return fail(ExitNoRunner, "--runners %s: no such directory", dir)
	case err != nil:
		return fail(ExitNoRunner, "--runners %s: %w", dir, err)
	case !fi.IsDir():
		return fail(ExitNoRunner, "--runners %s: not a directory", dir)
	}
	return nil
}

// module returns the loaded module named name.
func (s *runnerSet) module(name string) *runtime.Module {
	for _, m := range s.modules {
		if m.Name() == name {
			return m
		}
	}
	return nil
}

// readTask reads and validates the task file at path. Errors exit with ExitInvalidTask and
// name the file and, through router.ParseRequest, the field or the line and column.
func readTask(path string) (*router.Request, error) {
	_, req, err := readTaskData(path)
	return req, err
}

// readTaskData is readTask that also returns the file's bytes.
func readTaskData(path string) ([]byte, *router.Request, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fail(ExitInvalidTask, "task file: %w", err)
	}
	req, err := router.ParseRequest(data)
	if err != nil {
		return nil, nil, fail(ExitInvalidTask, "task file %s: %w", path, err)
	}
	return data, req, nil
}
