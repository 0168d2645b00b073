package httpapi

import (
	"context"
	"encoding/json"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/store"
)

// Backend is what the API serves: the task pipeline of one host. *host.Host implements it;
// the handlers add only HTTP (decoding, authentication, errors as Status, streaming). Every
// call names the authenticated tenant, and the Backend checks each key's tenant, so another
// tenant's object is store.ErrNotFound (404), never visible.
type Backend interface {
	// CreateTask stores a new task. m is the parsed manifest (abi.ParseTask); spec is the
	// manifest's "spec" object verbatim (stored as store.Task.Spec). store.ErrExists if the
	// name is taken.
	CreateTask(ctx context.Context, tenant string, m *abi.Task, spec json.RawMessage) (*store.Task, error)
	// ApplyTask upserts a task: a changed spec bumps Generation and (re)starts the task;
	// created reports a new task. uid and rv are preconditions ("" and 0: none), else
	// store.ErrConflict.
	ApplyTask(ctx context.Context, tenant string, m *abi.Task, spec json.RawMessage, uid string, rv store.Revision) (t *store.Task, created bool, err error)
	// GetTask returns one task.
	GetTask(ctx context.Context, k store.Key) (*store.Task, error)
	// ListTasks returns a page of the tenant's tasks.
	ListTasks(ctx context.Context, tenant string, opt store.ListOptions) (*store.Page, error)
	// DeleteTask cancels a running attempt and removes the task and its runs; uid and rv are
	// preconditions as for ApplyTask.
	DeleteTask(ctx context.Context, k store.Key, uid string, rv store.Revision) error
	// TaskRuns returns the task's runs in Seq order.
	TaskRuns(ctx context.Context, k store.Key) ([]*store.Run, error)
	// WatchTasks streams the tenant's task events after revision from (0: from now) until ctx
	// ends; store.ErrExpired when that history is gone.
	WatchTasks(ctx context.Context, tenant string, from store.Revision) (<-chan store.Event, error)
	// TaskLogs streams the task's log events with Seq > after (replaying what the host still
	// buffers, then live) until ctx ends; the channel closes when the task is terminal and
	// everything was sent, or when ctx ends. A reader that falls behind gets a LogLagged event.
	TaskLogs(ctx context.Context, k store.Key, after uint64) (<-chan host.LogEvent, error)

	// Runners lists the tenant's own runners and the shared ones.
	Runners(ctx context.Context, tenant string) ([]host.RunnerInfo, error)
	// PushRunner validates wasm synchronously with hot reload's checks (smoke test included)
	// and only then writes it atomically as file (a base name ending .wasm) into the tenant's
	// directory; the error (a *runtime.LoadError, or one wrapping it) carries the rejection.
	PushRunner(ctx context.Context, tenant, file string, wasm []byte) (*host.RunnerInfo, error)
	// DeleteRunner removes the tenant's module file of that runner name (store.ErrNotFound).
	DeleteRunner(ctx context.Context, tenant, name string) error
	// Route is a dry run: each runner's verdict for spec, in routing order.
	Route(ctx context.Context, tenant string, spec *abi.TaskSpec) ([]host.RouteVerdict, error)
	// RunnerEvents streams the tenant's registry events until ctx ends.
	RunnerEvents(ctx context.Context, tenant string) (<-chan host.RunnerEvent, error)

	// Ready is nil once the store is open and the runners loaded (else host.ErrNotReady);
	// host.ErrDraining once shutdown began.
	Ready() error
}

// Authenticator maps a bearer token to a tenant name (a constant-time compare of hashes);
// *tenant.Set implements it.
type Authenticator interface {
	Authenticate(token string) (tenant string, ok bool)
}
