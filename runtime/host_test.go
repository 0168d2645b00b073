package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// TestHostImportFaults checks ABI §4's traps: a log or emit whose bytes lie outside guest
// memory traps the call, whatever its length's sign and whether the call is past the per-call
// count limit (a dropped call is still checked).
func TestHostImportFaults(t *testing.T) {
	m := loadFixture(t, runtime.Config{Limits: runtime.Limits{MaxLogsPerCall: 2, MaxLinesPerCall: 2}}, "host-faults")
	tests := []struct {
		runID, want string
	}{
		{"a", "log(ptr=128, len=-1) is outside guest memory of 65536 bytes"},
		{"b", "log(ptr=70000, len=4) is outside guest memory"},
		{"d", "emit(ptr=70000, len=3) is outside guest memory"},
		{"e", "log(ptr=65530, len=10) is outside guest memory"},
	}
	for _, tt := range tests {
		t.Run(tt.runID, func(t *testing.T) {
			var lines int
			out, err := m.RunWith(t.Context(), &abi.RunInput{RunID: tt.runID, Attempt: 1}, runtime.RunOptions{OnLine: func(runtime.RunLine) { lines++ }})
			if !errors.Is(err, runtime.ErrBadPointer) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run = %q, %v; want a trap: %s: %s", out, err, runtime.ErrBadPointer, tt.want)
			}
			if lines > 2 {
				t.Errorf("%d lines delivered past the limit of 2", lines)
			}
		})
	}
	// The module keeps serving on fresh instances.
	if out, err := m.Run(t.Context(), &abi.RunInput{RunID: "z", Attempt: 1}); err != nil || string(out) != "done" {
		t.Fatalf("run after the faults = %q, %v", out, err)
	}
}

// TestHostImportTruncation checks that messages and lines cut at their limit say so.
func TestHostImportTruncation(t *testing.T) {
	m := loadFixture(t, runtime.Config{}, "host-faults")
	var got []runtime.RunLine
	out, err := m.RunWith(t.Context(), &abi.RunInput{RunID: "c", Attempt: 1}, runtime.RunOptions{OnLine: func(l runtime.RunLine) { got = append(got, l) }})
	if err != nil || string(out) != "done" {
		t.Fatalf("run = %q, %v", out, err)
	}
	if len(got) != 2 {
		t.Fatalf("%d lines, want a log and an emitted line", len(got))
	}
	for _, l := range got {
		if !l.Truncated || len(l.Text) != abi.DefaultMaxLogBytes || !utf8.ValidString(l.Text) {
			t.Errorf("stream %d: %d bytes, truncated %v; want %d bytes, truncated", l.Stream, len(l.Text), l.Truncated, abi.DefaultMaxLogBytes)
		}
	}
}

// TestEmitFloodStopsOnTime: a run whose guest emits tens of millions of newlines per call
// must end within its deadline plus a small margin, not when the host has walked every line.
func TestEmitFloodStopsOnTime(t *testing.T) {
	m := loadFixture(t, runtime.Config{}, "flood")
	const timeout = 300 * time.Millisecond
	limit := timeout + timeout/10 + 100*time.Millisecond
	var took []time.Duration
	for range 3 { // a shared machine: the best of three; before the fix all overshot by far
		var lines int
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		start := time.Now()
		_, err := m.RunWith(ctx, &abi.RunInput{RunID: "r", Attempt: 1}, runtime.RunOptions{OnLine: func(runtime.RunLine) { lines++ }})
		d := time.Since(start)
		cancel()
		if !errors.Is(err, runtime.ErrDeadline) {
			t.Fatalf("run = %v, want %v", err, runtime.ErrDeadline)
		}
		if lines > abi.DefaultMaxLinesPerCall {
			t.Errorf("%d lines delivered, over the limit of %d", lines, abi.DefaultMaxLinesPerCall)
		}
		if took = append(took, d); d <= limit {
			return
		}
	}
	t.Errorf("the runs took %v, over their %v deadline by more than 10%% + 100ms", took, timeout)
}
