package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/runtime"
)

const longHelp = `solti-wasm routes solti task specs (JSON) to runner modules (WebAssembly) and
executes the plans they build. A runners directory holds the modules, *.wasm, tried in
lexical order of file name (files listed in its order file, ` + registry.OrderFileName + `, first):
the first that handles the task's kind, matches its runnerSelector and whose supports
export says yes builds the plan.

Exit codes:
    0  success: the task succeeded (run), a runner would be chosen (route),
       the module is a valid runner (inspect)
    1  the task failed: its guest returned an error or trapped, its process
       or WASI module exited non-zero, or it exhausted its retries (run);
       the module is not a valid runner (inspect)
    2  usage error: a bad flag, flag value, argument or command
    3  invalid task: the task file is unreadable, not JSON, or not a valid spec
    4  no runner: no module loaded, no runner for the task, or the chosen
       runner failed to build
    5  the plan was built but not executed: the host's policy refused it
       (an exec plan whose command --allow-exec does not name, a wasi plan
       whose module is not a local path inside --wasi-dir, or one that asks
       for a mount --wasi-mount does not grant)
    6  a client command (apply, get, logs, delete, runners, push, route
       --server) could not reach its server, the server refused the token,
       or it is unavailable (shutting down, not ready, an internal error);
       a request the server refused (not found, conflict, quota) exits 1
  124  the task's timeout expired while it ran
  130  canceled by SIGINT or SIGTERM`

