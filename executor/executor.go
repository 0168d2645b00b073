// Package executor turns built plans into supervisor tasks: guest plans run the module's run
// export, exec plans a subprocess behind an allow-list policy, wasi plans a sandboxed WASI
// command module with the directories the host operator grants it. Each attempt streams its
// output lines to the supervisor's sink and reports policy refusals and setup failures as
// fatal (never retried), and non-zero exits, guest errors and traps as retryable failures.
package executor

import (
	"context"
	"errors"
	"fmt"
	"path"
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
	// Mounts are the directories wasi plans may ask for, by guest path; a plan gets only the
	// ones it asks for. None: wasi plans see no file system.
	Mounts []MountGrant
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

// ErrPolicy is matched by every refusal of a host policy (exec allow-list, wasi module path,
// wasi mounts).
var ErrPolicy = errors.New("denied by policy")

// Policies a PolicyError names.
const (
	PolicyExec       = "exec"        // the exec allow-list; Name is the command
	PolicyWasiModule = "wasi-module" // the wasi module directory; Name is the plan's module
	PolicyWasiMount  = "wasi-mount"  // the wasi mount grants; Name is the guest path
	PolicyExecEnv    = "exec-env"    // the env names an exec plan may set; Name is the variable
	PolicyExecCwd    = "exec-cwd"    // the directories an exec plan may run in; Name is its cwd
)

// PolicyError is a plan the host's policy refuses: nothing of it was executed. An attempt
// that meets one fails fatally.
type PolicyError struct {
	Policy string // PolicyExec, PolicyExecEnv, PolicyExecCwd, PolicyWasiModule or PolicyWasiMount
	Name   string // what the plan asked for: the command, module or guest path
	Reason string
}

// Error reads like `exec of "rm" denied by policy: REASON`.
func (e *PolicyError) Error() string {
	subject := map[string]string{PolicyExec: "exec of", PolicyExecEnv: "exec env", PolicyExecCwd: "exec cwd",
		PolicyWasiModule: "wasi module", PolicyWasiMount: "wasi mount"}[e.Policy]
	return fmt.Sprintf("%s %q denied by policy: %s", subject, e.Name, e.Reason)
}

// Is makes errors.Is(err, ErrPolicy) true.
func (e *PolicyError) Is(target error) bool { return target == ErrPolicy }

// Check returns the *PolicyError that executing p would meet, or nil: a caller can refuse a
// plan before it submits it (executing checks again).
func (c *Config) Check(p *abi.Plan) error {
	switch {
	case p.Exec != nil:
		if err := c.Exec.Check(p.Exec.Command); err != nil {
			return err
		}
		if err := c.Exec.CheckEnv(p.Exec.Env); err != nil {
			return err
		}
		_, err := c.Exec.CheckCwd(p.Exec.Cwd)
		return err
	case p.Wasi != nil:
		_, err := (&Wasi{Plan: p.Wasi, Runtime: c.Runtime, ModuleDir: c.ModuleDir, Mounts: c.Mounts}).check()
		return err
	}
	return nil
}

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
		return &Wasi{Plan: p.Wasi, Runtime: c.Runtime, ModuleDir: c.ModuleDir, Mounts: c.Mounts}, router.RunnerWasm, nil
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
		return &PolicyError{Policy: PolicyExec, Name: command, Reason: "the allow-list is empty (exec plans are denied by default)"}
	}
	return &PolicyError{Policy: PolicyExec, Name: command, Reason: "not in the allow-list (" + strings.Join(p.Allow, ", ") + ")"}
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

// Wasi executes a wasi plan: a WASI command module from ModuleDir, with the plan's args, env
// and stdin, and the mounts it asks for among Mounts; nothing else is granted
// (runtime.Command).
type Wasi struct {
	Plan      *abi.WasiPlan
	Runtime   *runtime.Runtime
	ModuleDir string
	Mounts    []MountGrant
}

