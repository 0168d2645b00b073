//go:build !wasip1

package solti

import (
	"os"
	"strings"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Outside wasm, emitted lines go to the process's standard output and error, so that runner
// code can be tried natively.
func hostEmit(stream int32, s string) {
	f := os.Stdout
	if stream == abi.StreamStderr {
		f = os.Stderr
	}
	f.WriteString(strings.TrimSuffix(s, "\n") + "\n")
}
