//go:build !linux

package executor

import (
	"os/exec"
	"syscall"
)

// Outside Linux there is no parent-death signal: an exec plan's process group is killed when
// its attempt ends, is canceled or times out, and when the host stops on SIGINT or SIGTERM,
// but a host killed with SIGKILL (or crashing) leaves it running.

func newProcess(command string, args []string) (*exec.Cmd, error) {
	cmd := exec.Command(command, args...)
	if cmd.Err != nil {
		return nil, cmd.Err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, nil
}

func startProcess(cmd *exec.Cmd) (release func(), err error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() {}, nil
}