// check applies the policy: the module is a local path inside ModuleDir, and each mount the
// plan asks for is granted, read-write only where the grant is. It returns the mounts.
func (w *Wasi) check() ([]runtime.Mount, error) {
	if w.Runtime == nil || w.ModuleDir == "" {
		return nil, &PolicyError{Policy: PolicyWasiModule, Name: w.Plan.Module, Reason: "this host has no module directory for wasi plans"}
	}
	if !filepath.IsLocal(w.Plan.Module) {
		return nil, &PolicyError{Policy: PolicyWasiModule, Name: w.Plan.Module,
			Reason: "must be a local path inside the module directory (no .., not absolute)"}
	}
	var mounts []runtime.Mount
	for _, m := range w.Plan.Mounts {
		i := slices.IndexFunc(w.Mounts, func(g MountGrant) bool { return g.Guest == m.Guest })
		if i < 0 {
			reason := "not granted: this host grants wasi plans no directory"
			if len(w.Mounts) > 0 {
				granted := make([]string, len(w.Mounts))
				for j, g := range w.Mounts {
					granted[j] = g.Guest + " " + g.mode()
				}
				reason = "not granted (granted: " + strings.Join(granted, ", ") + ")"
			}
			return nil, &PolicyError{Policy: PolicyWasiMount, Name: m.Guest, Reason: reason}
		}
		g := w.Mounts[i]
		if m.Mode == abi.MountReadWrite && !g.ReadWrite {
			return nil, &PolicyError{Policy: PolicyWasiMount, Name: m.Guest, Reason: "the plan asks for read-write; it is granted read-only"}
		}
		mounts = append(mounts, runtime.Mount{HostDir: g.Host, GuestPath: m.Guest, ReadOnly: !g.ReadWrite || m.Mode == abi.MountReadOnly})
	}
	return mounts, nil
}

// Execute runs one attempt: stdin is the plan's, stdout and stderr are streamed line by line;
// the exit code maps like a process's (non-zero: a retryable failure). Policy refusals and
// setup failures (a missing module, stdin over the input limit, a granted directory gone)
// are fatal.
func (w *Wasi) Execute(ctx context.Context, a supervisor.Attempt, out supervisor.Sink) (supervisor.Result, error) {
	mounts, err := w.check()
	if err != nil {
		return supervisor.Result{}, supervisor.Fatal(router.ErrorBackendConfigFailed, err)
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
	code, err := cmd.Run(ctx, runtime.CommandIO{Args: w.Plan.Args, Env: env, Stdin: w.Plan.Stdin, Mounts: mounts, Stdout: stdout, Stderr: stderr})
	stdout.flush()
	stderr.flush()
	switch {
	case errors.Is(err, runtime.ErrBadMount):
		return supervisor.Result{}, supervisor.Fatal(router.ErrorBackendConfigFailed, err)
	case errors.Is(err, runtime.ErrSetup):
		return supervisor.Result{}, supervisor.Fatal(router.ErrorModuleLoadFailed, err)
	case err != nil:
		return supervisor.Result{}, err
	case code != 0:
		return supervisor.Result{ExitCode: &code}, &supervisor.ExitError{Code: code}
	}
	return supervisor.Result{ExitCode: &code}, nil
}

// MountGrant is a host directory the host operator lets wasi plans mount at Guest.
type MountGrant struct {
	Host  string // a directory on the host
	Guest string // an absolute, clean slash path: how plans ask for it
	// ReadWrite lets plans write to it; false (the default): read-only.
	ReadWrite bool
}

func (g MountGrant) mode() string {
	if g.ReadWrite {
		return abi.MountReadWrite
	}
	return abi.MountReadOnly
}

// String is the grant as ParseMountGrant reads it, with its mode.
func (g MountGrant) String() string { return g.Host + ":" + g.Guest + ":" + g.mode() }

// ErrMountGrant is matched by every error of ParseMountGrant.
var ErrMountGrant = errors.New("invalid mount grant")

// ParseMountGrant reads HOST:GUEST[:ro|rw], read-only unless it ends in :rw. GUEST must be
// an absolute, clean slash path; HOST may itself contain colons.
func ParseMountGrant(s string) (MountGrant, error) {
	var g MountGrant
	rest := s
	if r, ok := strings.CutSuffix(s, ":"+abi.MountReadWrite); ok {
		rest, g.ReadWrite = r, true
	} else if r, ok := strings.CutSuffix(s, ":"+abi.MountReadOnly); ok {
		rest = r
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return g, fmt.Errorf("%w %q: want HOST:GUEST[:ro|rw]", ErrMountGrant, s)
	}
	g.Host, g.Guest = rest[:i], rest[i+1:]
	switch {
	case g.Host == "":
		return g, fmt.Errorf("%w %q: the host directory is empty (want HOST:GUEST[:ro|rw])", ErrMountGrant, s)
	case !strings.HasPrefix(g.Guest, "/") || path.Clean(g.Guest) != g.Guest:
		return g, fmt.Errorf("%w %q: the guest path %q is not an absolute, clean slash path like /src (want HOST:GUEST[:ro|rw])", ErrMountGrant, s, g.Guest)
	}
	return g, nil
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
