// Package serve tests the solti-wasm serve daemon as a user runs it: the real binary, real
// HTTP on loopback, the real bbolt store, driven by the client commands, the Go client and
// raw HTTP. The binary is built once per test binary.
package serve

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
)

// bin is the solti-wasm binary under test; cacheDir the compiled-code cache every daemon
// shares, so each module compiles once.
var bin, cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "solti-serve-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin, cacheDir = filepath.Join(dir, "solti-wasm"), filepath.Join(dir, "cache")
	args := []string{"build", "-o", bin}
	if d := testcache.Dir(); d != "" {
		// The shared cache, where the earlier suites compiled the Go examples: the daemon is
		// built to file its entries where they did.
		cacheDir = d
		args = append(args, testcache.DevVersionFlag)
	}
	build := exec.Command("go", append(args, "../../cmd/solti-wasm")...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "TestMain: go build -o %s ./cmd/solti-wasm: %v\n%s", bin, err, out)
		os.Exit(1)
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "TestMain: goroutines left running: %v\n", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}
