package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/client"
)

// getFormat is the client commands' --output: a table (text) for people, json or yaml.
type getFormat string

const (
	formatText getFormat = "text"
	formatJSON getFormat = "json"
	formatYAML getFormat = "yaml"
)

func (g *getFormat) String() string { return string(*g) }
func (g *getFormat) Type() string   { return "format" }
func (g *getFormat) Set(s string) error {
	switch f := getFormat(s); f {
	case formatText, formatJSON, formatYAML:
		*g = f
		return nil
	case "table":
		*g = formatText
		return nil
	}
	return fmt.Errorf("want table (text), json or yaml")
}

type getFlags struct {
	output   getFormat
	watch    bool
	selector string
	slot     string
	phases   []string
}

func newGetCmd(o *globalOptions) *cobra.Command {
	f := getFlags{output: formatText}
	cmd := &cobra.Command{
		Use:   "get tasks [NAME]",
		Short: "List the tasks on a solti-wasm server, or show one",
		Long: `Lists the tenant's tasks (all pages, in name order) as a table: NAME, SLOT, PHASE,
ATTEMPT, EXIT (the last attempt's exit code) and AGE. With NAME, shows that task. -o json
and -o yaml print the Task resources as the server returns them (a list as a TaskList).

-w watches: after the listing it prints each change as it happens (a row per event, or one
JSON object per line {type, object}, or YAML documents), until interrupted. A task of
another tenant is not found, as one that does not exist.`,
		Example: `  solti-wasm get tasks
  solti-wasm get tasks -w
  solti-wasm get tasks echo -o yaml
  solti-wasm get tasks --selector app=web --phase running`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 || len(args) > 2 {
				return usageError("get: want a resource, tasks, and an optional NAME; got %d arguments", len(args))
			}
			switch args[0] {
			case "tasks", "task":
				return nil
			}
			return usageError("get %q: unknown resource (want tasks; runners are listed by solti-wasm runners)", args[0])
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return []string{"tasks"}, cobra.ShellCompDirectiveNoFileComp
			case 1:
				return o.completeTaskNames(cmd, args, toComplete)
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			return getTasks(cmd.Context(), o, &f, name)
		},
	}
	cmd.Flags().VarP(&f.output, "output", "o", "output format: table, json or yaml")
	cmd.Flags().BoolVarP(&f.watch, "watch", "w", false, "after listing, print every change until interrupted")
	cmd.Flags().StringVarP(&f.selector, "selector", "l", "", "label selector (Kubernetes syntax: a=b,c!=d,e in (f,g),h,!i)")
	cmd.Flags().StringVar(&f.slot, "slot", "", "only the tasks of this slot")
	cmd.Flags().StringArrayVar(&f.phases, "phase", nil, "only the tasks in this phase (repeatable)")
	return cmd
}

func getTasks(ctx context.Context, o *globalOptions, f *getFlags, name string) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	ctx, stop := signalContext(ctx)
	defer stop()
	var rv string
	var tasks []client.Task
	if name != "" {
		t, err := c.Get(ctx, name)
		if err != nil {
			return remoteError(ctx, "get task "+name, err)
		}
		tasks, rv = []client.Task{*t}, t.Metadata.ResourceVersion
		if err := printTask(o.stdout, f.output, t); err != nil {
			return fail(ExitFailure, "writing the task: %w", err)
		}
	} else {
		tasks, rv, err = c.ListAll(ctx, client.ListOptions{Slot: f.slot, Phases: f.phases, LabelSelector: f.selector})
		if err != nil {
			if isInvalid(err) {
				return usageError("get tasks: %v", statusMessage(err))
			}
			return remoteError(ctx, "list tasks", err)
		}
		if err := printTaskList(o.stdout, f.output, tasks, rv); err != nil {
			return fail(ExitFailure, "writing the tasks: %w", err)
		}
	}
	if !f.watch {
		return nil
	}
	return watchTasks(ctx, o, c, f, name, rv)
}

