package abi

import (
	"encoding/json"
	"fmt"
)

// TaskSpec is the desired state of one task, solti-model's TaskSpec in camelCase JSON.
// Decode it with ParseTaskSpec, which applies defaults and validates.
type TaskSpec struct {
	// Slot is the logical lane for admission control: 1-64 chars of [A-Za-z0-9._-], not "." or "..".
	Slot string `json:"slot"`
	// Kind is the workload: one of the solti-model kinds or an extension kind.
	Kind TaskKind `json:"kind"`
	// TimeoutMs is the per-attempt timeout in milliseconds, > 0.
	TimeoutMs uint64 `json:"timeout"`
	// Restart says when a finished attempt runs again. Default: never.
	Restart RestartPolicy `json:"restart"`
	// Backoff spaces restarts. Default: full jitter, 1000 ms, 30000 ms, factor 2.
	Backoff BackoffPolicy `json:"backoff"`
	// Admission says what a new task does while its slot is busy. Default: dropIfRunning.
	Admission AdmissionPolicy `json:"admission"`
	// MaxRetries bounds consecutive failure retries; 0 means unlimited.
	MaxRetries uint32 `json:"maxRetries,omitempty"`
	// RunnerSelector, if set, restricts routing to runners whose labels it matches.
	RunnerSelector *RunnerSelector `json:"runnerSelector,omitempty"`
	// Labels are metadata for routing, scheduling and observability.
	Labels map[string]string `json:"labels,omitempty"`
}

// RestartType names a restart policy.
type RestartType string

// Restart policies.
const (
	RestartNever     RestartType = "never"
	RestartOnFailure RestartType = "onFailure"
	RestartAlways    RestartType = "always"
)

// RestartPolicy is {"type":"never"} | {"type":"onFailure"} | {"type":"always","intervalMs":N}.
type RestartPolicy struct {
	Type RestartType `json:"type"`
	// IntervalMs is the pause between successful runs; only with RestartAlways.
	IntervalMs uint64 `json:"intervalMs,omitempty"`
}

// Jitter names a backoff jitter strategy.
type Jitter string

// Jitter strategies.
const (
	JitterFull         Jitter = "full"
	JitterNone         Jitter = "none"
	JitterEqual        Jitter = "equal"
	JitterDecorrelated Jitter = "decorrelated"
)

// BackoffPolicy: delay n = jitter(min(FirstMs * Factor^n, MaxMs)).
type BackoffPolicy struct {
	Jitter  Jitter  `json:"jitter"`
	FirstMs uint64  `json:"firstMs"`
	MaxMs   uint64  `json:"maxMs"`
	Factor  float64 `json:"factor"`
}

// DefaultBackoff is solti's default backoff: full jitter, 1 s first, 30 s max, factor 2.
func DefaultBackoff() BackoffPolicy {
	return BackoffPolicy{Jitter: JitterFull, FirstMs: 1000, MaxMs: 30000, Factor: 2}
}

// AdmissionPolicy says what happens to a task whose slot is busy.
type AdmissionPolicy string

// Admission policies.
const (
	AdmissionDropIfRunning AdmissionPolicy = "dropIfRunning"
	AdmissionReplace       AdmissionPolicy = "replace"
	AdmissionQueue         AdmissionPolicy = "queue"
)

// UnmarshalJSON decodes a spec, ignoring unknown fields, and fills defaults for absent
// restart, backoff fields and admission. It does not validate: ParseTaskSpec does both, and
// rejects unknown fields.
func (s *TaskSpec) UnmarshalJSON(data []byte) error {
	type plain TaskSpec // no methods: avoids recursion
	v := plain{Restart: RestartPolicy{Type: RestartNever}, Backoff: DefaultBackoff(), Admission: AdmissionDropIfRunning}
	if err := decode(data, &v); err != nil {
		return err
	}
	*s = TaskSpec(v)
	return nil
}

// ParseTaskSpec decodes and validates a task spec strictly, as a host reads user input: a
// syntax error names its line and column, an unknown (or wrongly cased) field its path.
func ParseTaskSpec(data []byte) (*TaskSpec, error) {
	var s TaskSpec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, jsonError("task spec", data, err)
	}
	if err := checkKnown(data, &s); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// decode decodes one JSON value leniently: unknown fields are ignored, so a guest built
// against this package keeps working when a newer host adds fields. The host's own parsers
// (ParseTaskSpec, ParsePlan) are strict: see checkKnown.
func decode(data []byte, v any) error { return json.Unmarshal(data, v) }

// jsonError turns a decoding error into one that names what was decoded and, for syntax
// errors, the line and column of the offending byte. Type errors get no position: they come
// from the nested decoders of the tagged kinds, whose offsets are relative to a sub-document
// (their message names the field instead).
func jsonError(what string, data []byte, err error) error {
	var off int64 = -1
	if e, ok := err.(*json.SyntaxError); ok {
		// Offset counts the bytes read, the offending one included. For an unexpected end
		// of input this points at the last byte.
		off = max(e.Offset-1, 0)
	}
	if off < 0 {
		return fmt.Errorf("%s: %w", what, err)
	}
	line, col := 1, 1
	for _, b := range data[:min(int(off), len(data))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%s: line %d, column %d: %w", what, line, col, err)
}
