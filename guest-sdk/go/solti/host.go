//go:build !wasip1

package solti

import "os"

// Outside wasm there is no host: the package compiles without its exports so that runner code
// can be tested natively, and log records go to standard error.
func hostLog(level int32, msg string) {
	os.Stderr.WriteString([...]string{"DEBUG ", "INFO ", "WARN ", "ERROR "}[level&3] + msg + "\n")
}
