// Command solti-wasm routes solti task specs to runner modules (WebAssembly) and executes the
// plans they build: run a task, explain its routing, inspect a module.
//
// The command line is a thin layer over the library: runtime loads the modules, router picks
// one, and this package adds flags, signals, exit codes and printing. See root.go for the
// usage and the exit codes.
package main

import (
	"context"
	"io"
	"os"
)

func main() {
	os.Exit(execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// execute runs the command line args and returns the exit code. It takes its streams as
// arguments so that nothing below it writes to the process's streams directly.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	code := exitCode(err)
	if err != nil {
		printError(stderr, cmd, err, code)
	}
	return code
}
