package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// outputFormat is the --output flag of run, route, inspect and watch: text for people, json for
// programs (one JSON object on stdout; watch prints one per event, one per line).
type outputFormat string

const (
	outputText outputFormat = "text"
	outputJSON outputFormat = "json"
)

func (o *outputFormat) String() string { return string(*o) }
func (o *outputFormat) Type() string   { return "format" }
func (o *outputFormat) Set(s string) error {
	switch f := outputFormat(s); f {
	case outputText, outputJSON:
		*o = f
		return nil
	}
	return fmt.Errorf("want text or json")
}

func addOutputFlag(cmd *cobra.Command, o *outputFormat) {
	*o = outputText
	cmd.Flags().VarP(o, "output", "o", "output format: text or json")
}

// writeJSON writes v as one indented JSON object. HTML escaping is off: the output is read
// by people and programs, never embedded in a page.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// formatLabels writes labels as k=v pairs sorted by key, or "-" when there are none.
func formatLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return "-"
	}
	keys := slices.Sorted(maps.Keys(labels))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ",")
}

// formatDuration rounds d for people: microseconds below a second, milliseconds above.
func formatDuration(d time.Duration) string {
	if d >= time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Microsecond).String()
}

// durationMs is d in milliseconds with microsecond precision, for JSON.
func durationMs(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// oneLine folds a multi-line message (a compiler's, a guest's) onto one line, so that every
// diagnostic is one line of stderr.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", " | "), "\n", " | ")
}

// jsonOrString returns b as a json.RawMessage when it is valid JSON, so it embeds as a
// value, else as a string; nil stays nil (JSON null).
func jsonOrString(b []byte) any {
	switch {
	case b == nil:
		return nil
	case json.Valid(b):
		return json.RawMessage(b)
	}
	return string(b)
}
