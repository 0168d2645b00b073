package warm

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
)

// TestMain is also the helper process of testcache.Warm: with SOLTI_TEST_WARM set, it warms
// the cache that request names and exits without running the tests.
func TestMain(m *testing.M) {
	if req := os.Getenv(testcache.WarmEnv); req != "" {
		v, paths, err := testcache.ParseWarm(req)
		if err == nil {
			err = Run(context.Background(), os.Getenv(testcache.Env), v, paths)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "warm:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
