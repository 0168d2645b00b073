package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/executor"
	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/store/memstore"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

type runFlags struct {
	runners     string
	output      outputFormat
	env         []string
	allowExec   []string
	execEnv     []string
	execCwd     []string
	wasiDir     string
	wasiMounts  []string
	warmRuns    int
	metricsAddr string
}

func newRunCmd(o *globalOptions) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run --runners DIR TASK.json",
		Short: "Route a task to a runner module, build its plan and run it under a supervisor",
		Long: `Loads every module in the runners directory (a module that fails to load is reported
and skipped), routes the task to the first runner that takes it, has it build a plan and runs
the plan under a supervisor that applies the task's timeout, restart, backoff and maxRetries:

  guest  the same module's run export, in a fresh sandboxed instance per attempt
         (--warm-runs N: a warm per-module pool, each instance retired after N runs or any
         fault); the guest's emitted lines and logs are printed live
  exec   a subprocess in its own process group, only if --allow-exec names its command
         (exec is denied by default); its environment is this process's, overlaid with the
         plan's env, whose names the policy must allow (--exec-env; LD_* and the like are
         denied by default); a plan's cwd must be inside an --exec-cwd directory; stdout and
         stderr are printed live, line by line; on Linux the group dies with solti-wasm,
         even one killed by SIGKILL
  wasi   a WASI command module from --wasi-dir (default: the wasi subdirectory of the
         runners directory), with its args, env and stdin, and of the directories
         --wasi-mount grants only those the plan asks for (no other files, no network
         or host environment); output printed live

A plan the host's policy refuses (an exec command --allow-exec does not name, a wasi module
outside --wasi-dir, a mount --wasi-mount does not grant) is not executed: the report says
"not executed: ... denied by policy", with phase notExecuted, outcome denied, 0 attempts,
and the exit code is 5.

SIGINT or SIGTERM cancels the task: the process group is killed, the guest stopped, and the
task ends canceled (a second signal kills solti-wasm at once). The exit code follows the
final phase (see solti-wasm --help).

The guest gets a run input with the run id, the attempt number, the task env overlaid with
--env (--env wins), and the plan's payload.`,
		Example: `  solti-wasm run --runners examples/runners examples/tasks/transform.json
  solti-wasm run --runners examples/runners --allow-exec echo examples/tasks/subprocess.json
  solti-wasm run --runners examples/runners --output json --env GREETING=hi examples/tasks/echo.json
  solti-wasm run --runners examples/runners --wasi-dir /tmp/wasi --wasi-mount .:/src examples/tasks/gofmt-list.json
  solti-wasm run --runners examples/runners --metrics-addr 127.0.0.1:9464 examples/tasks/transform.json`,
		Args: exactArgs("TASK.json"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTask(cmd.Context(), o, &f, args[0])
		},
	}
	addRunnersFlag(cmd, &f.runners)
	addOutputFlag(cmd, &f.output)
	cmd.Flags().StringArrayVar(&f.env, "env", nil, "KEY=VALUE for the task's env, over the task's own values (repeatable)")
	cmd.Flags().StringArrayVar(&f.allowExec, "allow-exec", nil, "allow exec plans to run COMMAND, exactly as the plan names it (repeatable); exec is denied by default")
	cmd.Flags().StringArrayVar(&f.execEnv, "exec-env", nil, "let exec plans set the variable NAME, or those matching a pattern such as APP_* (repeatable); none given: any but the dangerous ones (LD_*, DYLD_*, BASH_ENV, PATH, ...), which only an exact NAME grants")
	cmd.Flags().StringArrayVar(&f.execCwd, "exec-cwd", nil, "let exec plans run in DIR or below it, symlinks resolved (repeatable); none given: a plan may not choose its working directory")
	cmd.Flags().StringVar(&f.wasiDir, "wasi-dir", "", "directory of the WASI command modules wasi plans name (default: DIR/wasi under --runners)")
	cmd.Flags().StringArrayVar(&f.wasiMounts, "wasi-mount", nil, "HOST:GUEST[:ro|rw]: let wasi plans mount the host directory HOST at GUEST, read-only unless :rw (repeatable); a plan gets only the mounts it asks for")
	cmd.Flags().IntVar(&f.warmRuns, "warm-runs", 0, "serve guest runs from a warm per-module instance pool, retiring each instance after N runs; 0: a fresh instance per run")
	addMetricsFlag(cmd, &f.metricsAddr)
	return cmd
}

