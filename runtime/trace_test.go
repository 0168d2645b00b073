package runtime

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

// wazero's trace of a C guest built with -g: DWARF lines under each frame, inlined calls on
// continuation lines.
const dwarfTrace = `.depth3()
		0x42ce: /src/trap.c:5:16
	.depth2() i32
		0x40ef: /src/trap.c:8:61
	.solti__build(i32) i32
		0x21c0: /src/trap.c:18:24 (inlined)
		        /sdk/solti.h:641:14 (inlined)
		        /src/trap.c:22:1`

func TestParseTrace(t *testing.T) {
	tests := []struct {
		name, trace string
		want        []Frame
	}{
		{"dwarf", dwarfTrace, []Frame{
			{"depth3", []string{"/src/trap.c:5:16"}},
			{"depth2", []string{"/src/trap.c:8:61"}},
			{"solti__build", []string{"/src/trap.c:18:24 (inlined)", "/sdk/solti.h:641:14 (inlined)", "/src/trap.c:22:1"}},
		}},
		{"names only", ".depth3()\n\t.depth2() i32\n\t.solti__build(i32) i32", []Frame{{"depth3", nil}, {"depth2", nil}, {"solti__build", nil}}},
		{"no names", ".$17()\n\t.$10(i32) i32", []Frame{{"$17", nil}, {"$10", nil}}},
		{"go names and results", ".main.(*runner).Build(i32,i32) (i32,i64)\n\t.runtime.gopanic(i32) i32\n\t.main.main()",
			[]Frame{{"main.(*runner).Build", nil}, {"runtime.gopanic", nil}, {"main.main", nil}}},
		{"rust mangled", "._ZN6runner11trap_depth317hc2ab2730e072eeaeE(i32) i32\n\t._ZN46_$LT$runner..Trap$u20$as$u20$solti..Runner$GT$8supports17hcd5821831785918dE(i32,i32) i32",
			[]Frame{{"runner::trap_depth3", nil}, {"<runner::Trap as solti::Runner>::supports", nil}}},
		{"c++ mangled stays", "._ZN3foo3barEv(i32)", []Frame{{"_ZN3foo3barEv", nil}}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, omitted := parseTrace(tt.trace)
			if omitted != 0 || !slices.EqualFunc(got, tt.want, func(a, b Frame) bool { return a.Function == b.Function && slices.Equal(a.Source, b.Source) }) {
				t.Errorf("parseTrace =\n%q (%d omitted)\nwant\n%q", got, omitted, tt.want)
			}
		})
	}
}

// TestTraceBounds checks the documented limits: at most MaxTraceFrames frames and
// MaxTraceBytes of stack text, the rest counted in a "... N more frames" mark.
func TestTraceBounds(t *testing.T) {
	var deep []string
	for i := range 40 {
		deep = append(deep, fmt.Sprintf(".f%d(i32) i32", i))
	}
	long := make([]string, 30)
	for i := range long {
		long[i] = fmt.Sprintf(".%s%d()\n\t\t0x1: /a/very/long/path/%s.c:1:1", strings.Repeat("g", 100), i, strings.Repeat("p", 60))
	}
	tests := []struct {
		name, trace   string
		frames, extra int
	}{
		{"deep", strings.Join(deep, "\n\t"), MaxTraceFrames, 40 - MaxTraceFrames},
		{"exactly the frame bound", strings.Join(deep[:MaxTraceFrames], "\n\t"), MaxTraceFrames, 0},
		{"long", strings.Join(long, "\n\t"), -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack, omitted := parseTrace(tt.trace)
			if tt.frames >= 0 && (len(stack) != tt.frames || omitted != tt.extra) {
				t.Errorf("%d frames, %d omitted; want %d, %d", len(stack), omitted, tt.frames, tt.extra)
			}
			e := &TrapError{Err: errorf(ErrTrap, "wasm error: unreachable"), Stack: stack, Omitted: omitted}
			msg := e.Error()
			_, text, _ := strings.Cut(msg, "; guest stack: ")
			if text, _, _ = strings.Cut(text, " <- ... "); len(text) > MaxTraceBytes {
				t.Errorf("stack text is %d bytes, over MaxTraceBytes (%d)", len(text), MaxTraceBytes)
			}
			if omitted > 0 && !strings.HasSuffix(msg, fmt.Sprintf(" <- ... %d more frames", omitted)) {
				t.Errorf("message does not end with the mark of %d more frames: %s", omitted, msg)
			}
			if len(stack)+omitted != strings.Count(tt.trace, "\n\t")-strings.Count(tt.trace, "\n\t\t")+1 {
				t.Errorf("%d frames + %d omitted: frames lost", len(stack), omitted)
			}
		})
	}
}

func TestWithStack(t *testing.T) {
	cause := errorf(ErrTrap, "wasm error: unreachable")
	err := withStack(cause, &engine.TrapError{Message: "wasm error: unreachable", Trace: dwarfTrace}, -1)
	var te *TrapError
	if !errors.As(err, &te) || !errors.Is(err, ErrTrap) {
		t.Fatalf("withStack = %#v: want a *TrapError matching ErrTrap", err)
	}
	const want = "trap: wasm error: unreachable; guest stack: depth3 at /src/trap.c:5:16 <- depth2 at /src/trap.c:8:61 <- " +
		"solti__build at /src/trap.c:18:24 (inlined), /sdk/solti.h:641:14 (inlined), /src/trap.c:22:1"
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	// No trace, or not a trap: the cause as it was.
	for _, e := range []error{&engine.TrapError{Message: "x"}, engine.ErrDeadline} {
		if got := withStack(cause, e, -1); got != cause {
			t.Errorf("withStack(cause, %v) = %v, want the cause", e, got)
		}
	}
}

// Metered code's unnamed frames read as the module's own indices: the fuel pass's import
// moved every defined function up by one; imported functions and named frames stay.
func TestUnshiftFuel(t *testing.T) {
	t.Parallel()
	stack := []Frame{{Function: "$9"}, {Function: "$3"}, {Function: "$4"}, {Function: "main.run"}, {Function: "$x"}}
	unshiftFuel(stack, 3)
	if got := fmt.Sprint(stack); got != "[$8 $3 $3 main.run $x]" {
		t.Errorf("metered frames %s, want [$8 $3 $3 main.run $x]", got)
	}
	// The wasmtime engine's frames carry their code offset, which parseTrace drops.
	if st, _ := parseTrace("$12 at 0x4f2\nrunner::trap at 0x3a\n"); fmt.Sprint(st) != "[$12 runner::trap]" {
		t.Errorf("wasmtime frames parse as %s", fmt.Sprint(st))
	}
	plain := []Frame{{Function: "$9"}}
	if unshiftFuel(plain, -1); plain[0].Function != "$9" {
		t.Errorf("unmetered frame renamed to %s", plain[0].Function)
	}
}
