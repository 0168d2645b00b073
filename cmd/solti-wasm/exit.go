package main

import (
	"errors"
	"fmt"
)

// Exit codes. They are part of the CLI's interface (scripts branch on them), so they are
// listed in the root command's help; keep the two in step.
const (
	ExitOK          = 0   // the task succeeded (run), a runner would be chosen (route), the module is a valid runner (inspect)
	ExitFailure     = 1   // the task failed or exhausted its retries (run); the module is not a valid runner (inspect)
	ExitUsage       = 2   // a bad flag, flag value, argument or command
	ExitInvalidTask = 3   // the task file is unreadable, not JSON, or not a valid spec
	ExitNoRunner    = 4   // no module loaded, no runner for the task, or the chosen runner failed to build
	ExitNotExecuted = 5   // a plan was built but the host's policy refused it (an exec command not in --allow-exec, a wasi module outside --wasi-dir, a mount not granted by --wasi-mount)
	ExitUnreachable = 6   // a client command's server could not be reached, refused the token, or is unavailable (503, 5xx)
	ExitTimeout     = 124 // the task's timeout expired during the run (as timeout(1))
	ExitCanceled    = 130 // SIGINT or SIGTERM stopped the command (128 + SIGINT, as shells report it)
)

// exitError carries the exit code a command's failure maps to. Every error a command's RunE
// returns is one; any other error reaching main comes from cobra's parsing of the command
// line, which is a usage error.
type exitError struct {
	code int
	err  error
	// silent: the command already printed its report, so main prints nothing more.
	silent bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// fail returns an error that exits with code, its message formatted like fmt.Errorf (so %w
// keeps the cause reachable).
func fail(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// usageError is fail(ExitUsage, ...): main adds a pointer to the command's help.
func usageError(format string, args ...any) error { return fail(ExitUsage, format, args...) }

// reported ends a command whose report (stdout) already says how it ended, with code.
func reported(code int) error {
	if code == ExitOK {
		return nil
	}
	return &exitError{code: code, err: fmt.Errorf("exit %d", code), silent: true}
}

// exitCode maps an error returned by the command tree to the process's exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitUsage
}