// runRecord is what run reports: the --output json object, and the lines of the text form.
type runRecord struct {
	RunID  string    `json:"runId"`
	Runner string    `json:"runner"`
	Module string    `json:"module"`
	Plan   *abi.Plan `json:"plan"`
	// Output is the guest's output of the last successful attempt: embedded JSON when
	// valid, else a string; null for exec and wasi plans, whose output is their lines.
	Output any `json:"output"`
	// Outcome is the last attempt's: success, failure, timeout or canceled; denied when the
	// host's policy refused the plan.
	Outcome string `json:"outcome"`
	// Phase is the task's final phase: succeeded, failed, timeout, canceled or exhausted;
	// notExecuted when the host's policy refused the plan (then Attempts is 0).
	Phase    string  `json:"phase"`
	Attempts int     `json:"attempts"`
	ExitCode *int    `json:"exitCode"`
	Error    *string `json:"error"`
	// Lines are the live output lines of every attempt.
	Lines []runLine `json:"lines"`
	// DurationMs is the wall time from the first attempt's start to the task's end.
	DurationMs float64 `json:"durationMs"`

	output   []byte
	duration time.Duration
}

type runLine struct {
	Attempt int    `json:"attempt"`
	Stream  string `json:"stream"`
	Text    string `json:"text"`
	// Truncated: the guest's line or log message was cut at its limit (ABI §7).
	Truncated bool `json:"truncated,omitempty"`
}

func runTask(ctx context.Context, o *globalOptions, f *runFlags, taskPath string) error {
	if f.runners == "" {
		return usageError("--runners: must name a directory of runner modules")
	}
	if f.warmRuns < 0 {
		return usageError("--warm-runs %d: must be >= 0", f.warmRuns)
	}
	env, err := parseEnv(f.env)
	if err != nil {
		return err
	}
	if _, err := parseWasiMounts(f.wasiMounts); err != nil {
		return err
	}
	if err := executor.ValidatePatterns(f.execEnv); err != nil {
		return usageError("--exec-env: %v", err)
	}
	data, req, err := readTaskData(taskPath)
	if err != nil {
		return err
	}
	if err := checkRunnersDir(f.runners); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, the next one gets the default behaviour: it kills the process,
	// should a guest not stop.
	context.AfterFunc(ctx, stop)

	ms, err := startMetrics(o, f.metricsAddr)
	if err != nil {
		return err
	}
	defer ms.Close()
	wasiDir := f.wasiDir
	if wasiDir == "" {
		wasiDir = filepath.Join(f.runners, "wasi")
	}

	endProgress := o.progress("loading the runners in "+f.runners, f.output)
	h, closeHost, err := newRunHost(ctx, o, f, env, wasiDir, ms)
	endProgress()
	if err != nil {
		if ctx.Err() != nil {
			return canceled(ctx)
		}
		return err
	}
	defer closeHost()
	failed, _ := h.LoadFailures(runTenant)
	for _, le := range failed {
		fmt.Fprintf(progressGuard{o}, "warning: module not loaded: %s\n", safeLine(le.Error()))
	}
	if ctx.Err() != nil {
		return canceled(ctx)
	}
	if runners, _ := h.Runners(ctx, runTenant); len(runners) == 0 {
		if len(failed) == 0 {
			return fail(ExitNoRunner, "--runners %s: no runner module loaded: the directory has no *.wasm file", f.runners)
		}
		return fail(ExitNoRunner, "--runners %s: no runner module loaded: all %d *.wasm files failed (see the warnings above)", f.runners, len(failed))
	}
	if err := h.Start(ctx); err != nil {
		return fail(ExitFailure, "%w", err)
	}
	m := &abi.Task{Metadata: abi.ObjectMeta{Name: "run"}}
	if mt, err := abi.ParseTask(data); err == nil {
		m = mt
	}
	// The spec is stored as the file has it: the host parses it as readTask did.
	t, err := h.CreateTask(ctx, runTenant, m, data)
	if err != nil {
		if ctx.Err() != nil {
			return canceled(ctx)
		}
		return fail(ExitFailure, "%s: %w", taskPath, err)
	}
	f2 := &runFollow{o: o, h: h, key: t.Key, runners: f.runners, rec: &runRecord{Lines: []runLine{}}}
	f2.p = &runPrinter{w: o.stdout, text: f.output == outputText, rec: f2.rec}
	defer f2.p.stopLive() // on every path: the writer goroutine must end
	if err := f2.follow(ctx, t.UID, req.Spec); err != nil {
		return err
	}
	return f2.report(ctx, taskPath, wasiDir)
}

