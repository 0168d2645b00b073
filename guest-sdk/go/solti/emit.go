package solti

import (
	"io"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Live output. During a run, a runner can stream lines to the host as they come, through the
// optional emit import (ABI v1 §4): the host shows them live (solti-wasm run prints them) and
// hands them to whoever supervises the task, tagged with the stream. They are not the run's
// result, which Run returns. Outside a run the host logs them at debug level.
//
// Each line is at most abi.DefaultMaxLineBytes (longer ones are truncated) and a call keeps
// at most abi.DefaultMaxLinesPerCall of them (later ones are dropped and counted). A module
// that never calls these functions does not import emit.

// Emit sends one line (or several, separated by newlines) to the run's stdout stream.
func Emit(line string) { hostEmit(abi.StreamStdout, line) }

// EmitErr sends one line (or several) to the run's stderr stream.
func EmitErr(line string) { hostEmit(abi.StreamStderr, line) }

// EmitWriter returns a writer whose every Write is emitted on stream (abi.StreamStdout or
// abi.StreamStderr); the host splits it at newlines. Use it with fmt.Fprintf, or as a
// log.Logger's output.
func EmitWriter(stream int32) io.Writer { return emitWriter(stream) }

type emitWriter int32

func (w emitWriter) Write(p []byte) (int, error) {
	hostEmit(int32(w), string(p))
	return len(p), nil
}
