package runtime_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

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
	goleak.VerifyTestMain(m)
}
