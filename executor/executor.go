// Package executor turns built plans into supervisor tasks: guest plans run the module's run
// export, exec plans a subprocess behind an allow-list policy, wasi plans a sandboxed WASI
// command module. Each attempt streams its output lines to the supervisor's sink and reports
// setup failures as fatal (never retried), and non-zero exits, guest errors and traps as
// retryable failures.
package executor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

// Config says how plans execute. The zero value runs guest plans only: exec is denied (an
// empty allow-list) and wasi plans need a Runtime and a ModuleDir.
type Config struct {
	// Exec is the policy for exec plans; its zero value denies every command.
	Exec ExecPolicy
	// ExecEnv is the environment exec plans start from, KEY=VALUE (os.Environ() to inherit
	// the host's); the plan's env is laid over it, the plan's values winning. Nil: the
	// process gets only the plan's env.
	ExecEnv []string
	// ExecWaitDelay bounds how long an exec attempt waits for its output after its process
	// exited or was killed. 0: 2 s.
	ExecWaitDelay time.Duration
	// Runtime compiles and runs wasi plans' modules. Nil: wasi plans fail (fatal).
	Runtime *runtime.Runtime
	// ModuleDir is where wasi plans' modules are: a plan names a local path inside it
	// (filepath.IsLocal: no "..", not absolute), nothing else on the host.
	ModuleDir string
}

// GuestRunner is a runner that executes its own guest plans; *runtime.Module is one, and so
// is a hot-reload registry's version of one.
type GuestRunner interface {
	Run(ctx context.Context, in *abi.RunInput) ([]byte, error)
}

// StreamingRunner is a GuestRunner that can also stream the guest's emitted lines and logs
// (*runtime.Module, *registry.Version). With a GuestRunner that is not one, a guest's lines go
// to the runtime's log instead.
type StreamingRunner interface {
	RunWith(ctx context.Context, in *abi.RunInput, opts runtime.RunOptions) ([]byte, error)
}

// ErrPolicy is matched by every refusal of a host policy (exec allow-list, wasi module path).
var ErrPolicy = errors.New("denied by policy")

// PolicyError is a plan the host's policy refuses. The attempt fails fatally.
type PolicyError struct {
	Policy string // "exec" or "wasi"
	Msg    string
	// Subject is what was refused, for a host that explains how to grant it: "command",
	// "env" or "cwd" for exec plans ("" otherwise), and Value is the refused command, variable
	// name or directory.
	Subject, Value string
}

func (e *PolicyError) Error() string { return e.Policy + " policy: " + e.Msg }

// Is makes errors.Is(err, ErrPolicy) true.
func (e *PolicyError) Is(target error) bool { return target == ErrPolicy }

// Task returns the task that executes b's plan, and the runner type that labels its metrics.
// A guest's run input carries b.Env, the env the runner built with (the task env under the
// host's, host wins); exec and wasi plans carry their own env.
func (c *Config) Task(b *router.Built) (supervisor.Task, router.RunnerType, error) {
	switch p := b.Plan; {
	case p.Guest != nil:
		g, ok := b.Runner.(GuestRunner)
		if !ok {
			return nil, "", fmt.Errorf("runner %q cannot execute guest plans", b.Runner.Name())
		}
		return &Guest{Runner: g, Env: b.Env, Payload: p.Guest.Payload}, router.RunnerWasm, nil
	case p.Exec != nil:
		return &Exec{Plan: p.Exec, Policy: c.Exec, BaseEnv: c.ExecEnv, WaitDelay: c.ExecWaitDelay}, router.RunnerSubprocess, nil
	case p.Wasi != nil:
		return &Wasi{Plan: p.Wasi, Runtime: c.Runtime, ModuleDir: c.ModuleDir}, router.RunnerWasm, nil
	}
	return nil, "", fmt.Errorf("runner %q built an empty plan: none of guest, exec and wasi is set", b.Runner.Name())
}

// Guest executes a guest plan: the runner module's run export with the plan's payload.
type Guest struct {
	Runner  GuestRunner
	Env     abi.Env
	Payload []byte
}

// Execute runs one attempt. Lines the guest emits go to out as stdout and stderr, its logs
// as log lines ("LEVEL message").
func (g *Guest) Execute(ctx context.Context, a supervisor.Attempt, out supervisor.Sink) (supervisor.Result, error) {
	in := &abi.RunInput{RunID: a.RunID, Attempt: a.Number, Env: g.Env, Payload: g.Payload}
	var res []byte
	var err error
	if s, ok := g.Runner.(StreamingRunner); ok {
		res, err = s.RunWith(ctx, in, runtime.RunOptions{OnLine: func(l runtime.RunLine) { out(guestLine(l)) }})
	} else {
		res, err = g.Runner.Run(ctx, in)
	}
	if err != nil {
		if errors.Is(err, runtime.ErrSetup) {
			return supervisor.Result{}, supervisor.Fatal(router.ErrorModuleLoadFailed, err)
		}
		return supervisor.Result{}, err
	}
	return supervisor.Result{Output: res}, nil
}

var levelNames = [...]string{"DEBUG", "INFO", "WARN", "ERROR"}

func guestLine(l runtime.RunLine) supervisor.Line {
	switch l.Stream {
	case abi.StreamStderr:
		return supervisor.Line{Stream: supervisor.Stderr, Text: l.Text, Truncated: l.Truncated}
	case runtime.StreamLog:
		return supervisor.Line{Stream: supervisor.Log, Text: levelNames[min(max(l.Level, 0), 3)] + " " + l.Text, Truncated: l.Truncated}
	}
	return supervisor.Line{Stream: supervisor.Stdout, Text: l.Text, Truncated: l.Truncated}
}

