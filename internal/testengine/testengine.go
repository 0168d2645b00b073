// Package testengine chooses the engine the module's test suites run on, so that the same
// tests cover every engine: a suite's TestMain calls Select, which reads SOLTI_TEST_ENGINE,
// and the runtime gives a Config with no Engine the selected one. Nothing outside tests
// calls Select, so programs keep the documented default (wazero).
package testengine

import (
	"fmt"
	"os"
	"slices"
	"sync/atomic"
)

// Env names the engine for the test run, e.g. SOLTI_TEST_ENGINE=wasmtime with
// -tags wasmtime. Empty: the default engine.
const Env = "SOLTI_TEST_ENGINE"

var selected atomic.Pointer[string]

// Select reads Env and makes its engine the default. have lists the engines this build
// registered: asking for one the build lacks (wasmtime without its build tag) is an error,
// so a suite never silently tests the default engine instead.
func Select(have []string) error {
	name := os.Getenv(Env)
	if name == "" {
		return nil
	}
	if !slices.Contains(have, name) {
		return fmt.Errorf("%s=%s: this test binary has only %v (wasmtime needs -tags wasmtime and CGO_ENABLED=1)", Env, name, have)
	}
	selected.Store(&name)
	return nil
}

// Name is the engine Select chose, or "" when none was.
func Name() string {
	if p := selected.Load(); p != nil {
		return *p
	}
	return ""
}
