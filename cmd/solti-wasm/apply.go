package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

type applyFlags struct {
	file   string
	output getFormat
}

func newApplyCmd(o *globalOptions) *cobra.Command {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "apply -f TASK.json|TASK.yaml",
		Short: "Create or update tasks on a solti-wasm server from manifests",
		Long: `Sends each Task manifest of the file (JSON, or YAML with one or more documents
separated by ---; "-" reads stdin) to the server as an upsert (PUT): a new name creates the
task, an existing one is replaced, and a changed spec starts a new generation (the running
attempt of the old one is canceled). metadata.uid and metadata.resourceVersion, when the
manifest has them, are preconditions: the server refuses the write if the task moved on.

Prints "task/NAME created" or "task/NAME configured" per manifest (-o json|yaml prints the
tasks as the server stored them). Exits 3 for a manifest that is not valid (locally or by the
server's checks), 1 when the server refused it (a conflict, a quota), 6 when it could not be
reached.`,
		Example: `  solti-wasm apply -f examples/tasks/manifest.json
  solti-wasm apply -f tasks.yaml --server http://127.0.0.1:7070`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return applyManifests(cmd.Context(), o, &f, cmd.InOrStdin())
		},
	}
	cmd.Flags().StringVarP(&f.file, "filename", "f", "", "manifest file, JSON or YAML; - reads stdin (required)")
	_ = cmd.MarkFlagRequired("filename")
	f.output = formatText
	cmd.Flags().VarP(&f.output, "output", "o", "output format: text (one line per task), json or yaml")
	return cmd
}

func applyManifests(ctx context.Context, o *globalOptions, f *applyFlags, stdin interface{ Read([]byte) (int, error) }) error {
	docs, err := readManifests(f.file, stdin)
	if err != nil {
		return err
	}
	names := make([]string, len(docs))
	for i, d := range docs {
		var m struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(d, &m); err != nil || m.Metadata.Name == "" {
			return fail(ExitInvalidTask, "-f %s: manifest %d: no metadata.name (a Task manifest is {apiVersion: solti.io/v1, kind: Task, metadata: {name}, spec})", f.file, i+1)
		}
		names[i] = m.Metadata.Name
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	for i, d := range docs {
		t, created, err := c.Apply(ctx, names[i], d)
		if err != nil {
			if isInvalid(err) {
				return fail(ExitInvalidTask, "-f %s: task %s: %v", f.file, names[i], statusMessage(err))
			}
			return remoteError(ctx, "apply task "+names[i], err)
		}
		if f.output != formatText {
			if err := printTask(o.stdout, f.output, t); err != nil {
				return fail(ExitFailure, "writing the task: %w", err)
			}
			continue
		}
		verb := "configured"
		if created {
			verb = "created"
		}
		fmt.Fprintf(o.stdout, "task/%s %s\n", safeText(t.Metadata.Name), verb)
	}
	return nil
}

// noArgs refuses positional arguments, naming them.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError("%s: takes no arguments; got %q", cmd.Name(), args)
	}
	return nil
}
