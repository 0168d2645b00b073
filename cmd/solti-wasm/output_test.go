package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, tabs aside", "plain text, tabs aside"},
		{"ünïcödé ✓", "ünïcödé ✓"},
		{"a\nphase:    succeeded", `a\nphase:    succeeded`},
		{"\x1b[2J\x1b]0;title\x07", `\x1b[2J\x1b]0;title\x07`},
		{"over\rwrite\b\x00\x7f", `over\rwrite\x08\x00\x7f`},
		{"tab\there", `tab\there`},
		{"c1 \u009b31m \u0085", `c1 \u009b31m \u0085`},
		{"bidi \u202eevil\u202c \u2066x\u2069 sep\u2028", `bidi \u202eevil\u202c \u2066x\u2069 sep\u2028`},
		{"bad \xff\xfe utf8 \xe2\x82", `bad \xff\xfe utf8 \xe2\x82`},
		{`back\slash`, `back\slash`},
		{"", ""},
	}
	for _, tt := range tests {
		if got := safeText(tt.in); got != tt.want {
			t.Errorf("safeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Whatever the bytes, safeText's result is one line without a control character.
func FuzzSafeText(f *testing.F) {
	f.Add("a\nb\x1b[0m\r\xff\u009b\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		got := safeText(s)
		if !utf8.ValidString(got) {
			t.Fatalf("safeText(%q) = %q is not UTF-8", s, got)
		}
		for _, r := range got {
			if needsEscape(r, utf8.RuneLen(r)) {
				t.Fatalf("safeText(%q) = %q keeps %U", s, got, r)
			}
		}
		if strings.ContainsAny(got, "\n\r\x1b") {
			t.Fatalf("safeText(%q) = %q", s, got)
		}
	})
}

func TestSafeBlock(t *testing.T) {
	got := safeBlock("ok\nphase:    failed\r\n\x1b[31m\n", "        ")
	if want := "ok\n        | phase:    failed\n        | \\x1b[31m"; got != want {
		t.Errorf("safeBlock = %q, want %q", got, want)
	}
}
