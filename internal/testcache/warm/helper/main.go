// Command helper is the process testcache.Warm starts to fill the shared compilation cache:
// it reads the request from SOLTI_TEST_WARM and compiles with package warm, outside the race
// detector. Warm runs it with `go run`, whose executable the go command caches, so a warm-up
// that finds its entries present costs a cache lookup instead of a test binary's link. It
// must be built with wazero's version set to "dev"
// (-ldflags=-X=github.com/tetratelabs/wazero/internal/version.version=dev): the test binaries
// that read the entries carry no module build information, so their wazero files entries
// under "dev", and a binary with build information would file them under wazero's release.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/internal/testcache/warm"
)

func main() {
	v, paths, err := testcache.ParseWarm(os.Getenv(testcache.WarmEnv))
	if err == nil {
		err = warm.Run(context.Background(), os.Getenv(testcache.Env), v, paths)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "warm:", err)
		os.Exit(1)
	}
}
