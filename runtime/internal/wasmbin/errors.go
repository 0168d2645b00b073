package wasmbin

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is; every error this package returns is an *Error wrapping one of them.
var (
	// ErrMalformed reports bytes that are not a well-formed module binary: bad framing, a
	// truncated or over-long LEB128, a count the remaining bytes cannot hold, an unknown opcode.
	ErrMalformed = errors.New("malformed module")
	// ErrInvalid reports a well-formed module that refers to something that does not exist:
	// an index out of range, a function section and code section that disagree.
	ErrInvalid = errors.New("invalid module")
	// ErrLimit reports a module over one of the configured implementation [Limits].
	ErrLimit = errors.New("module over an implementation limit")
	// ErrUnsupported reports a feature the host does not run (threads, memory64).
	ErrUnsupported = errors.New("unsupported feature")
	// ErrComponent reports a WebAssembly component (layer 1) instead of a core module.
	ErrComponent = errors.New("wasm components are not supported yet; build a core module (for example wasm32-wasip1)")
)

// Error is a failure at one place in a module binary.
type Error struct {
	// Section names where the problem is: "header", a section name such as "import" or
	// "code", or "custom:name" for a custom section.
	Section string
	// Offset is the byte offset in the module binary where the problem was found.
	Offset int
	// Kind is the sentinel: ErrMalformed, ErrInvalid, ErrLimit, ErrUnsupported or ErrComponent.
	Kind error
	// Msg says what was wrong, for a human.
	Msg string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Kind == ErrComponent {
		return fmt.Sprintf("%v", ErrComponent)
	}
	return fmt.Sprintf("%v: %s section at offset %d (0x%x): %s", e.Kind, e.Section, e.Offset, e.Offset, e.Msg)
}

// Unwrap returns the sentinel, so errors.Is(err, ErrLimit) and the like work.
func (e *Error) Unwrap() error { return e.Kind }
