// Package store is the seam between the task pipeline (package host) and where its state
// lives: the tasks a tenant submitted, the runs of each, the run-id sequence, and the
// ordered feed of changes that watches read.
//
// Two backends ship with this module: memstore (in memory, what the one-shot run command
// uses) and boltstore (bbolt, one file, the serve command's default). The interfaces are
// shaped so that a NATS JetStream backend can implement them without a second reading of
// the pipeline: a Revision is a stream sequence, a conditional write is a KV update at a
// revision, Watch is an ordered consumer from a start sequence, and Queue is a work-queue
// stream with explicit acks. storetest holds the behaviour every backend must show.
//
// Every method is safe for concurrent use. Records returned to callers are copies: a
// caller may keep and modify them.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors every backend returns, for errors.Is.
var (
	// ErrNotFound: no task of that tenant and name (or uid).
	ErrNotFound = errors.New("not found")
	// ErrExists: a create found a task of that tenant and name.
	ErrExists = errors.New("already exists")
	// ErrConflict: a conditional write's expected uid or revision did not match.
	ErrConflict = errors.New("conflict")
	// ErrExpired: a watch or list continuation asked for a revision older than the backend
	// still holds (HTTP 410 Gone).
	ErrExpired = errors.New("revision expired")
	// ErrClosed: the store or queue was closed.
	ErrClosed = errors.New("store closed")
)

// Revision orders every change a store commits: each write of a task gets the next one,
// store-wide (a task's resourceVersion is the revision of its last write). It starts at 1
// and never repeats, across restarts too.
type Revision uint64

// Key names a task: tasks are per tenant, and a tenant's names are unique.
type Key struct {
	Tenant string `json:"tenant"`
	Name   string `json:"name"`
}

// Phase is a task's or a run's lifecycle phase, solti's names.
type Phase string

// The phases. A task is Pending until its first attempt starts, Running while one runs,
// and ends in one of the terminal phases.
const (
	PhasePending   Phase = "pending"
	PhaseRunning   Phase = "running"
	PhaseSucceeded Phase = "succeeded"
	PhaseFailed    Phase = "failed"
	PhaseTimeout   Phase = "timeout"
	PhaseCanceled  Phase = "canceled"
	PhaseExhausted Phase = "exhausted"
	// PhaseInterrupted ends a run that the host's crash or stop cut short (never a task's).
	PhaseInterrupted Phase = "interrupted"
)

// Terminal reports whether p ends a task.
func (p Phase) Terminal() bool {
	switch p {
	case PhaseSucceeded, PhaseFailed, PhaseTimeout, PhaseCanceled, PhaseExhausted:
		return true
	}
	return false
}

// Task is one submitted task: solti's Task resource as the host keeps it.
type Task struct {
	Key
	// UID is unique per creation: a task deleted and created again has a new one.
	UID string `json:"uid"`
	// ResourceVersion is the revision of this record's last write; set by the store.
	ResourceVersion Revision `json:"resourceVersion"`
	// Generation rises by one with each change of Spec (not of metadata or status).
	Generation uint64    `json:"generation"`
	CreatedAt  time.Time `json:"createdAt"`
	// Labels and Annotations are the manifest's metadata.
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Spec is the task's spec as the client gave it (validated, the current generation's
	// form), kept verbatim so that reads return what was written.
	Spec json.RawMessage `json:"spec"`
	// Status is the pipeline's view of the task.
	Status TaskStatus `json:"status"`
	// Plan is the plan the task's current generation was built into, once it was: a
	// restarted host resumes the task from it, without routing or building again.
	Plan *PlanRecord `json:"plan,omitempty"`
	// DeletionRequested marks a task whose delete waits for its running attempt to stop.
	DeletionRequested bool `json:"deletionRequested,omitempty"`
}

// TaskStatus is a task's observed state.
type TaskStatus struct {
	ObservedGeneration uint64 `json:"observedGeneration"`
	Phase              Phase  `json:"phase"`
	// Attempt is the number of the current or last attempt of ObservedGeneration.
	Attempt  int    `json:"attempt"`
	ExitCode *int   `json:"exitCode,omitempty"`
	Error    string `json:"error,omitempty"`
	// Reason is a machine-readable cause of a failure before any attempt: RunnerNotFound,
	// RunnerBuildFailed, PolicyDenied, ...
	Reason string `json:"reason,omitempty"`
	// UpdatedAt is when the status last changed.
	UpdatedAt time.Time `json:"updatedAt"`
	// FinishedAt is when the task reached a terminal phase; retention counts from it.
	FinishedAt time.Time `json:"finishedAt,omitempty"`
}

