package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/tenant"
)

func newTokenCmd(o *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make bearer tokens for serve's tenants config, and their hashes",
		Long: `A tenant of serve's --config is given the SHA-256 of its bearer token (tokenSha256),
never the token itself, so the config holds no secret. "token new" makes a random token
(32 bytes from the system's random source) and prints it with its hash; "token hash" reads
a token from stdin (not from an argument, which would land in the shell's history) and
prints its hash.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError("token: want a subcommand, new or hash")
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "new",
		Short: "Print a new random token and its tokenSha256",
		Example: `  solti-wasm token new
  # token:       6Qm...  (give it to the tenant; keep it in a 0600 file for --token-file)
  # tokenSha256: 3f1c... (put it in the config)`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			tok, err := tenant.NewToken()
			if err != nil {
				return fail(ExitFailure, "%v", err)
			}
			fmt.Fprintf(o.stdout, "token:       %s\ntokenSha256: %s\n", tok, tenant.HashToken(tok))
			return nil
		},
	}, &cobra.Command{
		Use:     "hash",
		Short:   "Print the tokenSha256 of the token read from stdin",
		Example: `  solti-wasm token hash < tenant-a.token`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			tok := strings.TrimSpace(line)
			if tok == "" {
				return usageError("token hash: no token on stdin (%v)", err)
			}
			fmt.Fprintln(o.stdout, tenant.HashToken(tok))
			return nil
		},
	})
	return cmd
}
