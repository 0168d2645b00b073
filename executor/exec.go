package executor

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

// Exec executes an exec plan as a subprocess in its own process group.
type Exec struct {
	Plan      *abi.ExecPlan
	Policy    ExecPolicy
	BaseEnv   []string
	WaitDelay time.Duration
}

// Execute runs one attempt. The command, the plan's env names and its cwd must pass the
// policy; it starts in a new process group with BaseEnv overlaid with the plan's env, in the
// plan's cwd (symlinks resolved). Its stdout and stderr stream to out line by line. When ctx
// is done (cancel, timeout) the whole group is killed; when the command exits, whatever it
// left running in its group is killed too, so a task's processes never outlive it. On Linux
// they do not outlive the host either, even one killed by SIGKILL (see exec_linux.go).
//
// Policy refusals and spawn failures are fatal; a non-zero exit is a retryable failure when
// the plan's failOnNonZero holds, else a success carrying the exit code.
func (e *Exec) Execute(ctx context.Context, a supervisor.Attempt, out supervisor.Sink) (supervisor.Result, error) {
	if err := e.Policy.Check(e.Plan.Command); err != nil {
		return supervisor.Result{}, supervisor.Fatal(router.ErrorBackendConfigFailed, err)
	}
	if err := e.Policy.CheckEnv(e.Plan.Env); err != nil {
		return supervisor.Result{}, supervisor.Fatal(router.ErrorBackendConfigFailed, err)
	}
	dir, err := e.Policy.CheckCwd(e.Plan.Cwd)
	var pe *PolicyError
	switch {
	case errors.As(err, &pe):
		return supervisor.Result{}, supervisor.Fatal(router.ErrorBackendConfigFailed, err)
	case err != nil:
		return supervisor.Result{}, supervisor.Fatal(router.ErrorSpawnFailed, err)
	}
	if err := ctx.Err(); err != nil {
		return supervisor.Result{}, context.Cause(ctx)
	}
	cmd, err := newProcess(e.Plan.Command, e.Plan.Args)
	if err != nil {
		return supervisor.Result{}, supervisor.Fatal(router.ErrorSpawnFailed, err)
	}
	cmd.Env = mergeEnv(e.BaseEnv, e.Plan.Env)
	cmd.Dir = dir
	// Our own pipes, not exec's copying goroutines: Wait returns when the process exits,
	// and the readers end when every holder of the pipes is gone (killed with the group).
	outR, outW, err := os.Pipe()
	if err != nil {
		return supervisor.Result{}, supervisor.Fatal(router.ErrorSpawnFailed, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return supervisor.Result{}, supervisor.Fatal(router.ErrorSpawnFailed, err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	release, err := startProcess(cmd)
	if err != nil {
		for _, f := range []*os.File{outR, outW, errR, errW} {
			f.Close()
		}
		return supervisor.Result{}, supervisor.Fatal(router.ErrorSpawnFailed, err)
	}
	outW.Close()
	errW.Close()
	pgid := cmd.Process.Pid
	var readers sync.WaitGroup
	readers.Go(func() { readLines(outR, supervisor.Stdout, out) })
	readers.Go(func() { readLines(errR, supervisor.Stderr, out) })

	killGroup := func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }
	stop := context.AfterFunc(ctx, killGroup)
	waitErr := cmd.Wait()
	release()
	stop()
	killGroup() // the leader is gone: end what it left behind, which may hold the pipes

	delay := e.WaitDelay
	if delay <= 0 {
		delay = 2 * time.Second
	}
	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(delay):
		// A process that escaped the group (setsid) still holds a pipe: stop reading.
		outR.Close()
		errR.Close()
		<-drained
	}
	outR.Close()
	errR.Close()

	if ctx.Err() != nil {
		return supervisor.Result{}, context.Cause(ctx)
	}
	code := cmd.ProcessState.ExitCode()
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return supervisor.Result{}, waitErr
	}
	if code == -1 { // killed by a signal from elsewhere
		return supervisor.Result{}, waitErr
	}
	res := supervisor.Result{ExitCode: &code}
	if code != 0 && e.Plan.FailOnNonZero {
		return res, &supervisor.ExitError{Code: code}
	}
	return res, nil
}

// readLines sends each line of r to out; lines longer than maxLine are split.
func readLines(r io.Reader, s supervisor.Stream, out supervisor.Sink) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			n := len(line)
			if line[n-1] == '\n' {
				n--
				if n > 0 && line[n-1] == '\r' {
					n--
				}
			}
			out(supervisor.Line{Stream: s, Text: string(line[:n])})
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}
