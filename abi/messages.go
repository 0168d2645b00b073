package abi

import (
	"encoding/json"
	"fmt"
)

// BuildInput is the input of the build export: the spec plus what the host knows by then.
type BuildInput struct {
	// RunID is the run id the router allocated for this build: "{runner}-{slot}-{seq}".
	RunID string `json:"runId"`
	// Runner is the name of the runner asked to build.
	Runner string `json:"runner"`
	// Env is the task env merged with the host's env (the host's values win), sorted by key.
	Env  Env       `json:"env,omitempty"`
	Spec *TaskSpec `json:"spec"`
}

// RunInput is the input of the run export when the host executes a guest plan.
type RunInput struct {
	RunID string `json:"runId"`
	// Attempt counts from 1.
	Attempt int             `json:"attempt"`
	Env     Env             `json:"env,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Description is the optional describe export's output.
type Description struct {
	// Version is the runner's own version, free-form (semver recommended).
	Version string `json:"version,omitempty"`
	// Kinds lists the task kinds the runner handles ("subprocess", an extension type, ...). The
	// router skips the runner's supports call for any other kind. Empty: ask supports for all.
	Kinds []string `json:"kinds,omitempty"`
	// Labels are the runner's default labels, matched by task runner selectors.
	Labels map[string]string `json:"labels,omitempty"`
	// Description is one line for humans.
	Description string `json:"description,omitempty"`
	// Sample is a TaskSpec the runner supports (ABI.md §5.4): a host that hot-reloads the
	// module smoke-tests each new version with it before the version serves.
	Sample json.RawMessage `json:"sample,omitempty"`
}

// ParseDescription decodes a describe output leniently: unknown fields are allowed so that
// newer guests keep working with older hosts. Malformed JSON, duplicate keys and nesting
// deeper than MaxDepth are refused, and so are a field of the wrong JSON type, a kind that is
// neither a solti kind nor a valid extension type, and invalid labels.
func ParseDescription(data []byte) (*Description, error) {
	d, err := decodeWith(data, "describe output", false, func(b *binder, i int32) (*Description, error) {
		d := new(Description)
		return d, b.fill(i, "", d)
	})
	if err != nil {
		if _, ok := err.(*ValidationError); ok {
			return nil, fmt.Errorf("describe output: %w", err)
		}
		return nil, err
	}
	for i, k := range d.Kinds {
		if k != KindSubprocess && k != KindWasm && k != KindContainer && !ValidKindType(k) {
			return nil, fmt.Errorf("describe output: kinds[%d]: %q is neither a solti kind nor a valid extension type", i, k)
		}
	}
	if err := validateLabels("labels", d.Labels); err != nil {
		return nil, fmt.Errorf("describe output: %w", err)
	}
	return d, nil
}

// Error codes a guest may put in GuestError.Code. They map onto the router's error variants;
// any other code is kept and reported as an internal error.
const (
	CodeUnsupportedKind = "unsupported_kind"
	CodeInvalidSpec     = "invalid_spec"
	CodeMissingField    = "missing_field"
	CodeIO              = "io"
	CodeInternal        = "internal"
)

// GuestError is the output of a failed export call: {"code":"...","message":"..."}.
type GuestError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *GuestError) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Code + ": " + e.Message
}

// ParseGuestError decodes a failed call's output. Output that is not such an object is kept
// whole as the message, with code "internal", so nothing the guest said is lost.
func ParseGuestError(data []byte) *GuestError {
	var e GuestError
	// The host's JSON rules hold here too (depth, duplicate keys): output that breaks them is
	// not such an object either, and is kept whole.
	if _, err := checkJSON(data, MaxDepth); err != nil || json.Unmarshal(data, &e) != nil || (e.Code == "" && e.Message == "") {
		return &GuestError{Code: CodeInternal, Message: string(data)}
	}
	return &e
}
