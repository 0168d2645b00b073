package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/supervisor"
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

// blockedWriter blocks every write until release is closed.
type blockedWriter struct {
	release chan struct{}
	b       strings.Builder
}

func (w *blockedWriter) Write(p []byte) (int, error) {
	<-w.release
	return w.b.Write(p)
}

// TestRunPrinterNeverBlocksALine: with stdout not read, live lines queue up to liveQueue and
// the rest are counted, never waited for; the report says how many were not printed.
func TestRunPrinterNeverBlocksALine(t *testing.T) {
	w := &blockedWriter{release: make(chan struct{})}
	p := &runPrinter{w: w, text: true, rec: &runRecord{Plan: &abi.Plan{Guest: &abi.GuestPlan{}}}}
	p.startLive()
	const n = liveQueue + 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			p.line(runLine{Attempt: 1, Stream: string(supervisor.Stdout), Text: strconv.Itoa(i)})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("line blocked on a stdout nobody reads")
	}
	close(w.release)
	if err := p.summary(); err != nil {
		t.Fatal(err)
	}
	if len(p.rec.Lines) != n {
		t.Errorf("%d lines recorded, want all %d", len(p.rec.Lines), n)
	}
	printed := strings.Count(w.b.String(), "stdout | ")
	if printed < liveQueue || printed > liveQueue+1 || !strings.Contains(w.b.String(), fmt.Sprintf("(%d lines not printed live", n-printed)) {
		t.Errorf("%d lines printed; report:\n%s", printed, w.b.String()[max(0, w.b.Len()-300):])
	}
}

// BenchmarkSafeText is the cost of escaping one line of run's text report: a plain line
// (the common case: no allocation) and one full of escapes.
func BenchmarkSafeText(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"plain", strings.Repeat("an ordinary log line, ", 4)},
		{"hostile", strings.Repeat("\x1b[2J\rphase: \xff\u202e", 8)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.s)))
			for b.Loop() {
				_ = safeText(bc.s)
			}
		})
	}
}
