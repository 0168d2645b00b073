package executor

import (
	"errors"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"syscall"

	"github.com/solti-wasm/solti-wasm/executor/internal/guard"
)

// On Linux an exec plan's process group dies with the host, even when the host is killed
// with SIGKILL and has no chance to kill it: the host starts a small guard (this binary again,
// re-executed through /proc/self/exe with argv[0] guard.Arg0), which leads the new process
// group, runs the plan's command in it and carries a parent-death signal. The kernel sends it
// that signal when the host dies; the guard then kills its whole group, background children
// included. The parent-death signal alone would reach only the direct child: its own children
// do not inherit it.
//
// The parent-death signal fires when the host *thread* that forked exits, not the process
// (golang/go#27505), and Go ends a thread when a goroutine exits while locked to it; so the
// goroutine that starts the guard locks its thread until the guard has been waited for.

// The guard's code is in package guard (executor/internal/guard).

// newProcess prepares the guard for command and args: the command is looked up in the host's
// PATH, as exec.Command would, so that the plan's env cannot change which binary runs.
func newProcess(command string, args []string) (*exec.Cmd, error) {
	path, err := exec.LookPath(command)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: "/proc/self/exe", Args: append([]string{guard.Arg0, path, command}, args...)}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: guard.ParentDeathSignal}
	return cmd, nil
}

// startProcess starts cmd (from newProcess) on a thread locked until the returned release
// is called, which must be after cmd.Wait; it returns the command's spawn failure as the
// guard reports it.
func startProcess(cmd *exec.Cmd) (release func(), err error) {
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{statusW}
	goruntime.LockOSThread()
	err = cmd.Start()
	statusW.Close()
	if err != nil {
		statusR.Close()
		goruntime.UnlockOSThread()
		return nil, err
	}
	msg, _ := io.ReadAll(statusR) // EOF once the command started or failed to
	statusR.Close()
	if len(msg) > 0 {
		_ = cmd.Wait()
		goruntime.UnlockOSThread()
		return nil, errors.New(string(msg))
	}
	return goruntime.UnlockOSThread, nil
}