// PlanRecord is a built plan, persisted before its first attempt.
type PlanRecord struct {
	Generation uint64 `json:"generation"`
	// RunID is {runner}-{slot}-{seq}, seq from the store's run-id sequence.
	RunID  string `json:"runId"`
	Runner string `json:"runner"`
	// Module is the runner's module digest (sha256:...), for the record.
	Module string `json:"module"`
	// Plan is the runner's abi.Plan, as JSON.
	Plan json.RawMessage `json:"plan"`
	// Env is the merged env the runner built with (abi.Env as JSON).
	Env json.RawMessage `json:"env,omitempty"`
}

// Run is one attempt of a task.
type Run struct {
	Tenant  string `json:"tenant"`
	Task    string `json:"task"`
	TaskUID string `json:"taskUid"`
	// Seq numbers the task's runs from 1, across generations: the key of a run in its task.
	Seq        uint64 `json:"seq"`
	Generation uint64 `json:"generation"`
	Attempt    int    `json:"attempt"`
	RunID      string `json:"runId"`
	// Workload is the task's workload apiVersion and kind.
	WorkloadAPIVersion string     `json:"workloadApiVersion"`
	WorkloadKind       string     `json:"workloadKind"`
	Phase              Phase      `json:"phase"`
	StartedAt          time.Time  `json:"startedAt"`
	FinishedAt         *time.Time `json:"finishedAt,omitempty"`
	ExitCode           *int       `json:"exitCode,omitempty"`
	Error              string     `json:"error,omitempty"`
	// OutputTail is the last bytes of the attempt's output, bounded by the tenant's limit.
	OutputTail []byte `json:"outputTail,omitempty"`
	// FuelUsed is the guest fuel the attempt consumed (0 for exec plans).
	FuelUsed int64 `json:"fuelUsed,omitempty"`
}

// EventType says what an Event did to its task.
type EventType string

// The event types, Kubernetes watch's names.
const (
	EventAdded    EventType = "ADDED"
	EventModified EventType = "MODIFIED"
	EventDeleted  EventType = "DELETED"
)

// Event is one committed change of a task, in revision order. A Deleted event carries the
// task as it was last, with the delete's revision as its ResourceVersion (as Kubernetes
// does, so that a watch resumed from it does not replay the delete): Task.ResourceVersion
// is Revision in every event.
type Event struct {
	Type     EventType `json:"type"`
	Revision Revision  `json:"revision"`
	Task     *Task     `json:"task"`
}

// ListOptions select and page a tenant's tasks, in name order.
type ListOptions struct {
	// Slot and Phases filter (empty: any).
	Slot   string
	Phases []Phase
	// Match filters by labels; nil: any.
	Match func(labels map[string]string) bool
	// Limit bounds the page; 0: no bound.
	Limit int
	// After continues a listing after this name (from Page.Next).
	After string
	// AtRevision is the revision the listing began at, carried by a continuation: a backend
	// that no longer holds history back to it returns ErrExpired.
	AtRevision Revision
}

// Page is one page of a listing.
type Page struct {
	Tasks []*Task
	// Revision is the store's revision when the listing began (for the next page's
	// AtRevision and for a watch that follows the list).
	Revision Revision
	// Next is the name to continue after; "" when this is the last page.
	Next string
	// Remaining counts the matching tasks after this page, when the backend knows it (-1).
	Remaining int
}

// Retention bounds what a store keeps of finished work (solti's defaults in DefaultRetention).
type Retention struct {
	// Tasks is how long a terminal task is kept after it finished.
	Tasks time.Duration
	// Runs is how long a finished run is kept after it finished.
	Runs time.Duration
	// RunsPerTask bounds a task's runs; the oldest finished ones go first.
	RunsPerTask int
}

// DefaultRetention is solti's: terminal tasks and runs for an hour, 256 runs per task.
var DefaultRetention = Retention{Tasks: time.Hour, Runs: time.Hour, RunsPerTask: 256}