// ExecPolicy is the host's policy for exec plans: the command a plan may run, the environment
// variables it may set and the working directories it may choose. The policy decides, not
// the plan: a plan's command runs only when it is exactly one of Allow (a name looked up in
// PATH, or a path), deny by default; see CheckEnv and CheckCwd for env and cwd.
type ExecPolicy struct {
	Allow []string
	// Env lists the variables a plan may set: exact names (A_NAME) or path.Match patterns
	// (APP_*). Empty: any name but those of DefaultEnvDeny. Set: only names it matches, and
	// still none of DefaultEnvDeny unless named exactly (a pattern never grants a denied name).
	Env []string
	// Cwd lists the directories a plan's cwd must be inside (the directory itself or below),
	// compared after resolving symlinks on both sides. Empty: a plan may not choose a cwd (its
	// process starts in the host's working directory).
	Cwd []string
}

// Check returns a *PolicyError unless command is allowed.
func (p ExecPolicy) Check(command string) error {
	if slices.Contains(p.Allow, command) {
		return nil
	}
	if len(p.Allow) == 0 {
		return &PolicyError{Policy: "exec", Subject: "command", Value: command, Msg: fmt.Sprintf("command %q is not allowed: the allow-list is empty (exec plans are denied by default)", command)}
	}
	return &PolicyError{Policy: "exec", Subject: "command", Value: command, Msg: fmt.Sprintf("command %q is not allowed (allow-list: %s)", command, strings.Join(p.Allow, ", "))}
}

// mergeEnv lays plan (sorted) over base (KEY=VALUE): the plan's values win. The result is
// sorted by key.
func mergeEnv(base []string, plan abi.Env) []string {
	m := make(map[string]string, len(base)+len(plan))
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	for _, kv := range plan {
		m[kv.Key] = kv.Value
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// Wasi executes a wasi plan: a WASI command module from ModuleDir, with the plan's args and
// env and nothing else granted (runtime.Command).
type Wasi struct {
	Plan      *abi.WasiPlan
	Runtime   *runtime.Runtime
	ModuleDir string
}

// Execute runs one attempt: stdout and stderr are streamed line by line; the exit code maps
// like a process's (non-zero: a retryable failure).
func (w *Wasi) Execute(ctx context.Context, a supervisor.Attempt, out supervisor.Sink) (supervisor.Result, error) {
	if w.Runtime == nil || w.ModuleDir == "" {
		return supervisor.Result{}, supervisor.Fatal(router.ErrorBackendConfigFailed, &PolicyError{Policy: "wasi", Msg: "this host has no module directory for wasi plans"})
	}
	if !filepath.IsLocal(w.Plan.Module) {
		return supervisor.Result{}, supervisor.Fatal(router.ErrorBackendConfigFailed, &PolicyError{Policy: "wasi",
			Msg: fmt.Sprintf("module %q must be a local path inside the module directory (no .., not absolute)", w.Plan.Module)})
	}
	path := filepath.Join(w.ModuleDir, w.Plan.Module)
	cmd, err := w.Runtime.LoadCommand(ctx, path)
	if err != nil {
		return supervisor.Result{}, supervisor.Fatal(router.ErrorModuleLoadFailed, err)
	}
	defer cmd.Close(context.Background())
	stdout, stderr := newLineWriter(supervisor.Stdout, out), newLineWriter(supervisor.Stderr, out)
	env := make([]string, len(w.Plan.Env))
	for i, kv := range w.Plan.Env {
		env[i] = kv.Key + "=" + kv.Value
	}
	code, err := cmd.Run(ctx, runtime.CommandIO{Args: w.Plan.Args, Env: env, Stdout: stdout, Stderr: stderr})
	stdout.flush()
	stderr.flush()
	switch {
	case errors.Is(err, runtime.ErrSetup):
		return supervisor.Result{}, supervisor.Fatal(router.ErrorModuleLoadFailed, err)
	case err != nil:
		return supervisor.Result{}, err
	case code != 0:
		return supervisor.Result{ExitCode: &code}, &supervisor.ExitError{Code: code}
	}
	return supervisor.Result{ExitCode: &code}, nil
}

// lineWriter splits what is written into lines for a sink; flush sends an unterminated tail.
// Runs write from one goroutine (wazero calls fd_write on the calling goroutine).
type lineWriter struct {
	stream supervisor.Stream
	out    supervisor.Sink
	buf    []byte
}

const maxLine = 64 << 10 // longer lines are split

func newLineWriter(s supervisor.Stream, out supervisor.Sink) *lineWriter {
	return &lineWriter{stream: s, out: out}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := slices.Index(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			for len(w.buf) >= maxLine {
				w.out(supervisor.Line{Stream: w.stream, Text: string(w.buf[:maxLine])})
				w.buf = append(w.buf[:0], w.buf[maxLine:]...)
			}
			break
		}
		w.buf = append(w.buf, p[:i]...)
		w.out(supervisor.Line{Stream: w.stream, Text: strings.TrimSuffix(string(w.buf), "\r")})
		w.buf = w.buf[:0]
		p = p[i+1:]
	}
	return n, nil
}

func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.out(supervisor.Line{Stream: w.stream, Text: string(w.buf)})
		w.buf = w.buf[:0]
	}
}
