// Package warm compiles modules into the shared test compilation cache (internal/testcache)
// the way the suites compile them. It runs in the helper process testcache.Warm starts
// (./helper), built without the race detector and with wazero's version set to the "dev"
// that the suites' test binaries file their entries under.
package warm

import (
	"context"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// compileBudget bounds one module's compile in the helper (the product's default is 30 s,
// which a loaded machine can exceed for a Go guest).
const compileBudget = 10 * time.Minute

// Run compiles every module at paths in each variant of v into the cache directory dir, two
// modules at a time per core. Entries already there are read, not compiled again.
func Run(ctx context.Context, dir string, v testcache.Variant, paths []string) error {
	var compilers []func(path string) error
	var closers []func() error
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	for _, p := range []struct {
		variant testcache.Variant
		timeout time.Duration
	}{{testcache.Product, 0}, {testcache.Unmetered, runtime.NoCallTimeout}} {
		if v&p.variant == 0 {
			continue
		}
		rt, err := runtime.New(ctx, runtime.Config{CacheDir: dir, Limits: runtime.Limits{CallTimeout: p.timeout, CompileTimeout: compileBudget}})
		if err != nil {
			return err
		}
		closers = append(closers, func() error { return rt.Close(ctx) })
		compilers = append(compilers, func(path string) error {
			m, err := rt.Load(ctx, path)
			if err != nil {
				return err
			}
			return m.Close(ctx)
		})
	}
	if v&testcache.Command != 0 {
		rt, err := runtime.New(ctx, runtime.Config{CacheDir: dir, Limits: runtime.Limits{CompileTimeout: compileBudget}})
		if err != nil {
			return err
		}
		closers = append(closers, func() error { return rt.Close(ctx) })
		compilers = append(compilers, func(path string) error {
			c, err := rt.LoadCommand(ctx, path)
			if err != nil {
				return err
			}
			return c.Close(ctx)
		})
	}
	if v&(testcache.Plain|testcache.Fueled) != 0 {
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return fmt.Errorf("compilation cache %s: %w", dir, err)
		}
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
		closers = append(closers, func() error { return errors.Join(rt.Close(ctx), cache.Close(ctx)) })
		plain := func(path string, fuel bool) error {
			wasm, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if fuel {
				if wasm, err = runtime.InstrumentFuel(wasm); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
			}
			c, err := rt.CompileModule(ctx, wasm)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			return c.Close(ctx)
		}
		if v&testcache.Plain != 0 {
			compilers = append(compilers, func(path string) error { return plain(path, false) })
		}
		if v&testcache.Fueled != 0 {
			compilers = append(compilers, func(path string) error { return plain(path, true) })
		}
	}
	type job struct {
		compile func(string) error
		path    string
	}
	jobs := make(chan job)
	errs := make(chan error, len(paths)*len(compilers))
	var wg sync.WaitGroup
	for range goruntime.GOMAXPROCS(0) {
		wg.Go(func() {
			for j := range jobs {
				if err := j.compile(j.path); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, p := range paths {
		for _, c := range compilers {
			jobs <- job{c, p}
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}
