package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/abi"
)

// newSchemaCmd prints the JSON Schemas embedded in package abi, so that tools (editors,
// CI checks of task files, the daemon's OpenAPI) validate documents by the host's rules.
func newSchemaCmd(o *globalOptions) *cobra.Command {
	names := abi.SchemaNames()
	return &cobra.Command{
		Use:   "schema [" + strings.Join(names, "|") + "]",
		Short: "Print the JSON Schema (2020-12) of a document the host reads",
		Long: `schema prints the JSON Schema (draft 2020-12) of one document the host parses:
    taskspec     what a task file may hold: an ABI v1 TaskSpec (kind), a TaskSpec of
                 solti's current generation (workload), or a whole Task manifest
    task         a Task manifest only
    plan         the output of a runner's build export
    description  the output of a runner's describe export
Without an argument it prints the taskspec schema. A few rules are the decoder's alone
(abi/ABI.md §5): duplicate keys, the nesting limit, backoff.maxMs >= firstMs, UTF-8 script
bodies, integers written with a fraction.`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: names,
		RunE: func(_ *cobra.Command, args []string) error {
			name := "taskspec"
			if len(args) == 1 {
				name = args[0]
			}
			b, err := abi.Schema(name)
			if err != nil {
				return usageError("schema: %v", err)
			}
			_, err = o.stdout.Write(b)
			return err
		},
	}
}
