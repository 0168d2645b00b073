package runtime

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"unicode/utf8"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
	"github.com/solti-wasm/solti-wasm/runtime/internal/fuel"
)

// callState is one instance's state for the call in progress; the host functions reach it
// through the call's context. The host never allocates in guest memory: the guest pulls its
// input with input() into a buffer of its own and pushes its output with output().
type callState struct {
	input  []byte
	output []byte
	fault  error // set by a host function just before it aborts the call
	logs   int
	lines  int
	// sink receives emitted lines and logs during a run with RunOptions.OnLine; nil otherwise.
	sink func(RunLine)

	export string
	limits *Limits
	mod    *Module

	// fuel is the call's fuel account; counter the instance's fuel counter (nil when the
	// instance is not metered); fuelUsed what the last call used.
	fuel     fuelMeter
	counter  engine.Global
	fuelUsed int64
}

type stateKey struct{}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

// abort records why a host function stops the guest and unwinds it.
func (st *callState) abort(err error) {
	st.fault = err
	panic(err)
}

var (
	i32      = engine.I32
	sigInput = engine.FuncType{Params: []engine.ValueType{i32}}
	sigOut   = engine.FuncType{Params: []engine.ValueType{i32, i32}}
	sigLog   = engine.FuncType{Params: []engine.ValueType{i32, i32, i32}}
	sigEmit  = sigLog
)

// hostFuncs are the solti imports of ABI v1.
func hostFuncs() []engine.HostFunc {
	return []engine.HostFunc{
		{Module: abi.HostModule, Name: abi.ImportInput, Type: sigInput, Fn: hostInput},
		{Module: abi.HostModule, Name: abi.ImportOutput, Type: sigOut, Fn: hostOutput},
		{Module: abi.HostModule, Name: abi.ImportLog, Type: sigLog, Fn: hostLog},
		{Module: abi.HostModule, Name: abi.ImportEmit, Type: sigEmit, Fn: hostEmit},
		{Module: fuel.ImportModule, Name: fuel.ImportName, Type: sigRefill, Fn: hostRefill},
	}
}

// input(dst): copy the call's input to guest memory at dst.
func hostInput(ctx context.Context, mem engine.Memory, stack []uint64) {
	st := stateOf(ctx)
	dst := uint32(stack[0])
	st.chargeHost(uint32(len(st.input)))
	if mem == nil || !mem.Write(dst, st.input) {
		st.abort(errorf(ErrBadPointer, "input(dst=%d): %d bytes do not fit in guest memory of %d bytes", dst, len(st.input), memSize(mem)))
	}
}

// output(ptr, len): set the call's result; a later call replaces it.
func hostOutput(ctx context.Context, mem engine.Memory, stack []uint64) {
	st := stateOf(ctx)
	ptr, n := uint32(stack[0]), uint32(stack[1])
	st.chargeHost(n)
	if int64(n) > int64(st.limits.MaxOutputBytes) {
		st.abort(errorf(ErrOutputTooLarge, "output of %s bytes exceeds the %d-byte limit", lenString(n), st.limits.MaxOutputBytes))
	}
	b, ok := readMem(mem, ptr, n)
	if !ok {
		st.abort(errorf(ErrBadPointer, "output(ptr=%d, len=%d) is outside guest memory of %d bytes", ptr, n, memSize(mem)))
	}
	st.output = append(st.output[:0], b...)
}

// log(level, ptr, len): a guest log line, truncated and rate-bounded per call. The pointer
// and length are checked first, before any limit: a call dropped for the count limit or cut
// for the size limit still traps when its bytes are outside guest memory (ABI §4), so a
// negative length never passes.
func hostLog(ctx context.Context, mem engine.Memory, stack []uint64) {
	st := stateOf(ctx)
	level, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if !inMemory(mem, ptr, n) {
		st.abort(errorf(ErrBadPointer, "log(ptr=%d, len=%s) is outside guest memory of %d bytes", ptr, lenString(n), memSize(mem)))
	}
	st.chargeHost(n)
	st.logs++
	if st.logs > st.limits.MaxLogsPerCall {
		return // counted, dropped
	}
	b, _ := readMem(mem, ptr, n)
	b, truncated := truncate(b, st.limits.MaxLogBytes)
	if st.sink != nil {
		st.sink(RunLine{Stream: StreamLog, Level: level, Text: string(b), Truncated: truncated})
	}
	lg := st.mod.rt.logger
	lvl := slogLevel(level)
	if !lg.Enabled(ctx, lvl) {
		return
	}
	attrs := []slog.Attr{slog.String("runner", st.mod.name), slog.String("export", st.export)}
	if truncated {
		attrs = append(attrs, slog.Bool("truncated", true))
	}
	lg.LogAttrs(ctx, lvl, string(b), attrs...)
}

