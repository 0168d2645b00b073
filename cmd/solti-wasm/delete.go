package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/client"
)

type deleteFlags struct {
	uid, resourceVersion string
}

func newDeleteCmd(o *globalOptions) *cobra.Command {
	var f deleteFlags
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a task on a solti-wasm server, canceling its running attempt",
		Long: `Deletes the task: its running attempt is canceled, and the task and its runs are
removed. --uid and --resource-version make the delete conditional: the server refuses it
(409, exit 1) unless the task is still the one they name. A task that does not exist, or is
another tenant's, is not found (exit 1).`,
		Example: `  solti-wasm delete echo
  solti-wasm delete echo --resource-version 42`,
		Args: exactArgs("NAME"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return o.completeTaskNames(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if err := c.Delete(ctx, args[0], client.Preconditions{UID: f.uid, ResourceVersion: f.resourceVersion}); err != nil {
				return remoteError(ctx, "delete task "+args[0], err)
			}
			fmt.Fprintf(o.stdout, "task/%s deleted\n", safeText(args[0]))
			return nil
		},
	}
	cmd.Flags().StringVar(&f.uid, "uid", "", "delete only if the task's uid is this (precondition)")
	cmd.Flags().StringVar(&f.resourceVersion, "resource-version", "", "delete only if the task's resourceVersion is this (precondition)")
	return cmd
}