// globalOptions are the root's persistent flags, shared by every subcommand.
type globalOptions struct {
	logLevel       logLevelFlag
	cacheDir       string
	engine         engineFlag
	callTimeout    time.Duration
	maxMemoryPages uint32
	// supportsTimeout is --supports-timeout: supports's own, smaller deadline.
	supportsTimeout time.Duration

	stdout, stderr io.Writer
	logger         *slog.Logger // set once the flags are parsed

	// Set by a command before newRuntime: the wasm meters (--metrics-addr) and the run
	// instance policy (run --warm-runs).
	observer         runtime.Observer
	runInstanceCalls int

	// remote holds --server and --token-file, the client commands' (remote.go).
	remote remoteOptions

	// progressStop ends the progress line shown while modules load, if any (progress.go).
	progressStop atomic.Pointer[func()]
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	opts := &globalOptions{
		logLevel:        logLevelFlag(slog.LevelWarn),
		cacheDir:        runtime.DefaultCacheDir(),
		engine:          "wazero",
		callTimeout:     abi.DefaultCallTimeout,
		supportsTimeout: runtime.DefaultSupportsTimeout,
		maxMemoryPages:  abi.DefaultMaxMemoryPages,
		stdout:          stdout,
		stderr:          stderr,
	}
	root := &cobra.Command{
		Use:   "solti-wasm",
		Short: "Route solti tasks to WebAssembly runner modules and run them",
		Long:  longHelp,
		// Errors are printed once, by execute, with the exit code's context; a usage dump
		// after a task failure would bury the message.
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: opts.setup,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	// cobra's completion command: solti-wasm completion bash|zsh|fish|powershell.
	root.CompletionOptions.HiddenDefaultCmd = false

	f := root.PersistentFlags()
	f.Var(&opts.logLevel, "log-level", "log level of the structured logs on stderr: debug, info, warn or error")
	f.StringVar(&opts.cacheDir, "cache-dir", opts.cacheDir, `directory of the compiled-code cache; --cache-dir="" disables it`)
	f.Var(&opts.engine, "engine", "WebAssembly engine: "+strings.Join(runtime.Engines(), ", "))
	f.DurationVar(&opts.callTimeout, "call-timeout", opts.callTimeout,
		"deadline of each name, describe, supports and build call; 0 disables it: faster calls that nothing interrupts (trusted modules only; runs stay bounded by the task timeout)")
	f.DurationVar(&opts.supportsTimeout, "supports-timeout", opts.supportsTimeout,
		"deadline of each supports call, which every task asks of the runners before the one that takes it (at most --call-timeout)")
	f.Uint32Var(&opts.maxMemoryPages, "max-memory-pages", opts.maxMemoryPages, "linear memory cap per module instance, in 64 KiB pages")

	root.AddCommand(newRunCmd(opts), newRouteCmd(opts), newInspectCmd(opts), newVersionCmd(opts), newWatchCmd(opts), newNewCmd(opts), newGenManCmd(root))
	root.AddCommand(newSchemaCmd(opts))
	addRemoteFlags(root, &opts.remote)
	for _, c := range extraCommands {
		root.AddCommand(c(opts))
	}
	root.AddCommand(newApplyCmd(opts), newGetCmd(opts), newLogsCmd(opts), newDeleteCmd(opts), newRunnersCmd(opts), newPushCmd(opts), newTokenCmd(opts))
	return root
}

// extraCommands are commands whose files build only with some build tags (serve_register.go).
var extraCommands []func(*globalOptions) *cobra.Command

// setup checks the global flags that their types do not, and makes the logger.
func (o *globalOptions) setup(*cobra.Command, []string) error {
	if o.callTimeout < 0 {
		return usageError("--call-timeout %v: must be >= 0 (0 disables the deadline)", o.callTimeout)
	}
	if o.supportsTimeout <= 0 {
		return usageError("--supports-timeout %v: must be > 0", o.supportsTimeout)
	}
	if o.maxMemoryPages == 0 || o.maxMemoryPages > 65536 {
		return usageError("--max-memory-pages %d: must be between 1 and 65536 (4 GiB)", o.maxMemoryPages)
	}
	o.logger = slog.New(slog.NewTextHandler(progressGuard{o}, &slog.HandlerOptions{Level: slog.Level(o.logLevel)}))
	return nil
}

// newRuntime makes the runtime the flags describe. The engine is validated by its flag, so
// what can fail here is the cache directory.
func (o *globalOptions) newRuntime(ctx context.Context) (*runtime.Runtime, error) {
	timeout := o.callTimeout
	if timeout == 0 {
		timeout = runtime.NoCallTimeout
	}
	rt, err := runtime.New(ctx, runtime.Config{
		Engine:   string(o.engine),
		CacheDir: o.cacheDir,
		Limits:   runtime.Limits{CallTimeout: timeout, MaxMemoryPages: o.maxMemoryPages, SupportsTimeout: o.supportsTimeout},
		Logger:   o.logger,
		Observer: o.observer,

		RunInstanceCalls: o.runInstanceCalls,
	})
	if err != nil {
		return nil, usageError("--cache-dir %q: %w (--cache-dir=\"\" disables the cache)", o.cacheDir, err)
	}
	return rt, nil
}

// logLevelFlag is --log-level: a flag type, so that cobra rejects a bad value as a usage
// error that names the flag.
type logLevelFlag slog.Level

func (l *logLevelFlag) String() string { return strings.ToLower(slog.Level(*l).String()) }
func (l *logLevelFlag) Type() string   { return "level" }
func (l *logLevelFlag) Set(s string) error {
	switch s {
	case "debug":
		*l = logLevelFlag(slog.LevelDebug)
	case "info":
		*l = logLevelFlag(slog.LevelInfo)
	case "warn":
		*l = logLevelFlag(slog.LevelWarn)
	case "error":
		*l = logLevelFlag(slog.LevelError)
	default:
		return fmt.Errorf("want debug, info, warn or error")
	}
	return nil
}

// engineFlag is --engine, checked against the engines this build has.
type engineFlag string

func (e *engineFlag) String() string { return string(*e) }
func (e *engineFlag) Type() string   { return "name" }
func (e *engineFlag) Set(s string) error {
	for _, name := range runtime.Engines() {
		if s == name {
			*e = engineFlag(s)
			return nil
		}
	}
	return fmt.Errorf("unknown engine (this build has %s)", strings.Join(runtime.Engines(), ", "))
}

// printError reports a command's failure on stderr, unless its report already did.
func printError(w io.Writer, cmd *cobra.Command, err error, code int) {
	if ee := (*exitError)(nil); errors.As(err, &ee) && ee.silent {
		return
	}
	msg := safeLine(err.Error())
	if ee := (*exitError)(nil); !errors.As(err, &ee) {
		// cobra's own parse errors: a "Did you mean this?" list is laid out in lines.
		if text := strings.TrimSpace(err.Error()); strings.Contains(text, "\n") {
			lines := strings.Split(text, "\n")
			for i, l := range lines {
				indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))] // cobra's layout, kept
				lines[i] = indent + safeLine(l[len(indent):])
			}
			msg = strings.Join(lines, "\n") + "\n"
		}
	}
	fmt.Fprintf(w, "solti-wasm: %s\n", msg)
	if code == ExitUsage && cmd != nil {
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
}
