package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/router"
)

// verdictNotLoaded is route's verdict for a module that failed to load: it is not in the
// routing order, but it is where a reader of the directory would look for it.
const verdictNotLoaded = "not-loaded"

type routeFlags struct {
	runners string
	file    string
	output  outputFormat
}

func newRouteCmd(o *globalOptions) *cobra.Command {
	var f routeFlags
	cmd := &cobra.Command{
		Use:   "route (--runners DIR | --server URL) TASK.json|-f TASK",
		Short: "Explain which runner a task would go to, and why not the others",
		Long: `Loads the runners directory and routes the task without building or running it. For
every module, in routing order (lexical order of file name; files listed in an order file,
` + registry.OrderFileName + `, come first), it prints the runner, its labels, its verdict and
the detail:

  kind-filtered   the runner declares other kinds than the task's
  selector        the runner's labels fail the task's runnerSelector (the requirement is named)
  unsupported     its supports export said no
  supports-error  its supports export failed (a trap, the call deadline): counts as no
  chosen          the runner that would build the task
  not-asked       an earlier runner was chosen
  embedded        embedded tasks are never routed
  not-loaded      the module failed to load (the error says where and why)

Supports exports are called, so a runner's supports may log. Exits 0 when a runner would
be chosen, 4 when none would.

Without --runners, and with --server or $` + envServer + ` set, the dry run is the server's: it
routes the task (a manifest or a bare spec, JSON or YAML, given with -f or as the argument)
among the tenant's runners, its own then the shared ones, and prints each one's verdict.`,
		Example: `  solti-wasm route --runners examples/runners examples/tasks/selector.json
  solti-wasm route --server http://127.0.0.1:7070 -f examples/tasks/manifest.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) > 1:
				return usageError("route: want one argument, TASK.json; got %d", len(args))
			case len(args) == 1 && f.file != "":
				return usageError("route: the task is -f %s or the argument %s, not both", f.file, args[0])
			case len(args) == 0 && f.file == "":
				return usageError("route: want the task file, as the argument TASK.json or -f TASK")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			task := f.file
			if len(args) == 1 {
				task = args[0]
			}
			_, _, remote := o.remote.serverURL()
			switch {
			case f.runners != "" && o.remote.server != "":
				return usageError("--runners %s and --server %s: route locally or on the server, not both", f.runners, o.remote.server)
			case f.runners == "" && remote:
				return routeRemote(cmd.Context(), o, &f, task)
			}
			return routeTask(cmd.Context(), o, &f, task)
		},
	}
	cmd.Flags().StringVar(&f.runners, "runners", "", "directory of runner modules (*.wasm), tried in lexical order of file name, files listed in its "+registry.OrderFileName+" first (required unless the route is a server's)")
	cmd.Flags().StringVarP(&f.file, "filename", "f", "", "the task file (JSON, or YAML for a server's route; - reads stdin there)")
	addOutputFlag(cmd, &f.output)
	return cmd
}

// routeLine is one module's line in route's report.
type routeLine struct {
	// Position is the runner's place in the routing order, from 1; 0 for a module not loaded.
	Position int               `json:"position,omitempty"`
	Runner   string            `json:"runner,omitempty"`
	Module   string            `json:"module"`
	Labels   map[string]string `json:"labels,omitempty"`
	Verdict  string            `json:"verdict"`
	Detail   string            `json:"detail,omitempty"`
}

// routeReport is route's --output json object.
type routeReport struct {
	Task    string      `json:"task"`
	Kind    string      `json:"kind"`
	Runners []routeLine `json:"runners"`
	// Chosen is the runner that would build the task, nil when none would.
	Chosen *routeLine `json:"chosen"`
}

func routeTask(ctx context.Context, o *globalOptions, f *routeFlags, taskPath string) error {
	if f.runners == "" {
		return usageError("--runners: must name a directory of runner modules (or --server URL for a server's route)")
	}
	req, err := readTask(taskPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	rt, err := o.newRuntime(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rt.Close(context.Background()) }()

	endProgress := o.progress("loading the runners in "+f.runners, f.output)
	set, err := loadRunners(ctx, rt, f.runners, nil, progressGuard{o})
	endProgress()
	if ctx.Err() != nil {
		return canceled(ctx)
	}
	if err != nil {
		return err
	}
	for _, m := range set.modules {
		if len(m.Describe().Kinds) == 0 {
			fmt.Fprintf(o.stderr, "%s\n", noKindsWarning(m.Name(), m.Path()))
		}
	}
	decisions := set.router.Explain(ctx, req)
	if ctx.Err() != nil {
		return canceled(ctx)
	}

	rep := routeReport{Task: taskPath, Kind: req.Spec.Kind.Name()}
	for i, d := range decisions {
		line := routeLine{Position: i + 1, Runner: d.Runner, Labels: d.Labels, Verdict: string(d.Verdict), Detail: oneLine(d.Detail)}
		if m := set.module(d.Runner); m != nil {
			line.Module = m.Path()
			// A call error starts with the module's path, which the line already shows.
			line.Detail = strings.TrimPrefix(line.Detail, m.Path()+": ")
		}
		rep.Runners = append(rep.Runners, line)
	}
	for _, le := range set.failed {
		rep.Runners = append(rep.Runners, routeLine{Module: le.Path, Verdict: verdictNotLoaded, Detail: oneLine(le.Stage + ": " + le.Err.Error())})
	}
	// Routing order is file order, so a stable sort by file puts each module that failed
	// to load where it would have been, and leaves the runners in routing order.
	slices.SortStableFunc(rep.Runners, func(a, b routeLine) int { return set.compare(a.Module, b.Module) })
	for i := range rep.Runners {
		if rep.Runners[i].Verdict == string(router.VerdictChosen) {
			rep.Chosen = &rep.Runners[i]
		}
	}

	if f.output == outputJSON {
		err = writeJSON(o.stdout, rep)
	} else {
		err = rep.writeText(o.stdout, set.dir)
	}
	if err != nil {
		return fail(ExitFailure, "writing the report: %w", err)
	}
	if rep.Chosen == nil {
		return reported(ExitNoRunner)
	}
	return reported(ExitOK)
}

// noKindsWarning is the line route and inspect print for a runner that declares no kinds: the
// router then asks its supports about every task, which is what makes routing among many such
// modules slow (BENCHMARKS.md, "Weight").
func noKindsWarning(runner, path string) string {
	return fmt.Sprintf("warning: %s (%s) declares no kinds: its supports is called for every task", runner, filepath.Base(path))
}

func (r *routeReport) writeText(w io.Writer, dir string) error {
	var b, table strings.Builder
	fmt.Fprintf(&b, "task %s, kind %s, runners in %s:\n", safeText(r.Task), safeText(r.Kind), safeText(dir))
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tRUNNER\tMODULE\tLABELS\tVERDICT\tDETAIL")
	for _, l := range r.Runners {
		pos, runner, labels := "-", "-", "-"
		if l.Position > 0 {
			pos, runner, labels = strconv.Itoa(l.Position), l.Runner, formatLabels(l.Labels)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", pos, runner, safeText(filepath.Base(l.Module)), safeText(labels), l.Verdict, safeText(l.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for line := range strings.Lines(table.String()) { // tabwriter pads empty last cells
		b.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
	if r.Chosen != nil {
		fmt.Fprintf(&b, "chosen: %s (%s)\n", r.Chosen.Runner, safeText(r.Chosen.Module))
	} else {
		fmt.Fprintf(&b, "chosen: no runner (no suitable runner for task kind: %s)\n", safeText(r.Kind))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
