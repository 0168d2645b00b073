//go:build linux

package guard

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// Arg0 marks a re-executed guard: os.Args is [Arg0, path, argv0, args...].
const Arg0 = "solti-wasm-exec-guard"

// StatusFD is the guard's pipe to the host: empty at EOF when the command started, else
// the reason it could not start (a spawn failure).
const StatusFD = 3

// ParentDeathSignal is what the kernel sends the guard when the host dies. Not SIGKILL: the
// guard must live to kill its group. The guard tells it from an operator's SIGTERM by its
// parent: gone, or not.
const ParentDeathSignal = syscall.SIGTERM

func init() {
	// Any binary that links this package can serve as a guard; it never reaches its main.
	if len(os.Args) >= 3 && os.Args[0] == Arg0 {
		// syscall.Exit, not os.Exit: nothing is left to flush, and a race-enabled build
		// would otherwise wait a second at exit for reports (GORACE atexit_sleep_ms).
		syscall.Exit(runGuard(os.Args[1], os.Args[2:]))
	}
}

// runGuard runs the command at path with argv in the guard's process group and returns the
// exit code to leave with.
func runGuard(path string, argv []string) int {
	host := os.Getppid()
	status := os.NewFile(StatusFD, "guard-status")
	syscall.CloseOnExec(StatusFD) // the command must not hold the status pipe
	sigs := make(chan os.Signal, 8)
	forwarded := []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}
	signal.Notify(sigs, forwarded...)
	if os.Getppid() != host || host == 1 { // the host died before the handler was in place
		killGroup()
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	if err := cmd.Start(); err != nil {
		fmt.Fprint(status, err.Error())
		status.Close()
		return 127
	}
	status.Close()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == ParentDeathSignal && hostGone(host) {
					killGroup() // the host is gone: nothing of the task may outlive it
				}
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 127
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() { // die the same way, so that the host sees the signal
		signal.Reset(ws.Signal())
		_ = syscall.Kill(os.Getpid(), ws.Signal())
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// hostGone reports whether the guard's parent, host, has died. The parent-death signal comes
// as the forking thread exits, while the host's other threads may still be exiting; until the
// last one has, the guard's parent is still the host's pid. So a SIGTERM is the host's death
// only once the parent changes; one from an operator, with the host alive, is forwarded after
// this short wait.
func hostGone(host int) bool {
	for range 100 {
		if os.Getppid() != host {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

func killGroup() {
	_ = syscall.Kill(0, syscall.SIGKILL)
	syscall.Exit(128 + int(syscall.SIGKILL)) // not reached
}
