package solti

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Errorf returns a structured error for the host: code is one of abi.CodeInvalidSpec,
// abi.CodeMissingField, abi.CodeUnsupportedKind, abi.CodeIO or abi.CodeInternal (the router
// maps them onto its error variants), and the message is formatted as by fmt.Sprintf.
// Return it from Build or Run, or wrap it: the SDK finds it with errors.As.
func Errorf(code, format string, args ...any) *abi.GuestError {
	return &abi.GuestError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// asGuestError finds the structured error in err's chain; any other error is "internal".
func asGuestError(err error) *abi.GuestError {
	var ge *abi.GuestError
	if errors.As(err, &ge) && ge != nil {
		if ge.Code == "" {
			return &abi.GuestError{Code: abi.CodeInternal, Message: ge.Message}
		}
		return ge
	}
	return &abi.GuestError{Code: abi.CodeInternal, Message: err.Error()}
}

// decodeStrict decodes exactly one JSON value into v, rejecting unknown fields: a runner owns
// its spec's schema, so a misspelt field is a mistake to report, not to ignore.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}
