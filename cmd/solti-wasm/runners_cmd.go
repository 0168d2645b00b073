package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/client"
)

type runnersFlags struct {
	output getFormat
}

func newRunnersCmd(o *globalOptions) *cobra.Command {
	f := runnersFlags{output: formatText}
	cmd := &cobra.Command{
		Use:   "runners [NAME]",
		Short: "List the runners a solti-wasm server routes the tenant's tasks to",
		Long: `Lists the tenant's runners in routing order, its own first, then the shared ones:
NAME, SCOPE (tenant or shared), FILE, KINDS, LABELS, CALLS and FAULTS (since loaded) and
LOADED (the digest's first characters). With NAME, shows that runner with its version
history. -o json|yaml prints what the server returns.`,
		Example: `  solti-wasm runners
  solti-wasm runners echo -o yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError("runners: want at most one argument, NAME; got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return listRunners(cmd.Context(), o, &f, args)
		},
	}
	cmd.Flags().VarP(&f.output, "output", "o", "output format: table, json or yaml")
	return cmd
}

func listRunners(ctx context.Context, o *globalOptions, f *runnersFlags, args []string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	var rs []client.Runner
	var one any
	if len(args) == 1 {
		r, err := c.Runner(ctx, args[0])
		if err != nil {
			return remoteError(ctx, "runner "+args[0], err)
		}
		rs, one = []client.Runner{*r}, r
	} else {
		if rs, err = c.Runners(ctx); err != nil {
			return remoteError(ctx, "list runners", err)
		}
		if rs == nil {
			rs = []client.Runner{}
		}
		one = map[string]any{"runners": rs}
	}
	switch f.output {
	case formatJSON:
		err = writeJSON(o.stdout, one)
	case formatYAML:
		err = writeYAML(o.stdout, one)
	default:
		err = writeRunnerTable(o, rs, len(args) == 1)
	}
	if err != nil {
		return fail(ExitFailure, "writing the runners: %w", err)
	}
	return nil
}

func writeRunnerTable(o *globalOptions, rs []client.Runner, history bool) error {
	if len(rs) == 0 {
		_, err := fmt.Fprintln(o.stdout, "No runners.")
		return err
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPE\tFILE\tKINDS\tLABELS\tCALLS\tFAULTS\tDIGEST")
	for _, r := range rs {
		kinds := "-"
		if len(r.Kinds) > 0 {
			kinds = strings.Join(r.Kinds, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", safeText(r.Name), safeText(r.Scope), safeText(r.File), safeText(kinds),
			safeText(formatLabels(r.Labels)), r.Meters.Calls, r.Meters.Faults, shortDigest(r.Digest))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if history && len(rs[0].History) > 0 {
		fmt.Fprintln(o.stdout, "history (newest first):")
		for _, h := range rs[0].History {
			fmt.Fprintf(o.stdout, "  %s  loaded %s  %s\n", shortDigest(h.Digest), h.LoadedAt.Format("2006-01-02T15:04:05Z07:00"), safeText(h.Ended))
		}
	}
	return nil
}

// shortDigest is a digest's algorithm and first 12 hex digits.
func shortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return orDash(d)
	}
	return alg + ":" + hex[:12]
}

type pushFlags struct {
	as     string
	output getFormat
}

func newPushCmd(o *globalOptions) *cobra.Command {
	f := pushFlags{output: formatText}
	cmd := &cobra.Command{
		Use:   "push MODULE.wasm",
		Short: "Upload a runner module into the tenant's runners directory on a solti-wasm server",
		Long: `Uploads the module. The server checks it as hot reload does (it compiles, has the
solti runner exports, and passes the smoke test) before it writes it, atomically, into the
tenant's runners directory, where hot reload loads it: a module that fails is never written,
and the reply names the stage and the cause (exit 1). A file of the same name is replaced
(the runner's version history keeps the old digest).`,
		Example: `  solti-wasm push examples/runners/echo.wasm
  solti-wasm push build/runner.wasm --as 10-runner.wasm`,
		Args: exactArgs("MODULE.wasm"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return pushModule(cmd.Context(), o, &f, args[0])
		},
	}
	cmd.Flags().StringVar(&f.as, "as", "", "file name on the server (a base name ending .wasm; default: the module's own)")
	cmd.Flags().VarP(&f.output, "output", "o", "output format: text, json or yaml")
	return cmd
}

func pushModule(ctx context.Context, o *globalOptions, f *pushFlags, path string) error {
	file := filepath.Base(path)
	flag := "MODULE.wasm " + path
	if f.as != "" {
		file, flag = f.as, "--as "+f.as
	}
	if !strings.HasSuffix(file, ".wasm") || strings.ContainsAny(file, `/\`) {
		return usageError("%s: the file name on the server must be a base name ending .wasm (--as NAME.wasm)", flag)
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		return fail(ExitFailure, "push: %v", err)
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	r, err := c.Push(ctx, file, wasm)
	if err != nil {
		var se *client.StatusError
		if errors.As(err, &se) && (errors.Is(err, client.ErrInvalid) || errors.Is(err, client.ErrTooLarge)) {
			return fail(ExitFailure, "push %s: rejected: %s", path, safeLine(se.Message))
		}
		return remoteError(ctx, "push "+path, err)
	}
	switch f.output {
	case formatJSON:
		err = writeJSON(o.stdout, r)
	case formatYAML:
		err = writeYAML(o.stdout, r)
	default:
		_, err = fmt.Fprintf(o.stdout, "runner/%s pushed as %s (%s)\n", safeText(r.Name), safeText(r.File), shortDigest(r.Digest))
	}
	if err != nil {
		return fail(ExitFailure, "writing the runner: %w", err)
	}
	return nil
}
