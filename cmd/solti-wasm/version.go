package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// Version is the CLI's version. The ABI has its own (abi.Version): a runner module depends
// on that one only.
const Version = "0.1.0"

func newVersionCmd(o *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the CLI version, the ABI version and the engines",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(o.stdout, "solti-wasm %s\nabi:     v%d\nengines: %s\n", Version, abi.Version, strings.Join(runtime.Engines(), ", "))
			return err
		},
	}
}
