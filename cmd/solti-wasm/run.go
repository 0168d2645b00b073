package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// outcomeNotExecuted is run's outcome for a plan this version does not execute.
const outcomeNotExecuted = "not-executed"

// notExecutedWhy is the one-line explanation that goes with outcomeNotExecuted.
const notExecutedWhy = "this version executes guest plans only; exec and wasi execution arrives with the supervisor"

type runFlags struct {
	runners string
	output  outputFormat
	env     []string
}

func newRunCmd(o *globalOptions) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run --runners DIR TASK.json",
		Short: "Route a task to a runner module, build its plan and execute it",
		Long: `Loads every module in the runners directory (a module that fails to load is reported
and skipped), routes the task to the first runner that takes it, has it build a plan and
executes the plan: a guest plan runs the same module's run export, bounded by the task's
timeout and stopped by SIGINT or SIGTERM. Exec and wasi plans are printed, not executed.

The guest gets a run input with the run id, attempt 1, the task env overlaid with --env
(--env wins), and the plan's payload.`,
		Example: `  solti-wasm run --runners examples/runners examples/tasks/transform.json
  solti-wasm run --runners examples/runners --output json --env GREETING=hi examples/tasks/echo.json`,
		Args: exactArgs("TASK.json"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTask(cmd.Context(), o, &f, args[0])
		},
	}
	addRunnersFlag(cmd, &f.runners)
	addOutputFlag(cmd, &f.output)
	cmd.Flags().StringArrayVar(&f.env, "env", nil, "KEY=VALUE for the task's env, over the task's own values (repeatable)")
	return cmd
}

// runRecord is what run reports: the --output json object, and the lines of the text form.
type runRecord struct {
	RunID   string    `json:"runId"`
	Runner  string    `json:"runner"`
	Module  string    `json:"module"`
	Plan    *abi.Plan `json:"plan"`
	Output  any       `json:"output"` // the guest's output: embedded JSON when valid, else a string
	Outcome string    `json:"outcome"`
	Error   *string   `json:"error"`
	// DurationMs is the run's wall time; 0 for a plan not executed.
	DurationMs float64 `json:"durationMs"`

	output   []byte
	duration time.Duration
}

func runTask(ctx context.Context, o *globalOptions, f *runFlags, taskPath string) error {
	if f.runners == "" {
		return usageError("--runners: must name a directory of runner modules")
	}
	env, err := parseEnv(f.env)
	if err != nil {
		return err
	}
	req, err := readTask(taskPath)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal, the next one gets the default behaviour: it kills the process,
	// should a guest not stop.
	context.AfterFunc(ctx, stop)

	rt, err := o.newRuntime(ctx)
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())

	set, err := loadRunners(ctx, rt, f.runners, env, o.stderr)
	if ctx.Err() != nil {
		return canceled(ctx)
	}
	if err != nil {
		return err
	}
	built, err := set.router.Build(ctx, req)
	if ctx.Err() != nil {
		return canceled(ctx) // a canceled supports call reads as "no runner": say what happened
	}
	var nr *router.NoRunnerError
	switch {
	case errors.As(err, &nr):
		return fail(ExitNoRunner, "%s: %w (solti-wasm route explains each runner's verdict)", taskPath, err)
	case err != nil:
		return fail(ExitNoRunner, "%s: %w", taskPath, err)
	}

	mod := set.module(built.Runner.Name())
	rec := &runRecord{RunID: built.RunID.ID, Runner: built.Runner.Name(), Module: mod.Path(), Plan: built.Plan}
	code := ExitNotExecuted
	if built.Plan.Guest != nil {
		in := &abi.RunInput{
			RunID:   built.RunID.ID,
			Attempt: 1,
			Env:     (&router.BuildContext{Env: env}).MergedEnv(router.TaskEnv(req.Spec)),
			Payload: built.Plan.Guest.Payload,
		}
		timeout := time.Duration(req.Spec.TimeoutMs) * time.Millisecond
		code = executeGuest(ctx, o, mod, in, timeout, rec)
	} else {
		rec.Outcome = outcomeNotExecuted
		why := notExecutedWhy
		rec.Error = &why
	}
	if f.output == outputJSON {
		err = writeJSON(o.stdout, rec)
	} else {
		err = rec.writeText(o.stdout)
	}
	if err != nil {
		return fail(ExitFailure, "writing the report: %w", err)
	}
	return reported(code)
}

// executeGuest runs mod's run export with in, bounded by timeout and by ctx (the signals),
// fills rec's output, outcome, error and duration, and returns the exit code.
func executeGuest(ctx context.Context, o *globalOptions, mod *runtime.Module, in *abi.RunInput, timeout time.Duration, rec *runRecord) (code int) {
	runCtx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("the task's timeout of %v expired", timeout))
	defer cancel()
	o.logger.Info("run started", "runId", in.RunID, "runner", mod.Name(), "module", mod.Path(), "timeout", timeout)
	start := time.Now()
	out, err := mod.Run(runCtx, in)
	rec.duration = time.Since(start)
	rec.DurationMs = durationMs(rec.duration)

	switch {
	case err == nil:
		rec.Outcome, code = string(router.OutcomeSuccess), ExitOK
		rec.output, rec.Output = out, jsonOrString(out)
	case ctx.Err() != nil || errors.Is(err, runtime.ErrCanceled):
		rec.Outcome, code = string(router.OutcomeCanceled), ExitCanceled
	case runCtx.Err() != nil || errors.Is(err, runtime.ErrDeadline):
		rec.Outcome, code = string(router.OutcomeTimeout), ExitTimeout
	default:
		rec.Outcome, code = string(router.OutcomeFailure), ExitFailure
	}
	if err != nil {
		msg := oneLine(err.Error())
		rec.Error = &msg
	}
	o.logger.Info("run finished", "runId", in.RunID, "outcome", rec.Outcome, "duration", rec.duration)
	return code
}

func (r *runRecord) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "run id:   %s\n", r.RunID)
	fmt.Fprintf(&b, "runner:   %s (%s)\n", r.Runner, r.Module)
	fmt.Fprintf(&b, "plan:     %s\n", r.Plan.Type())
	if r.Outcome == outcomeNotExecuted {
		plan, err := json.MarshalIndent(r.Plan, "  ", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "  %s\n", plan)
		fmt.Fprintf(&b, "outcome:  %s: %s\n", r.Outcome, notExecutedWhy)
		_, err = io.WriteString(w, b.String())
		return err
	}
	switch {
	case r.output != nil:
		fmt.Fprintf(&b, "output:   %s\n", strings.TrimSuffix(string(r.output), "\n"))
	case r.Error == nil:
		b.WriteString("output:   (none)\n")
	}
	if r.Error != nil {
		fmt.Fprintf(&b, "error:    %s\n", *r.Error)
	}
	fmt.Fprintf(&b, "outcome:  %s (%s)\n", r.Outcome, formatDuration(r.duration))
	_, err := io.WriteString(w, b.String())
	return err
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
	cmd.Flags().StringVar(dir, "runners", "", "directory of runner modules (*.wasm), tried in lexical order of file name (required)")
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