// emit(stream, ptr, len): live output lines of a run (optional import, ABI v1 §4). The bytes
// are split at newlines (a trailing one ends the last line); each line is truncated to the
// line limit, and lines beyond the per-call count are dropped and counted. Outside a run, or
// in a run nobody streams, lines go to the log at debug level.
//
// The host's work per call is bounded by the line limit, not by the guest's bytes: once the
// limit is reached the rest is only counted (bytes.Count, not a loop per line), and a call
// whose context is done (the run's deadline) stops delivering lines and ends the run at once,
// so a guest flooding newlines cannot hold the host past the task's timeout.
func hostEmit(ctx context.Context, mem engine.Memory, stack []uint64) {
	st := stateOf(ctx)
	stream, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	st.chargeHost(n)
	b, ok := readMem(mem, ptr, n)
	if !ok {
		st.abort(errorf(ErrBadPointer, "emit(ptr=%d, len=%s) is outside guest memory of %d bytes", ptr, lenString(n), memSize(mem)))
	}
	if stream != abi.StreamStderr {
		stream = abi.StreamStdout
	}
	if len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	for {
		if st.lines >= st.limits.MaxLinesPerCall {
			st.lines += countLines(ctx, st, b)
			return
		}
		if err := ctx.Err(); err != nil {
			st.abort(errorf(stopKind(err), "%v", context.Cause(ctx)))
		}
		line, rest, more := bytes.Cut(b, newline)
		st.lines++
		line, truncated := truncate(line, st.limits.MaxLineBytes)
		l := RunLine{Stream: stream, Text: string(line), Truncated: truncated}
		if st.sink != nil {
			st.sink(l)
		} else if lg := st.mod.rt.logger; lg.Enabled(ctx, slog.LevelDebug) {
			lg.LogAttrs(ctx, slog.LevelDebug, l.Text, slog.String("runner", st.mod.name), slog.String("export", st.export), slog.Int("stream", int(stream)))
		}
		if !more {
			return
		}
		b = rest
	}
}

var newline = []byte{'\n'}

// countChunk is how many bytes countLines scans between looks at the call's context: the
// host's work without a deadline check stays well under a millisecond, whatever the guest
// hands it.
const countChunk = 1 << 20

// countLines counts the lines of b (its newlines plus one), stopping the call when its
// context ends.
func countLines(ctx context.Context, st *callState, b []byte) int {
	n := 1
	for len(b) > 0 {
		if err := ctx.Err(); err != nil {
			st.abort(errorf(stopKind(err), "%v", context.Cause(ctx)))
		}
		c := b[:min(len(b), countChunk)]
		n += bytes.Count(c, newline)
		b = b[len(c):]
	}
	return n
}

// stopKind is the sentinel for a call stopped by its context's end.
func stopKind(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrDeadline
	}
	return ErrCanceled
}

// truncate cuts b to at most limit bytes, at a UTF-8 character boundary when the cut would
// fall inside one (so that valid text stays valid), and reports whether it cut.
func truncate(b []byte, limit int) ([]byte, bool) {
	if len(b) <= limit {
		return b, false
	}
	n := limit
	for i := 0; i < utf8.UTFMax-1 && n > 0 && !utf8.RuneStart(b[n]); i++ {
		n--
	}
	if !utf8.RuneStart(b[n]) { // not UTF-8 there anyway: cut at the limit
		n = limit
	}
	return b[:n], true
}

// inMemory reports whether the n bytes at ptr lie inside mem. The sum is computed in 64 bits:
// a length of -1 (0xffffffff) must not wrap around.
func inMemory(mem engine.Memory, ptr, n uint32) bool {
	return uint64(ptr)+uint64(n) <= uint64(memSize(mem))
}

// lenString shows a length as the guest most likely meant it: negative when its i32 is.
func lenString(n uint32) string {
	if int32(n) < 0 {
		return strconv.Itoa(int(int32(n)))
	}
	return strconv.FormatUint(uint64(n), 10)
}

// RunLine is one line a guest emitted or logged during a run.
type RunLine struct {
	// Stream is abi.StreamStdout or abi.StreamStderr for emit, StreamLog for log.
	Stream int32
	// Level is the log level (abi.LogDebug ... abi.LogError) of a log line.
	Level int32
	Text  string
	// Truncated: the line was cut at the line (or log message) limit.
	Truncated bool
}

// StreamLog is RunLine.Stream for a guest's log call.
const StreamLog int32 = 0

func slogLevel(l int32) slog.Level {
	switch {
	case l <= abi.LogDebug:
		return slog.LevelDebug
	case l == abi.LogInfo:
		return slog.LevelInfo
	case l == abi.LogWarn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func readMem(mem engine.Memory, ptr, n uint32) ([]byte, bool) {
	if mem == nil {
		return nil, n == 0
	}
	return mem.Read(ptr, n)
}

func memSize(mem engine.Memory) uint32 {
	if mem == nil {
		return 0
	}
	return mem.Size()
}