// runTenant is the one tenant of run's host.
const runTenant = "default"

// newRunHost makes run's host: one tenant whose runners, capabilities and build env are the
// flags', over an in-memory store, loading the runners once (no hot reload). closeHost shuts
// it down (the task is terminal by then: nothing to wait for) and closes the store.
func newRunHost(ctx context.Context, o *globalOptions, f *runFlags, env abi.Env, wasiDir string, ms *metricsServer) (_ *host.Host, closeHost func(), err error) {
	callTimeout := o.callTimeout
	if callTimeout == 0 {
		callTimeout = runtime.NoCallTimeout
	}
	caps := host.Capabilities{Exec: f.allowExec, ExecEnv: f.execEnv, ExecCwd: f.execCwd, WasiMounts: f.wasiMounts, InheritEnv: true}
	// The host wants an existing directory; without one, wasi plans are refused by policy
	// and the report's hint names wasiDir.
	if fi, err := os.Stat(wasiDir); err == nil && fi.IsDir() {
		caps.WasiDir = wasiDir
	}
	st, q := memstore.New(), memstore.NewQueue(0)
	defer func() {
		if err != nil {
			_ = q.Close()
			_ = st.Close()
		}
	}()
	cfg := host.Config{
		Store: st, Queue: q,
		Tenants: []host.Tenant{{Name: runTenant, Runners: f.runners, Capabilities: caps, BuildEnv: env,
			Limits: host.Limits{MaxMemoryPages: o.maxMemoryPages, CallTimeout: callTimeout, SupportsTimeout: o.supportsTimeout, MaxRunning: 1}}},
		Engine: string(o.engine), CacheDir: o.cacheDir, Logger: o.logger,
		RegistryLogger:   slog.New(slog.DiscardHandler), // run reports the load failures itself
		RunInstanceCalls: f.warmRuns, NoWatch: true, Workers: 1, NoTenantAttr: true,
		// Every line stays for the report, as the JSON form keeps them all.
		LogEvents: 1 << 24,
	}
	if ms != nil {
		cfg.Metrics = host.MetricsFunc(func(string) (router.MetricsBackend, runtime.Observer, error) { return ms.metrics, ms.metrics, nil })
	}
	h, err := host.New(ctx, cfg)
	var se *host.SetupError
	switch {
	case errors.As(err, &se) && se.Part == "runtime":
		return nil, nil, usageError("--cache-dir %q: %w (--cache-dir=\"\" disables the cache)", o.cacheDir, se.Err)
	case errors.As(err, &se):
		return nil, nil, fail(ExitNoRunner, "--runners %s: %w", f.runners, se.Err)
	case err != nil:
		return nil, nil, fail(ExitFailure, "%w", err)
	}
	return h, func() {
		_ = h.Shutdown(context.Background())
		_ = q.Close()
		_ = st.Close()
	}, nil
}

