package client

import (
	"encoding/json"
	"time"
)

// Task is solti's Task resource as the API returns it.
type Task struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	// Spec is the task's spec as it was written, verbatim.
	Spec   json.RawMessage `json:"spec"`
	Status TaskStatus      `json:"status"`
}

// ObjectMeta is a Task's metadata. ResourceVersion is opaque: compare it for equality only,
// or hand it back (a precondition, a watch's start).
type ObjectMeta struct {
	Name              string            `json:"name"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	Generation        uint64            `json:"generation,omitempty"`
	CreationTimestamp Time              `json:"creationTimestamp,omitzero"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

// TaskStatus is a Task's observed state.
type TaskStatus struct {
	ObservedGeneration uint64      `json:"observedGeneration"`
	Phase              string      `json:"phase"`
	Attempt            int         `json:"attempt"`
	ExitCode           *int        `json:"exitCode,omitempty"`
	Error              string      `json:"error,omitempty"`
	Conditions         []Condition `json:"conditions,omitempty"`
}

// Terminal reports whether the phase ends a task (solti's terminal phases).
func (s TaskStatus) Terminal() bool {
	switch s.Phase {
	case "succeeded", "failed", "timeout", "canceled", "exhausted":
		return true
	}
	return false
}

// Condition is one of a Task's status conditions (solti has "Reconciled").
type Condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	ObservedGeneration uint64 `json:"observedGeneration,omitempty"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
	LastTransitionTime Time   `json:"lastTransitionTime,omitzero"`
}

// TaskList is one page of a listing.
type TaskList struct {
	APIVersion string   `json:"apiVersion,omitempty"`
	Kind       string   `json:"kind"`
	Metadata   ListMeta `json:"metadata"`
	Items      []Task   `json:"items"`
}

// ListMeta is a listing's metadata: Continue, when set, fetches the next page.
type ListMeta struct {
	ResourceVersion    string `json:"resourceVersion,omitempty"`
	Continue           string `json:"continue,omitempty"`
	RemainingItemCount *int64 `json:"remainingItemCount,omitempty"`
}

// Run is one attempt of a task.
type Run struct {
	Workload   Workload `json:"workload"`
	Generation uint64   `json:"generation"`
	Attempt    int      `json:"attempt"`
	Phase      string   `json:"phase"`
	StartedAt  Time     `json:"startedAt,omitzero"`
	FinishedAt Time     `json:"finishedAt,omitzero"`
	Error      string   `json:"error,omitempty"`
	ExitCode   *int     `json:"exitCode,omitempty"`
	RunID      string   `json:"runId"`
	FuelUsed   int64    `json:"fuelUsed,omitempty"`
}

// Workload names a run's workload type.
type Workload struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// WatchEvent is one event of a task watch: ADDED, MODIFIED or DELETED, with the task (as it
// was last, for DELETED). A watch's ERROR event is returned by Next as a *StatusError.
type WatchEvent struct {
	Type string `json:"type"`
	Task *Task  `json:"object"`
}

// Runner describes a runner module the tenant can route to.
type Runner struct {
	Name string `json:"name"`
	// Scope is "tenant" for the tenant's own runners, "shared" for the shared directory's.
	Scope    string            `json:"scope"`
	File     string            `json:"file"`
	Digest   string            `json:"digest"`
	Kinds    []string          `json:"kinds"`
	Labels   map[string]string `json:"labels,omitempty"`
	LoadedAt time.Time         `json:"loadedAt"`
	// History lists the versions that served before this one, newest first.
	History []RunnerVersion `json:"history,omitempty"`
	Meters  RunnerMeters    `json:"meters"`
}

// RunnerVersion is one earlier version of a runner; Ended is swapped, rolledBack or removed.
type RunnerVersion struct {
	Digest   string    `json:"digest"`
	LoadedAt time.Time `json:"loadedAt"`
	Ended    string    `json:"ended"`
}

// RunnerMeters are a runner's counters since it was loaded.
type RunnerMeters struct {
	Calls    uint64 `json:"calls"`
	Faults   uint64 `json:"faults"`
	FuelUsed int64  `json:"fuelUsed"`
	Tasks    uint64 `json:"tasks"`
}

// RouteVerdict is one runner's answer to a dry-run route, in routing order.
type RouteVerdict struct {
	Runner  string `json:"runner"`
	Verdict string `json:"verdict"`
	Detail  string `json:"detail,omitempty"`
}

// RunnerEvent is one event of the tenant's registry feed: a module loaded, swapped,
// rejected, rolled back or removed.
type RunnerEvent struct {
	Type   string    `json:"type"`
	Runner string    `json:"runner,omitempty"`
	File   string    `json:"file"`
	Digest string    `json:"digest,omitempty"`
	Error  string    `json:"error,omitempty"`
	Time   time.Time `json:"time"`
}

// LogEvent is one event of a task's log stream. Seq orders a task's events from 1 (the SSE
// id); Type is run-started, chunk, run-finished or lagged.
type LogEvent struct {
	Seq  uint64
	Type string
	// Attempt and RunID name the run.
	Attempt int
	RunID   string
	// Stream (stdout, stderr, log), Line (decoded) and Truncated are a chunk's.
	Stream    string
	Line      string
	Truncated bool
	// Phase, ExitCode and Error are a finished run's.
	Phase    string
	ExitCode *int
	Error    string
	// Skipped is a lagged event's count of dropped events.
	Skipped uint64
	Time    time.Time
}

// The log event types.
const (
	LogRunStarted  = "run-started"
	LogChunk       = "chunk"
	LogRunFinished = "run-finished"
	LogLagged      = "lagged"
)

// Time is a time the API writes as an RFC 3339 string, "" (or absent) when there is none:
// the zero Time.
type Time struct{ time.Time }

// UnmarshalJSON reads an RFC 3339 string; "" and null are the zero Time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if s := string(b); s == `""` || s == "null" {
		t.Time = time.Time{}
		return nil
	}
	return t.Time.UnmarshalJSON(b)
}
