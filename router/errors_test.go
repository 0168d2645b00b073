package router

import (
	"errors"
	"fmt"
	"testing"
)

// sentinels lists every RunnerError variant's sentinel.
var sentinels = []error{ErrNoRunner, ErrUnsupportedKind, ErrInvalidSpec, ErrInternal, ErrMissingField, ErrIO}

func TestRunnerErrorMessagesAndVariants(t *testing.T) {
	cause := errors.New("permission denied")
	tests := []struct {
		name     string
		err      error
		msg      string // solti's exact string
		sentinel error
		as       func(error) bool
		cause    error // the wrapped cause, if any
	}{
		{"NoRunner", &NoRunnerError{Kind: "wasm"}, "no suitable runner for task kind: wasm", ErrNoRunner,
			func(err error) bool { var e *NoRunnerError; return errors.As(err, &e) && e.Kind == "wasm" }, nil},
		{"UnsupportedKind", &UnsupportedKindError{Runner: "subprocess-runner", Kind: "container"}, "unsupported task kind for runner 'subprocess-runner': container", ErrUnsupportedKind,
			func(err error) bool {
				var e *UnsupportedKindError
				return errors.As(err, &e) && e.Runner == "subprocess-runner" && e.Kind == "container"
			}, nil},
		{"InvalidSpec", &InvalidSpecError{Msg: "command is empty"}, "invalid specification: command is empty", ErrInvalidSpec,
			func(err error) bool {
				var e *InvalidSpecError
				return errors.As(err, &e) && e.Msg == "command is empty"
			}, nil},
		{"InvalidSpec with cause", &InvalidSpecError{Msg: "bad", Err: cause}, "invalid specification: bad", ErrInvalidSpec,
			func(err error) bool { var e *InvalidSpecError; return errors.As(err, &e) }, cause},
		{"Internal", &InternalError{Msg: "guest trapped"}, "internal error: guest trapped", ErrInternal,
			func(err error) bool { var e *InternalError; return errors.As(err, &e) && e.Msg == "guest trapped" }, nil},
		{"Internal with cause", &InternalError{Msg: "x", Err: cause}, "internal error: x", ErrInternal,
			func(err error) bool { var e *InternalError; return errors.As(err, &e) }, cause},
		{"MissingField", &MissingFieldError{Field: "image"}, "missing field: image", ErrMissingField,
			func(err error) bool { var e *MissingFieldError; return errors.As(err, &e) && e.Field == "image" }, nil},
		{"Io", &IOError{Msg: "open /x"}, "io error: open /x", ErrIO,
			func(err error) bool { var e *IOError; return errors.As(err, &e) && e.Msg == "open /x" }, nil},
		{"Io with cause", &IOError{Msg: "open /x", Err: cause}, "io error: open /x", ErrIO,
			func(err error) bool { var e *IOError; return errors.As(err, &e) }, cause},
		{"empty fields", &MissingFieldError{}, "missing field: ", ErrMissingField,
			func(err error) bool { var e *MissingFieldError; return errors.As(err, &e) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The error itself, wrapped by fmt, and wrapped in a BuildError.
			wrapped := map[string]error{
				"bare":       tt.err,
				"fmt":        fmt.Errorf("submitting: %w", tt.err),
				"BuildError": &BuildError{Runner: "r", Err: tt.err},
			}
			for how, err := range wrapped {
				if how == "bare" && err.Error() != tt.msg {
					t.Errorf("Error() = %q, want %q", err.Error(), tt.msg)
				}
				for _, s := range sentinels {
					if got, want := errors.Is(err, s), s == tt.sentinel; got != want {
						t.Errorf("%s: errors.Is(err, %q) = %v, want %v", how, s, got, want)
					}
				}
				if !tt.as(err) {
					t.Errorf("%s: errors.As to the concrete type failed", how)
				}
				if tt.cause != nil && !errors.Is(err, tt.cause) {
					t.Errorf("%s: cause not in the chain", how)
				}
				if errors.Is(err, ErrDuplicateRunner) || errors.Is(err, ErrInvalidLabels) {
					t.Errorf("%s: a runner error matches a registration error", how)
				}
			}
		})
	}
}

func TestBuildErrorMessage(t *testing.T) {
	tests := []struct {
		runner string
		err    error
		want   string
	}{
		{"x", &InvalidSpecError{Msg: "m"}, "runner 'x' failed to build task: invalid specification: m"},
		{"wasm:hello", &IOError{Msg: "read"}, "runner 'wasm:hello' failed to build task: io error: read"},
		{"x", errors.New("plain"), "runner 'x' failed to build task: plain"},
	}
	for _, tt := range tests {
		err := &BuildError{Runner: tt.runner, Err: tt.err}
		if err.Error() != tt.want {
			t.Errorf("Error() = %q, want %q", err.Error(), tt.want)
		}
		if errors.Unwrap(err) != tt.err {
			t.Errorf("Unwrap() = %v, want %v", errors.Unwrap(err), tt.err)
		}
	}
}

func TestUnwrapWithoutCause(t *testing.T) {
	for _, err := range []error{&InvalidSpecError{Msg: "m"}, &InternalError{Msg: "m"}, &IOError{Msg: "m"}} {
		if u := errors.Unwrap(err); u != nil {
			t.Errorf("%T.Unwrap() = %v, want nil", err, u)
		}
	}
}

func TestSentinelsAreDistinct(t *testing.T) {
	all := append(append([]error{}, sentinels...), ErrDuplicateRunner, ErrInvalidLabels, ErrInvalidRunner)
	seen := map[string]bool{}
	for i, a := range all {
		if seen[a.Error()] {
			t.Errorf("duplicate sentinel message %q", a)
		}
		seen[a.Error()] = true
		for j, b := range all {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
}