// runFollow follows run's task through the host: its log events live, then its status.
type runFollow struct {
	o       *globalOptions
	h       *host.Host
	key     store.Key
	runners string
	rec     *runRecord
	p       *runPrinter

	headed  bool
	last    *host.LogEvent // the last finished attempt (or the cancellation before any)
	pending *host.LogEvent // a finished attempt, said to restart when the next one starts
	start   time.Time
}

// follow prints the task's log events until the task is terminal. The first signal cancels
// the task (it still ends, and is reported, through the host).
func (r *runFollow) follow(ctx context.Context, uid string, spec *abi.TaskSpec) error {
	lctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := r.h.TaskLogs(lctx, r.key, 0)
	if err != nil {
		return fail(ExitFailure, "following the task: %w", err)
	}
	sig := ctx.Done()
	for {
		select {
		case <-sig:
			sig = nil
			_ = r.h.CancelTask(context.Background(), r.key, uid, context.Cause(ctx))
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if err := r.event(ev, spec); err != nil {
				return err
			}
		}
	}
}

func (r *runFollow) event(ev host.LogEvent, spec *abi.TaskSpec) error {
	switch ev.Type {
	case host.LogRunStarted:
		if !r.headed {
			if err := r.header(); err != nil {
				return err
			}
			r.p.startLive()
			timeout := time.Duration(spec.TimeoutMs) * time.Millisecond
			r.o.logger.Info("run started", "runId", r.rec.RunID, "runner", r.rec.Runner, "module", r.rec.Module, "plan", r.rec.Plan.Type(), "timeout", timeout)
			r.start = ev.Time
		}
		if r.pending != nil && ev.Attempt > r.pending.Attempt {
			r.p.restart(r.pending)
		}
		r.pending = nil
	case host.LogChunk:
		r.p.line(runLine{Attempt: ev.Attempt, Stream: ev.Stream, Text: ev.Line, Truncated: ev.Truncated})
	case host.LogRunFinished:
		e := ev
		r.last = &e
		if ev.Attempt > 0 {
			r.pending = &e
		}
		if ev.Outcome == string(router.OutcomeSuccess) && ev.Output != nil {
			r.rec.output = ev.Output
		}
	case host.LogLagged:
		r.p.lost(ev.Skipped)
	}
	return nil
}

// header reads the plan the host persisted before the first attempt and prints the report's
// header; false when the task has none (it failed before its plan was built).
func (r *runFollow) header() error {
	if r.headed {
		return nil
	}
	t, err := r.h.GetTask(context.Background(), r.key)
	if err != nil {
		return fail(ExitFailure, "reading the task: %w", err)
	}
	if t.Plan == nil {
		return nil
	}
	plan, err := abi.ParsePlan(t.Plan.Plan)
	if err != nil {
		return fail(ExitFailure, "the task's plan: %w", err)
	}
	rec := r.rec
	rec.RunID, rec.Runner, rec.Plan = t.Plan.RunID, t.Plan.Runner, plan
	runners, _ := r.h.Runners(context.Background(), runTenant)
	for _, ri := range runners {
		if ri.Name == rec.Runner {
			rec.Module = filepath.Join(r.runners, ri.File)
		}
	}
	r.headed = true
	if err := r.p.header(); err != nil {
		return fail(ExitFailure, "writing the report: %w", err)
	}
	return nil
}

