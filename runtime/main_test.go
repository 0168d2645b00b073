package runtime_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/internal/testengine"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// Every test must leave no goroutine behind: modules, pools and runtimes close cleanly. The
// tests run on the engine SOLTI_TEST_ENGINE names (default wazero).
func TestMain(m *testing.M) {
	if err := testengine.Select(runtime.Engines()); err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		os.Exit(2)
	}
	if testengine.Name() == "" {
		warm()
	}
	goleak.VerifyTestMain(m)
}

// warm compiles what TestFuelDifferentialEngine loads into the shared test cache, outside the
// race detector: every conformance runner and example, unmetered (its runtime runs with
// NoCallTimeout) and metered (the instrumented bytes its fuel-metered instances run). The Go
// guests take ~27 s each to compile in a race-built binary, ~2 s here. A failure only costs
// time: the test then compiles what it needs.
func warm() {
	var mods []string
	for _, pat := range runtime.DifferentialModules {
		m, _ := filepath.Glob(pat)
		mods = append(mods, m...)
	}
	if err := testcache.Warm(testcache.Unmetered|testcache.Product, mods...); err != nil && !errors.Is(err, testcache.ErrNoCache) {
		fmt.Fprintln(os.Stderr, "TestMain: warning: the shared compilation cache is not warm:", err)
	}
}