// watchTasks prints the events after rv (of the task name only, when set) until ctx ends.
func watchTasks(ctx context.Context, o *globalOptions, c *client.Client, f *getFlags, name, rv string) error {
	w, err := c.Watch(ctx, rv)
	if err != nil {
		return remoteError(ctx, "watch tasks", err)
	}
	defer w.Close()
	for {
		ev, err := w.Next()
		if err != nil {
			if ctx.Err() != nil {
				return canceled(ctx) // interrupted: how a watch ends, exit 130 as for run
			}
			if errors.Is(err, io.EOF) {
				return fail(ExitUnreachable, "watch tasks: the server ended the watch")
			}
			return remoteError(ctx, "watch tasks", err)
		}
		if name != "" && ev.Task.Metadata.Name != name {
			continue
		}
		if err := printEvent(o.stdout, f.output, ev); err != nil {
			return fail(ExitFailure, "writing an event: %w", err)
		}
	}
}

func printTask(w io.Writer, format getFormat, t *client.Task) error {
	switch format {
	case formatJSON:
		return writeJSON(w, t)
	case formatYAML:
		return writeYAML(w, t)
	}
	return writeTaskTable(w, []client.Task{*t}, true, "")
}

func printTaskList(w io.Writer, format getFormat, tasks []client.Task, rv string) error {
	if tasks == nil {
		tasks = []client.Task{}
	}
	list := client.TaskList{APIVersion: "solti.io/v1", Kind: "TaskList", Metadata: client.ListMeta{ResourceVersion: rv}, Items: tasks}
	switch format {
	case formatJSON:
		return writeJSON(w, list)
	case formatYAML:
		return writeYAML(w, list)
	}
	if len(tasks) == 0 {
		_, err := fmt.Fprintln(w, "No tasks.")
		return err
	}
	return writeTaskTable(w, tasks, true, "")
}

func printEvent(w io.Writer, format getFormat, ev client.WatchEvent) error {
	switch format {
	case formatJSON:
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case formatYAML:
		if _, err := io.WriteString(w, "---\n"); err != nil {
			return err
		}
		return writeYAML(w, ev)
	}
	return writeTaskTable(w, []client.Task{*ev.Task}, false, ev.Type)
}

// writeYAML writes v's JSON form as YAML.
func writeYAML(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return jsonToYAML(w, b)
}

// writeTaskTable writes tasks as table rows, with the header when header is set; event, when
// set, is a watch event's type, shown in a first column.
func writeTaskTable(w io.Writer, tasks []client.Task, header bool, event string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	if header {
		fmt.Fprintln(tw, "NAME\tSLOT\tPHASE\tATTEMPT\tEXIT\tAGE")
	}
	now := time.Now()
	for _, t := range tasks {
		var spec struct {
			Slot string `json:"slot"`
		}
		_ = json.Unmarshal(t.Spec, &spec)
		exit, age, phase := "-", "-", t.Status.Phase
		if t.Status.ExitCode != nil {
			exit = strconv.Itoa(*t.Status.ExitCode)
		}
		if ts := t.Metadata.CreationTimestamp; !ts.IsZero() {
			age = formatAge(now.Sub(ts.Time))
		}
		if phase == "" {
			phase = "-"
		}
		name := safeText(t.Metadata.Name)
		if event != "" {
			name = event + " " + name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", name, safeText(orDash(spec.Slot)), safeText(phase), t.Status.Attempt, exit, age)
	}
	return tw.Flush()
}

// formatAge is kubectl's short age: 42s, 5m, 3h, 2d.
func formatAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}

// isInvalid reports a request the server refused as invalid (400, 422).
func isInvalid(err error) bool { return errors.Is(err, client.ErrInvalid) }

// statusMessage is a StatusError's message without the request line.
func statusMessage(err error) string {
	var se *client.StatusError
	if errors.As(err, &se) {
		return strings.TrimSpace(fmt.Sprintf("%d %s: %s", se.Code, se.Reason, se.Message))
	}
	return err.Error()
}