// report prints the summary of the terminal task, or fails as run always did for a task that
// never got a plan to run.
func (r *runFollow) report(ctx context.Context, taskPath, wasiDir string) error {
	end := time.Now()
	t, err := r.h.GetTask(context.Background(), r.key)
	if err != nil {
		return fail(ExitFailure, "reading the task: %w", err)
	}
	st := t.Status
	terr := r.h.TaskError(r.key)
	if terr == nil && st.Error != "" {
		terr = errors.New(st.Error)
	}
	if err := r.header(); err != nil {
		return err
	}
	var nr *router.NoRunnerError
	switch {
	case st.Reason == host.ReasonRunnerNotFound && errors.As(terr, &nr):
		// A fault counts as no, so without these lines nothing says why a runner that
		// should have taken the task did not.
		for _, f := range nr.Faults {
			args := []any{"runner", f.Runner, "export", abi.ExportSupports, "cause", oneLine(f.Err.Error())}
			if ce := (*runtime.CallError)(nil); errors.As(f.Err, &ce) {
				args = []any{"runner", f.Runner, "module", ce.Path, "export", ce.Export, "cause", oneLine(ce.Err.Error())}
			}
			r.o.logger.Warn("supports failed", args...)
		}
		return fail(ExitNoRunner, "%s: %w (solti-wasm route explains each runner's verdict)", taskPath, terr)
	case st.Reason == host.ReasonRunnerNotFound || st.Reason == host.ReasonRunnerBuildFailed:
		return fail(ExitNoRunner, "%s: %w", taskPath, terr)
	case !r.headed && st.Phase == store.PhaseCanceled:
		return canceled(ctx)
	case !r.headed || st.Reason == host.ReasonPlanNotExecutable || st.Reason == host.ReasonInvalidSpec:
		return fail(ExitFailure, "%s: %w", taskPath, terr)
	}
	rec := r.rec
	if st.Reason == host.ReasonPolicyDenied { // refused before any attempt: no task metrics
		rec.notExecuted(terr, wasiDir)
		r.o.logger.Info("run not executed", "runId", rec.RunID, "runner", rec.Runner, "plan", rec.Plan.Type(), "reason", terr)
		if err := r.p.summary(); err != nil {
			return fail(ExitFailure, "writing the report: %w", err)
		}
		return reported(ExitNotExecuted)
	}
	if !r.start.IsZero() {
		rec.duration = end.Sub(r.start)
	}
	rec.DurationMs = durationMs(rec.duration)
	rec.Phase, rec.Attempts, rec.ExitCode = string(st.Phase), st.Attempt, st.ExitCode
	if r.last != nil {
		rec.Outcome = r.last.Outcome
	}
	if rec.output != nil {
		rec.Output = jsonOrString(rec.output)
	}
	if st.Error != "" {
		msg := oneLine(st.Error)
		rec.Error = &msg
	}
	if errors.Is(terr, executor.ErrPolicy) { // checked before, so only if the policy's view changed
		rec.notExecuted(terr, wasiDir)
	}
	r.o.logger.Info("run finished", "runId", rec.RunID, "phase", rec.Phase, "outcome", rec.Outcome, "attempts", rec.Attempts, "duration", rec.duration)
	if err := r.p.summary(); err != nil {
		return fail(ExitFailure, "writing the report: %w", err)
	}
	return reported(exitForPhase(st.Phase, terr))
}

// The report's phase and outcome for a plan the host's policy refused.
const (
	phaseNotExecuted = "notExecuted"
	outcomeDenied    = "denied"
)

// notExecuted records a policy refusal: "not executed: ... denied by policy: ...", and the
// flag that would grant what was refused.
func (r *runRecord) notExecuted(err error, wasiDir string) {
	msg := "not executed: " + oneLine(err.Error())
	var pe *executor.PolicyError
	if errors.As(err, &pe) {
		switch {
		case pe.Policy == executor.PolicyExec:
			msg += "; grant it with --allow-exec " + pe.Name
		case pe.Policy == executor.PolicyExecEnv && pe.Name != "" && !strings.ContainsAny(pe.Name, "=\x00"):
			msg += "; grant it with --exec-env " + pe.Name
		case pe.Policy == executor.PolicyExecCwd:
			msg += "; grant it with --exec-cwd DIR, a directory that holds it"
		case pe.Policy == executor.PolicyWasiMount && strings.Contains(pe.Reason, "read-write"):
			msg += "; grant it read-write with --wasi-mount HOST:" + pe.Name + ":rw"
		case pe.Policy == executor.PolicyWasiMount:
			msg += "; grant it with --wasi-mount HOST:" + pe.Name
		case pe.Policy == executor.PolicyWasiModule:
			msg += "; wasi modules come from --wasi-dir (here " + wasiDir + ")"
		}
	}
	r.Error, r.Phase, r.Outcome, r.Attempts, r.ExitCode = &msg, phaseNotExecuted, outcomeDenied, 0, nil
}

