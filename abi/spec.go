package abi

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

// UnmarshalJSON decodes a spec leniently, as a guest does: any form ParseTaskSpec accepts
// decodes to the same value, defaults filled in, but keys it does not know are skipped (a
// newer host may add fields) and nothing is validated.
func (s *TaskSpec) UnmarshalJSON(data []byte) error {
	t, err := decodeWith(data, "task spec", false, (*binder).taskDoc)
	if err != nil {
		return err
	}
	*s = t.Spec
	return nil
}

// ParseTaskSpec decodes and validates a task spec strictly, as a host reads user input. It
// accepts the forms of ABI.md §5.1: an ABI v1 TaskSpec (solti-model's older generation, with
// kind), a TaskSpec of the current generation (with workload), or a whole Task manifest, whose
// metadata.labels become the spec's labels. Errors name the JSON path of the field:
// *ValidationError for a wrong field, *SyntaxError (wrapped) for malformed JSON.
func ParseTaskSpec(data []byte) (*TaskSpec, error) {
	t, err := parseTask(data)
	if err != nil {
		return nil, err
	}
	return &t.Spec, nil
}

// ParseTask decodes and validates a Task manifest of solti's current generation:
// {"apiVersion":"solti.io/v1","kind":"Task","metadata":{...},"spec":{...}}. The spec's Labels
// are metadata.labels. A bare TaskSpec is refused: use ParseTaskSpec where either may come.
func ParseTask(data []byte) (*Task, error) {
	t, err := parseTask(data)
	if err != nil {
		return nil, err
	}
	if t.APIVersion == "" {
		return nil, invalid("apiVersion", "missing: a Task manifest has apiVersion %q, kind \"Task\", metadata and spec", BuiltinAPIVersion)
	}
	return t, nil
}

func parseTask(data []byte) (*Task, error) {
	t, err := decodeWith(data, "task spec", true, (*binder).taskDoc)
	if err != nil {
		return nil, err
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return t, nil
}
