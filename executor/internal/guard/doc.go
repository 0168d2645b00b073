// Package guard is the process that leads an exec plan's process group on Linux, so that the
// group dies with the host (see executor/exec_linux.go). Any binary that links package
// executor can serve as the guard: re-executed with argv[0] Arg0, this package's init takes
// the process over before its main runs. It imports only the standard library and runs no
// code of the host's; the cost is a Go process start per exec attempt (BENCHMARKS.md).
//
// Outside Linux the package is empty: there is no parent-death signal to build on.
package guard
