package httpapi

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/store"
)

// Task is solti's G3 Task resource as the API writes it.
type Task struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   TaskMeta        `json:"metadata"`
	Spec       json.RawMessage `json:"spec"`
	Status     TaskStatus      `json:"status"`
}

// TaskMeta is a Task's metadata; ResourceVersion is a store.Revision in decimal, opaque to
// clients.
type TaskMeta struct {
	Name              string            `json:"name"`
	UID               string            `json:"uid"`
	ResourceVersion   string            `json:"resourceVersion"`
	Generation        uint64            `json:"generation"`
	CreationTimestamp string            `json:"creationTimestamp"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

// TaskStatus is a Task's observed state.
type TaskStatus struct {
	ObservedGeneration uint64      `json:"observedGeneration"`
	Phase              store.Phase `json:"phase"`
	Attempt            int         `json:"attempt"`
	ExitCode           *int        `json:"exitCode,omitempty"`
	Error              string      `json:"error,omitempty"`
	Conditions         []Condition `json:"conditions"`
}

// Condition is a Kubernetes-style condition; the API writes one, Reconciled.
type Condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	ObservedGeneration uint64 `json:"observedGeneration"`
	Reason             string `json:"reason"`
	Message            string `json:"message"`
	LastTransitionTime string `json:"lastTransitionTime"`
}

// TaskList is a page of a listing.
type TaskList struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   ListMeta `json:"metadata"`
	Items      []*Task  `json:"items"`
}

// ListMeta is a listing's metadata: the revision it was read at, and where to continue.
type ListMeta struct {
	ResourceVersion    string `json:"resourceVersion"`
	Continue           string `json:"continue,omitempty"`
	RemainingItemCount *int64 `json:"remainingItemCount,omitempty"`
}

// WatchEvent is one line of a watch: ADDED, MODIFIED or DELETED with the Task, or ERROR with
// a Status.
type WatchEvent struct {
	Type   string `json:"type"`
	Object any    `json:"object"`
}

// Run is one attempt of a task.
type Run struct {
	Workload   Workload    `json:"workload"`
	Generation uint64      `json:"generation"`
	Attempt    int         `json:"attempt"`
	Phase      store.Phase `json:"phase"`
	StartedAt  string      `json:"startedAt"`
	FinishedAt string      `json:"finishedAt,omitempty"`
	Error      string      `json:"error,omitempty"`
	ExitCode   *int        `json:"exitCode,omitempty"`
	RunID      string      `json:"runId"`
	FuelUsed   int64       `json:"fuelUsed,omitempty"`
}

// Workload names a run's workload kind.
type Workload struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// RunList is the body of GET tasks/{name}/runs.
type RunList struct {
	Runs []*Run `json:"runs"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func revText(r store.Revision) string { return strconv.FormatUint(uint64(r), 10) }

// parseRevision reads a resourceVersion; "" is 0 (none).
func parseRevision(field, s string) (store.Revision, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, badRequest("%s %q is not a resourceVersion this server wrote (a decimal number)", field, s)
	}
	return store.Revision(n), nil
}

// taskOf writes a stored task as the API's Task.
func taskOf(t *store.Task) *Task {
	spec := t.Spec
	if len(spec) == 0 {
		spec = json.RawMessage("{}")
	}
	return &Task{
		APIVersion: abi.BuiltinAPIVersion,
		Kind:       "Task",
		Metadata: TaskMeta{
			Name: t.Name, UID: t.UID, ResourceVersion: revText(t.ResourceVersion), Generation: t.Generation,
			CreationTimestamp: rfc3339(t.CreatedAt), Labels: t.Labels, Annotations: t.Annotations,
		},
		Spec: spec,
		Status: TaskStatus{
			ObservedGeneration: t.Status.ObservedGeneration, Phase: phaseOf(t.Status.Phase), Attempt: t.Status.Attempt,
			ExitCode: t.Status.ExitCode, Error: t.Status.Error, Conditions: []Condition{reconciled(t)},
		},
	}
}

func phaseOf(p store.Phase) store.Phase {
	if p == "" {
		return store.PhasePending
	}
	return p
}

// reconciled is the Reconciled condition: False with the pipeline's reason when the task
// failed before any attempt (RunnerNotFound, ...), Unknown while the current generation is
// not yet routed and started, True once it was, its reason the phase it is in.
func reconciled(t *store.Task) Condition {
	c := Condition{Type: "Reconciled", ObservedGeneration: t.Status.ObservedGeneration,
		LastTransitionTime: rfc3339(t.Status.UpdatedAt)}
	if c.LastTransitionTime == "" {
		c.LastTransitionTime = rfc3339(t.CreatedAt)
	}
	phase := phaseOf(t.Status.Phase)
	switch {
	case t.Status.Reason != "":
		c.Status, c.Reason, c.Message = "False", t.Status.Reason, t.Status.Error
	case t.Status.ObservedGeneration < t.Generation || phase == store.PhasePending:
		c.Status, c.Reason, c.Message = "Unknown", "Pending", "the current generation has not started"
	default:
		c.Status, c.Reason = "True", upperFirst(string(phase))
		c.Message = t.Status.Error
	}
	return c
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// runOf writes a stored run as the API's Run.
func runOf(r *store.Run) *Run {
	out := &Run{
		Workload:   Workload{APIVersion: r.WorkloadAPIVersion, Kind: r.WorkloadKind},
		Generation: r.Generation, Attempt: r.Attempt, Phase: phaseOf(r.Phase), StartedAt: rfc3339(r.StartedAt),
		Error: r.Error, ExitCode: r.ExitCode, RunID: r.RunID, FuelUsed: r.FuelUsed,
	}
	if r.FinishedAt != nil {
		out.FinishedAt = rfc3339(*r.FinishedAt)
	}
	return out
}