// parseWasiMounts reads the --wasi-mount flags: each HOST must be a directory, each GUEST
// granted once. Host paths are made absolute, so that the grant does not depend on where a
// plan's module happens to run.
func parseWasiMounts(flags []string) ([]executor.MountGrant, error) {
	var grants []executor.MountGrant
	for _, f := range flags {
		g, err := executor.ParseMountGrant(f)
		if err != nil {
			return nil, usageError("--wasi-mount: %v", err)
		}
		if g.Host, err = filepath.Abs(g.Host); err != nil {
			return nil, usageError("--wasi-mount %q: %v", f, err)
		}
		if fi, err := os.Stat(g.Host); err != nil || !fi.IsDir() {
			return nil, usageError("--wasi-mount %q: %s is not a directory", f, g.Host)
		}
		for _, o := range grants {
			if o.Guest == g.Guest {
				return nil, usageError("--wasi-mount %q: %s is already granted (%s)", f, g.Guest, o)
			}
		}
		grants = append(grants, g)
	}
	return grants, nil
}

// exitForPhase maps a task's final phase, and the error that ended it, to the exit code.
func exitForPhase(phase store.Phase, err error) int {
	switch phase {
	case store.PhaseSucceeded:
		return ExitOK
	case store.PhaseTimeout:
		return ExitTimeout
	case store.PhaseCanceled:
		return ExitCanceled
	}
	if errors.Is(err, executor.ErrPolicy) {
		return ExitNotExecuted
	}
	return ExitFailure // failed, exhausted
}

// runPrinter writes run's report: in text, the header, then live lines and attempts as they
// come, then the summary; in JSON, one object at the end.
//
// Live text goes through a queue to a writer goroutine, so a guest or process that emits
// lines never waits for the terminal: a stdout that is slow or not read at all must not hold
// a run past its task's timeout (the guest's emit call would block in the write, where no
// deadline can stop it). Lines that find the queue full are not printed live, and counted;
// the JSON report keeps every line.
type runPrinter struct {
	w    io.Writer
	text bool
	rec  *runRecord

	mu      sync.Mutex
	err     error
	live    chan string   // text lines for the writer goroutine; nil before startLive
	done    chan struct{} // closed when the writer has written everything
	dropped int           // lines that found the queue full
	// lostLines are lines the host dropped before they were read (a LogLagged event).
	lostLines uint64
}

// liveQueue is how many live lines may wait for a slow stdout.
const liveQueue = 4096

// stopLive waits until the queued lines are written and ends the writer; it is called once
// every attempt has ended (no line comes any more), and again harmlessly.
func (p *runPrinter) stopLive() {
	p.mu.Lock()
	live := p.live
	p.live = nil
	p.mu.Unlock()
	if live != nil {
		close(live)
		<-p.done
	}
}

// startLive starts the writer of live text lines.
func (p *runPrinter) startLive() {
	if !p.text {
		return
	}
	live, done := make(chan string, liveQueue), make(chan struct{})
	p.live, p.done = live, done
	go func() { // the channels as locals: stopLive clears p.live, maybe before this runs
		defer close(done)
		for s := range live {
			if _, err := io.WriteString(p.w, s); err != nil {
				p.mu.Lock()
				if p.err == nil {
					p.err = err
				}
				p.mu.Unlock()
			}
		}
	}()
}