// Store keeps tasks, runs, the run-id sequence and the change feed.
type Store interface {
	// CreateTask stores a new task (ErrExists when its key is taken) and returns it as
	// stored, with its ResourceVersion. It returns only once the write is durable. An empty
	// UID gets a new random one (NewUID), a zero Generation 1, a zero CreatedAt the time now.
	CreateTask(ctx context.Context, t *Task) (*Task, error)
	// UpdateTask replaces a task if its stored ResourceVersion is want (0: any), else
	// ErrConflict; ErrNotFound when absent. Durable on return.
	UpdateTask(ctx context.Context, t *Task, want Revision) (*Task, error)
	// UpdateTaskWithRun is UpdateTask that also stores r (as PutRun does) in the same
	// commit: a transition's run record and the task's status are durable together, and a
	// refused update stores neither. r must be a run of t's task (CheckRunOf). A backend
	// that cannot commit two records at once writes r first: a run with no status to match
	// is what recovery reads as an interrupted attempt, while a status naming an attempt
	// that has no run would lose it.
	UpdateTaskWithRun(ctx context.Context, t *Task, want Revision, r *Run) (*Task, error)
	// DeleteTask removes a task and its runs if its uid and revision match (empty uid, 0
	// revision: any), else ErrConflict; ErrNotFound when absent. Durable on return. It
	// returns the task as the Deleted event carries it.
	DeleteTask(ctx context.Context, k Key, uid string, want Revision) (*Task, error)
	// GetTask returns one task.
	GetTask(ctx context.Context, k Key) (*Task, error)
	// ListTasks returns a page of a tenant's tasks.
	ListTasks(ctx context.Context, tenant string, opt ListOptions) (*Page, error)
	// Unfinished returns every task, of every tenant, that is not in a terminal phase: what
	// a restarted host resumes, oldest first (SortOldestFirst).
	Unfinished(ctx context.Context) ([]*Task, error)

	// PutRun stores a run, replacing the one of the same task uid and Seq. Runs of a task
	// that no longer exists (or exists with another uid) are dropped: nil error, nothing
	// stored.
	PutRun(ctx context.Context, r *Run) error
	// ListRuns returns a task's runs in Seq order (ErrNotFound when there is no task).
	ListRuns(ctx context.Context, k Key) ([]*Run, error)

	// NextRunSeq returns the next number of the store-wide run-id sequence: never 0, never
	// repeated, across restarts too (numbers may be skipped).
	NextRunSeq(ctx context.Context) (uint64, error)

	// Watch streams a tenant's events after revision from (0: from now), in revision order,
	// until ctx ends or the store closes (the channel is then closed). ErrExpired when the
	// backend no longer holds the events after from. A watcher that does not keep up is
	// ended (its channel closed) rather than allowed to hold the store.
	Watch(ctx context.Context, tenant string, from Revision) (<-chan Event, error)
	// Revision is the store's latest committed revision.
	Revision() Revision

	// Sweep removes terminal tasks and finished runs past r (Retention.TaskDue, RunsDue),
	// and returns how many records went (a swept task's runs count). Each swept task is a
	// Deleted event. A backend whose storage does not shrink by itself compacts here as needed.
	Sweep(ctx context.Context, now time.Time, r Retention) (int, error)

	// Close flushes and closes the store.
	Close() error
}

type backgroundKey struct{}

// Background marks the writes made with the returned context as background work: records
// no client waits on (a task's plan, runs and status as the pipeline advances). A backend
// that groups commits may hold them briefly so that they share a commit with the next
// client write instead of paying for one of their own (boltstore: Options.Linger; a
// JetStream backend: an async publish acknowledged with the next flush). They are durable
// when the call returns, as every write is.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// IsBackground reports whether ctx was made by Background.
func IsBackground(ctx context.Context) bool {
	v, _ := ctx.Value(backgroundKey{}).(bool)
	return v
}

// Item is a task generation ready to run.
type Item struct {
	Key
	UID        string `json:"uid"`
	Generation uint64 `json:"generation"`
}

// Queue is the run queue between intake and the workers that route, build and run tasks.
// Delivery is at least once: an item popped and not acked comes back (after a crash, or
// when nacked). The in-process queue (memstore.Queue) is rebuilt from Store.Unfinished at
// start; a JetStream backend keeps it in a work-queue stream.
type Queue interface {
	// Push adds an item; it may block while the queue is full, until ctx ends.
	Push(ctx context.Context, it Item) error
	// Pop waits for an item until ctx ends or the queue closes (ErrClosed).
	Pop(ctx context.Context) (Delivery, error)
	// Len is how many items wait.
	Len() int
	Close() error
}

// Delivery is a popped item, to be acknowledged once its work is recorded.
type Delivery interface {
	Item() Item
	// Ack removes the item for good.
	Ack(ctx context.Context) error
	// Nak returns the item to the queue, to be delivered again after delay.
	Nak(ctx context.Context, delay time.Duration) error
}
