package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manDate is the date the man pages show. It is fixed, not the generation time, so that
// regenerating them changes nothing unless the commands did; bump it with Version.
var manDate = time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC)

//go:generate go run . gen-man ../../docs/man

// newGenManCmd is the hidden command that writes the man pages, one per command, from the
// command tree: docs/man/ holds them (go generate ./cmd/solti-wasm), and a test regenerates
// them to prove the committed ones current.
func newGenManCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write the man pages (section 1) of every command to DIR",
		Hidden: true,
		Args:   exactArgs("DIR"),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := genMan(root, args[0]); err != nil {
				return fail(ExitFailure, "gen-man: %w", err)
			}
			return nil
		},
	}
}

// genMan writes the pages to dir, removing the pages of commands that no longer exist.
func genMan(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "solti-wasm*.1"))
	if err != nil {
		return err
	}
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	root.DisableAutoGenTag = true // the tag carries a date
	// The default cache directory is the user's: show where it is, not this machine's path.
	if f := root.PersistentFlags().Lookup("cache-dir"); f != nil {
		f.DefValue = "$XDG_CACHE_HOME/solti-wasm/compiled"
	}
	header := &doc.GenManHeader{Title: "SOLTI-WASM", Section: "1", Source: "solti-wasm " + Version, Manual: "solti-wasm manual", Date: &manDate}
	if err := doc.GenManTree(root, header, dir); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}
