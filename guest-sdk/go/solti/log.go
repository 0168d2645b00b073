package solti

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Logging goes to the host's log import, which tags each record with the runner and the call
// and keeps a bounded number per call (abi.DefaultMaxLogsPerCall; long ones are truncated).
// Standard output and standard error lead nowhere: the host grants WASI no files.
//
// The functions take slog's call shape, a message and alternating keys and values, and write
// one logfmt line: "transformed runId=go-transform-demo-1 bytes=42". They do not use log/slog
// itself, which would add about 430 KB (a tenth) to a module for a few lines per call; runners
// that want slog can build a handler on LogWriter.

// Debug logs at the debug level.
func Debug(msg string, args ...any) { logf(abi.LogDebug, msg, args) }

// Info logs at the info level.
func Info(msg string, args ...any) { logf(abi.LogInfo, msg, args) }

// Warn logs at the warn level.
func Warn(msg string, args ...any) { logf(abi.LogWarn, msg, args) }

// Error logs at the error level.
func Error(msg string, args ...any) { logf(abi.LogError, msg, args) }

// LogWriter returns a writer that sends each Write to the host as one record at level (one of
// abi.LogDebug, LogInfo, LogWarn, LogError), without its trailing newline. Use it to route
// the standard library's loggers: log.SetOutput(solti.LogWriter(abi.LogInfo)), or
// slog.New(slog.NewTextHandler(solti.LogWriter(abi.LogInfo), nil)).
func LogWriter(level int32) io.Writer { return logWriter(level & 3) }

type logWriter int32

func (w logWriter) Write(p []byte) (int, error) {
	hostLog(int32(w), strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func logf(level int32, msg string, args []any) { hostLog(level, formatLog(msg, args)) }

// formatLog writes msg and the key-value pairs of args as one logfmt line.
func formatLog(msg string, args []any) string {
	if len(args) == 0 {
		return msg
	}
	var b strings.Builder
	b.WriteString(msg)
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) { // a value without a key, as slog shows it
			b.WriteString(" !BADKEY=")
			b.WriteString(logValue(args[i]))
			break
		}
		b.WriteByte(' ')
		b.WriteString(fmt.Sprint(args[i]))
		b.WriteByte('=')
		b.WriteString(logValue(args[i+1]))
	}
	return b.String()
}

// logValue formats v, quoted when logfmt needs it.
func logValue(v any) string {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case error:
		s = v.Error()
	default:
		s = fmt.Sprint(v)
	}
	if s == "" || strings.IndexFunc(s, needsQuote) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

func needsQuote(r rune) bool {
	return r == '"' || r == '=' || r == '\\' || unicode.IsSpace(r) || !unicode.IsPrint(r)
}
