package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/solti-wasm/solti-wasm/client"
	"github.com/solti-wasm/solti-wasm/router"
)

// remoteRouteReport is route --server's --output json object.
type remoteRouteReport struct {
	Task     string                `json:"task"`
	Server   string                `json:"server"`
	Verdicts []client.RouteVerdict `json:"verdicts"`
	// Chosen is the runner that would build the task; "" when none would.
	Chosen string `json:"chosen"`
}

// chosenVerdict reports the verdict of the runner that would build the task: the router's
// name for it, or the host's.
func chosenVerdict(v string) bool { return v == string(router.VerdictChosen) || v == "selected" }

func routeRemote(ctx context.Context, o *globalOptions, f *routeFlags, taskPath string) error {
	docs, err := readManifests(taskPath, os.Stdin)
	if err != nil {
		return err
	}
	if len(docs) != 1 {
		return fail(ExitInvalidTask, "task file %s: %d documents; route takes one task", taskPath, len(docs))
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	verdicts, err := c.Route(ctx, docs[0])
	if err != nil {
		if isInvalid(err) {
			return fail(ExitInvalidTask, "task file %s: %s", taskPath, statusMessage(err))
		}
		return remoteError(ctx, "route "+taskPath, err)
	}
	rep := remoteRouteReport{Task: taskPath, Server: c.Server(), Verdicts: verdicts}
	if rep.Verdicts == nil {
		rep.Verdicts = []client.RouteVerdict{}
	}
	for _, v := range verdicts {
		if chosenVerdict(v.Verdict) {
			rep.Chosen = v.Runner
			break
		}
	}
	if f.output == outputJSON {
		err = writeJSON(o.stdout, rep)
	} else {
		err = rep.writeText(o.stdout)
	}
	if err != nil {
		return fail(ExitFailure, "writing the report: %w", err)
	}
	if rep.Chosen == "" {
		return reported(ExitNoRunner)
	}
	return reported(ExitOK)
}

func (r *remoteRouteReport) writeText(w io.Writer) error {
	var b, table strings.Builder
	fmt.Fprintf(&b, "task %s, runners of %s:\n", safeText(r.Task), safeText(r.Server))
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tRUNNER\tVERDICT\tDETAIL")
	for i, v := range r.Verdicts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", strconv.Itoa(i+1), safeText(v.Runner), safeText(v.Verdict), safeLine(v.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for line := range strings.Lines(table.String()) {
		b.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
	if r.Chosen != "" {
		fmt.Fprintf(&b, "chosen: %s\n", safeText(r.Chosen))
	} else {
		b.WriteString("chosen: no runner\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
