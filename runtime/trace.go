package runtime

import (
	"errors"
	"strconv"
	"strings"

	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
	"github.com/solti-wasm/solti-wasm/runtime/internal/fuel"
)

// Bounds of the guest stack a TrapError shows: a Go guest's panic is tens of frames deep, and
// the stack ends up in one line of a log or of route's report.
const (
	// MaxTraceFrames is the most frames a TrapError keeps.
	MaxTraceFrames = 16
	// MaxTraceBytes bounds the stack's text in TrapError.Error.
	MaxTraceBytes = 2 << 10
)

// Frame is one function on a guest's stack when it trapped, innermost first.
type Frame struct {
	// Function is the function's name from the module's name section, or $N (its index in
	// the module) when the module has none.
	Function string
	// Source is where in the source the frame was, from the module's DWARF, empty without
	// it: file:line:column, and when calls were inlined, one entry per inlined call,
	// innermost first, each but the last marked " (inlined)".
	Source []string
}

func (f Frame) String() string {
	if len(f.Source) == 0 {
		return f.Function
	}
	return f.Function + " at " + strings.Join(f.Source, ", ")
}

// TrapError is a call that trapped, with the guest's stack at the trap when the engine
// reported one. It wraps the cause (an error matching ErrTrap, or ErrMemoryLimit when the
// memory cap was hit first), so errors.Is works as for any call error; a *CallError wraps
// it in turn.
type TrapError struct {
	Err error
	// Stack is the guest's stack, innermost first, at most MaxTraceFrames frames (and what
	// fits in MaxTraceBytes).
	Stack []Frame
	// Omitted counts the outer frames left out.
	Omitted int
}

// Error is the cause, then "; guest stack: " and the frames, innermost first, separated by
// " <- " (one line: it goes into log records and route's report).
func (e *TrapError) Error() string {
	if len(e.Stack) == 0 {
		return e.Err.Error()
	}
	var b strings.Builder
	b.WriteString(e.Err.Error())
	b.WriteString("; guest stack: ")
	for i, f := range e.Stack {
		if i > 0 {
			b.WriteString(" <- ")
		}
		b.WriteString(f.String())
	}
	if e.Omitted > 0 {
		b.WriteString(" <- ... " + strconv.Itoa(e.Omitted) + " more frames")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *TrapError) Unwrap() error { return e.Err }

// withStack wraps cause in a *TrapError carrying the stack of the engine's trap err, if it
// has one; otherwise it returns cause. For metered code, imports is the number of functions
// the module as written imports, and frames named by index are renumbered back to the
// module's own indices (see unshiftFuel); -1 for code compiled as written.
func withStack(cause, err error, imports int) error {
	var trap *engine.TrapError
	if !errors.As(err, &trap) || trap.Trace == "" {
		return cause
	}
	stack, omitted := parseTrace(trap.Trace)
	if len(stack) == 0 {
		return cause
	}
	unshiftFuel(stack, imports)
	return &TrapError{Err: cause, Stack: stack, Omitted: omitted}
}

// unshiftFuel renames the frames of unnamed functions in metered code, $N, by their index
// in the module as written, so that metered and unmetered traces of one module read alike:
// the fuel pass adds its import (index imports) after the module's imported functions, which
// moves every defined function up by one. imports < 0: the code is not metered.
func unshiftFuel(stack []Frame, imports int) {
	if imports < 0 {
		return
	}
	for i := range stack {
		n, ok := strings.CutPrefix(stack[i].Function, "$")
		if !ok {
			continue
		}
		if k, err := strconv.Atoi(n); err == nil && k > imports {
			stack[i].Function = "$" + strconv.Itoa(k-1)
		}
	}
}

// funcImports counts the functions a compiled module imports, the fuel pass's refill
// import left out.
func funcImports(ims []engine.Import) int {
	n := 0
	for _, im := range ims {
		if im.Kind == engine.KindFunc && im.Module != fuel.ImportModule {
			n++
		}
	}
	return n
}

// parseTrace reads wazero's stack trace: a line per frame, "\t.name(params) results" (the
// dot follows the module's name, empty here), each followed by its DWARF lines, if any,
// indented twice: "\t\t0x42ce: /src/trap.c:5:16", with "(inlined)" entries continued on
// space-indented lines. It keeps MaxTraceFrames frames and MaxTraceBytes of text.
func parseTrace(trace string) (stack []Frame, omitted int) {
	var frames []Frame
	for line := range strings.Lines(trace) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "\t\t") || strings.HasPrefix(line, "        ") && len(frames) > 0:
			if len(frames) == 0 {
				continue
			}
			loc := strings.TrimSpace(line)
			if _, after, ok := strings.Cut(loc, ": "); ok && strings.HasPrefix(loc, "0x") {
				loc = after // the code offset means nothing to a reader of the source
			}
			f := &frames[len(frames)-1]
			f.Source = append(f.Source, loc)
		default:
			frames = append(frames, Frame{Function: frameName(withoutOffset(strings.TrimSpace(line)))})
		}
	}
	size := 0
	for i, f := range frames {
		size += len(f.String()) + len(" <- ")
		if i == MaxTraceFrames || size > MaxTraceBytes {
			return frames[:i], len(frames) - i
		}
	}
	return frames, 0
}

