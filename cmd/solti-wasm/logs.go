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

	"github.com/solti-wasm/solti-wasm/client"
)

// logsQuiet is how long logs without -f waits for the next event before it takes the
// server's replay as done: the stream itself never says "caught up" while the task runs.
const logsQuiet = 300 * time.Millisecond

type logsFlags struct {
	follow bool
	output outputFormat
	after  uint64
}

func newLogsCmd(o *globalOptions) *cobra.Command {
	var f logsFlags
	cmd := &cobra.Command{
		Use:   "logs [-f] NAME",
		Short: "Print a task's output from a solti-wasm server",
		Long: `Prints the task's log: each attempt's output lines (stdout and stderr lines go to
stdout, escaped so that no line can move the cursor or pass for another), with a line on
stderr when an attempt starts and when it ends.

Without -f it prints what the server still holds and exits: at once when the task has ended,
else after the stream has been quiet for 300ms. With -f it follows the task until it reaches
a terminal phase; a dropped connection is resumed where it stopped (Last-Event-ID), so no
line is printed twice. -o json prints one JSON object per event instead.`,
		Example: `  solti-wasm logs echo
  solti-wasm logs -f transform`,
		Args: exactArgs("NAME"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return o.completeTaskNames(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return printLogs(cmd.Context(), o, &f, args[0])
		},
	}
	cmd.Flags().BoolVarP(&f.follow, "follow", "f", false, "follow the log until the task ends")
	cmd.Flags().Uint64Var(&f.after, "after", 0, "start after this event sequence number (what a previous -o json run printed last)")
	addOutputFlag(cmd, &f.output)
	return cmd
}

func printLogs(ctx context.Context, o *globalOptions, f *logsFlags, name string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := c.Logs(streamCtx, name, client.LogOptions{After: f.after})
	if err != nil {
		return remoteError(ctx, "logs of task "+name, err)
	}
	defer s.Close()

	type next struct {
		ev  client.LogEvent
		err error
	}
	events := make(chan next)
	done := make(chan struct{})
	defer func() { cancel(); <-done }() // the reader ends with the stream's context
	go func() {
		defer close(done)
		for {
			ev, err := s.Next()
			select {
			case events <- next{ev, err}:
			case <-streamCtx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	// Without -f, the stream's replay is over once it goes quiet.
	var quiet <-chan time.Time
	var timer *time.Timer
	if !f.follow {
		timer = time.NewTimer(logsQuiet)
		defer timer.Stop()
		quiet = timer.C
	}
	for {
		select {
		case <-quiet:
			cancel()
			return nil
		case n := <-events:
			if n.err != nil {
				switch {
				case errors.Is(n.err, io.EOF):
					return nil // the task ended and everything was sent
				case ctx.Err() != nil:
					return canceled(ctx)
				}
				return remoteError(ctx, "logs of task "+name, n.err)
			}
			if timer != nil {
				timer.Reset(logsQuiet)
			}
			if err := writeLogEvent(o, f.output, n.ev); err != nil {
				return fail(ExitFailure, "writing the log: %w", err)
			}
		}
	}
}

// logJSON is one event of logs -o json.
type logJSON struct {
	Seq       uint64 `json:"seq"`
	Type      string `json:"type"`
	Attempt   int    `json:"attempt,omitempty"`
	RunID     string `json:"runId,omitempty"`
	Stream    string `json:"stream,omitempty"`
	Line      string `json:"line,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	Phase     string `json:"phase,omitempty"`
	ExitCode  *int   `json:"exitCode,omitempty"`
	Error     string `json:"error,omitempty"`
	Skipped   uint64 `json:"skipped,omitempty"`
	Time      string `json:"time,omitempty"`
}

func writeLogEvent(o *globalOptions, format outputFormat, ev client.LogEvent) error {
	if format == outputJSON {
		j := logJSON{Seq: ev.Seq, Type: ev.Type, Attempt: ev.Attempt, RunID: ev.RunID, Stream: ev.Stream, Line: ev.Line,
			Truncated: ev.Truncated, Phase: ev.Phase, ExitCode: ev.ExitCode, Error: ev.Error, Skipped: ev.Skipped}
		if !ev.Time.IsZero() {
			j.Time = ev.Time.UTC().Format(time.RFC3339Nano)
		}
		b, err := json.Marshal(j)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.stdout, "%s\n", b)
		return err
	}
	var err error
	switch ev.Type {
	case client.LogChunk:
		line := safeText(strings.TrimSuffix(ev.Line, "\n"))
		if ev.Truncated {
			line += " [truncated]"
		}
		_, err = fmt.Fprintln(o.stdout, line)
	case client.LogRunStarted:
		_, err = fmt.Fprintf(o.stderr, "--- attempt %d started (run %s)\n", ev.Attempt, safeText(orDash(ev.RunID)))
	case client.LogRunFinished:
		msg := fmt.Sprintf("--- attempt %d %s", ev.Attempt, safeText(orDash(ev.Phase)))
		if ev.ExitCode != nil {
			msg += fmt.Sprintf(", exit code %d", *ev.ExitCode)
		}
		if ev.Error != "" {
			msg += ": " + safeLine(ev.Error)
		}
		_, err = fmt.Fprintln(o.stderr, msg)
	case client.LogLagged:
		_, err = fmt.Fprintf(o.stderr, "--- %d events dropped: this reader fell behind the task's output\n", ev.Skipped)
	}
	return err
}

// signalContext is ctx, canceled by SIGINT or SIGTERM; after the first signal, the next
// gets the default behaviour (it kills the process).
func signalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}