func (p *runPrinter) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *runPrinter) header() error {
	if !p.text {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rec
	p.printf("run id:   %s\n", r.RunID)
	p.printf("runner:   %s (%s)\n", r.Runner, r.Module)
	p.printf("plan:     %s\n", r.Plan.Type())
	if r.Plan.Guest == nil { // exec and wasi plans: show what will run
		plan, err := json.Marshal(r.Plan)
		if err != nil {
			return err
		}
		p.printf("  %s\n", safeText(string(plan)))
	}
	return p.err
}

// truncatedMark ends a text line whose guest line or log message was cut at its limit; in
// JSON the line has "truncated": true.
const truncatedMark = " [truncated]"

var streamTags = map[string]string{string(supervisor.Stdout): "stdout", string(supervisor.Stderr): "stderr", string(supervisor.Log): "log   "}

// line records a live line, and prints it in text mode.
func (p *runPrinter) line(l runLine) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rec.Lines = append(p.rec.Lines, l)
	if p.live != nil {
		mark := ""
		if l.Truncated {
			mark = truncatedMark
		}
		select {
		case p.live <- fmt.Sprintf("%s | %s%s\n", streamTags[l.Stream], safeText(l.Text), mark):
		default:
			p.dropped++
		}
	}
}

// lost counts lines the host's log buffer dropped before this reader got them.
func (p *runPrinter) lost(n uint64) {
	p.mu.Lock()
	p.lostLines += n
	p.mu.Unlock()
}

// restart prints an attempt that was retried: it is printed as the next attempt starts.
func (p *runPrinter) restart(ev *host.LogEvent) {
	if !p.text {
		return
	}
	msg := ""
	if ev.Error != "" {
		msg = ": " + safeLine(ev.Error)
	}
	p.mu.Lock()
	live := p.live
	p.mu.Unlock()
	if live != nil { // not dropped, and not under p.mu
		live <- fmt.Sprintf("attempt %d: %s%s; restarting\n", ev.Attempt, ev.Outcome, msg)
	}
}

func (p *runPrinter) summary() error {
	p.stopLive()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dropped > 0 {
		p.printf("(%d line%s not printed live: stdout was not read fast enough; --output json keeps every line)\n", p.dropped, plural(p.dropped))
	}
	if p.lostLines > 0 {
		p.printf("(%d log event%s lost: the host's log buffer overflowed before they were read)\n", p.lostLines, plural(int(p.lostLines)))
	}
	r := p.rec
	if !p.text {
		return writeJSON(p.w, r)
	}
	switch {
	case r.output != nil:
		p.printf("output:   %s\n", safeBlock(string(r.output), "        "))
	case r.Plan.Guest != nil && r.Error == nil:
		p.printf("output:   (none)\n")
	}
	if r.ExitCode != nil {
		p.printf("exit code: %d\n", *r.ExitCode)
	}
	if r.Error != nil {
		p.printf("error:    %s\n", safeText(*r.Error))
	}
	if r.Phase == phaseNotExecuted {
		p.printf("phase:    %s (refused by the host's policy before any attempt)\n", r.Phase)
		p.printf("outcome:  %s\n", r.Outcome)
		return p.err
	}
	p.printf("phase:    %s after %d attempt%s\n", r.Phase, r.Attempts, plural(r.Attempts))
	p.printf("outcome:  %s (%s)\n", r.Outcome, formatDuration(r.duration))
	return p.err
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// parseEnv reads --env KEY=VALUE flags; a later value of a key wins.
func parseEnv(kvs []string) (abi.Env, error) {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError("--env %q: want KEY=VALUE", kv)
		}
		m[k] = v
	}
	return abi.EnvFromMap(m), nil
}

// canceled is the error of a command stopped by a signal.
func canceled(ctx context.Context) error {
	return fail(ExitCanceled, "canceled: %v", context.Cause(ctx))
}

func addRunnersFlag(cmd *cobra.Command, dir *string) {
	cmd.Flags().StringVar(dir, "runners", "", "directory of runner modules (*.wasm), tried in lexical order of file name, files listed in its "+registry.OrderFileName+" first (required)")
	_ = cmd.MarkFlagRequired("runners")
}

// exactArgs requires one positional argument and names it when it is missing.
func exactArgs(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageError("%s: want one argument, %s; got %d", cmd.Name(), name, len(args))
		}
		return nil
	}
}