// withoutOffset drops the code offset the wasmtime engine puts after a frame's name,
// "name at 0x1f2e": it means nothing to a reader and differs between a module and its
// metered build.
func withoutOffset(s string) string {
	i := strings.LastIndex(s, " at 0x")
	if i < 0 || strings.Trim(s[i+len(" at 0x"):], "0123456789abcdef") != "" {
		return s
	}
	return s[:i]
}

// frameName is the function's name in a wazero frame, "module.name(params) results", without
// the module's name (empty for the host's instances) or the signature. Results are none,
// " i32" or " (i32,i64)"; parameters never hold parentheses, names may (Go's
// "main.(*T).Run").
func frameName(s string) string {
	types := func(t string) bool { // "i32" or "i32,f64": value type names
		return t != "" && strings.Trim(t, "abcdefghijklmnopqrstuvwxyz0123456789,") == ""
	}
	if i := strings.LastIndex(s, " ("); i > 0 && strings.HasSuffix(s, ")") && types(s[i+2:len(s)-1]) {
		s = s[:i]
	} else if i := strings.LastIndex(s, " "); i > 0 && types(s[i+1:]) && !strings.HasSuffix(s, ")") {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "("); i > 0 && strings.HasSuffix(s, ")") && (i == len(s)-2 || types(s[i+1:len(s)-1])) {
		s = s[:i]
	}
	return demangleRust(strings.TrimPrefix(s, "."))
}

// rustEscapes are the escapes of Rust's legacy symbol mangling.
var rustEscapes = strings.NewReplacer("$LT$", "<", "$GT$", ">", "$RF$", "&", "$BP$", "*", "$C$", ",", "$SP$", "@",
	"$u20$", " ", "$u27$", "'", "$u5b$", "[", "$u5d$", "]", "$u7b$", "{", "$u7d$", "}", "$u7e$", "~", "..", "::")

// demangleRust turns a Rust legacy-mangled name, "_ZN6runner5trap17h0123456789abcdefE", into
// its path, "runner::trap" (the hash dropped); any other name comes back as it is.
func demangleRust(s string) string {
	rest, ok := strings.CutPrefix(s, "_ZN")
	if !ok || !strings.HasSuffix(rest, "E") {
		return s
	}
	rest = rest[:len(rest)-1]
	var parts []string
	for rest != "" {
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		size, err := strconv.Atoi(rest[:n])
		if err != nil || size == 0 || n+size > len(rest) {
			return s // not the legacy scheme (C++'s, say)
		}
		parts = append(parts, rest[n:n+size])
		rest = rest[n+size:]
	}
	if last := parts[len(parts)-1]; len(parts) > 1 && len(last) == 17 && last[0] == 'h' && strings.Trim(last[1:], "0123456789abcdef") == "" {
		parts = parts[:len(parts)-1]
	}
	for i, p := range parts {
		if strings.HasPrefix(p, "_$") {
			p = p[1:] // a leading _ escapes a $ at the start of a segment
		}
		parts[i] = rustEscapes.Replace(p)
	}
	return strings.Join(parts, "::")
}
