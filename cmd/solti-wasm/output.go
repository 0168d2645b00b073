package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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

// safeText makes text from a guest (or anything else untrusted: a module's export names, an
// error that quotes a guest) safe to print on a terminal as one line of a report. Control
// characters (C0 with tab and newline, DEL, C1) become Go-style escapes (\n, \r, \t, \x1b,
// \u009b), as do the Unicode line and paragraph separators and bidirectional overrides, which
// can make a line read as something else; bytes that are not UTF-8 become \xNN. So a guest
// can neither start a line of its own (a fake "phase: succeeded") nor move the cursor, clear
// the screen or retitle the terminal. Backslashes are kept as they are: the escapes are for
// reading, not for parsing back (JSON output is exact).
func safeText(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf && c >= 0x20 && c != 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if needsEscape(r, n) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s // the common case: nothing to escape, no allocation
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !needsEscape(r, n) {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		switch {
		case r == utf8.RuneError && n == 1:
			writeHex(&b, `\x`, uint32(s[i]), 2)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			writeHex(&b, `\x`, uint32(r), 2)
		default:
			writeHex(&b, `\u`, uint32(r), 4)
		}
		i += n
	}
	return b.String()
}

// writeHex writes prefix, then v as that many lower-case hex digits.
func writeHex(b *strings.Builder, prefix string, v uint32, digits int) {
	const hex = "0123456789abcdef"
	b.WriteString(prefix)
	for i := digits - 1; i >= 0; i-- {
		b.WriteByte(hex[v>>(4*i)&0xf])
	}
}

// needsEscape reports whether the rune r, n bytes long in its text, must not reach a
// terminal as it is.
func needsEscape(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1: // not UTF-8
		return true
	case r < 0x20, r >= 0x7f && r <= 0x9f: // C0, DEL, C1
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c: // bidi controls
		return true
	}
	return false
}

// safeLine is a diagnostic on one line, safe to print: oneLine, then safeText.
func safeLine(s string) string { return safeText(oneLine(s)) }

// safeBlock prints guest text of several lines (a run's output) under a report field: the
// first line follows the field's label, each later one starts with indent and "| ", and every
// line is safeText, so no line of it can pass for one of the report's own.
func safeBlock(s, indent string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = safeText(strings.TrimSuffix(l, "\r"))
	}
	return strings.Join(lines, "\n"+indent+"| ")
}
