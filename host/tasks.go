package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/store"
)

// CreateTask stores a new task of tenant from its parsed manifest m and its spec as given
// (kept verbatim), and queues it: store.ErrExists when the name is taken, a *QuotaError
// over the tenant's create rate or queued-task limit, ErrDraining while stopping.
func (h *Host) CreateTask(ctx context.Context, tenant string, m *abi.Task, spec json.RawMessage) (*store.Task, error) {
	tr, err := h.admit(ctx, tenant, m, spec)
	if err != nil {
		return nil, err
	}
	t, err := h.st.CreateTask(ctx, &store.Task{
		Key: store.Key{Tenant: tenant, Name: m.Metadata.Name}, Generation: 1, CreatedAt: h.now(),
		Labels: maps.Clone(m.Metadata.Labels), Annotations: maps.Clone(m.Metadata.Annotations),
		Spec: bytes.Clone(spec), Status: store.TaskStatus{Phase: store.PhasePending, UpdatedAt: h.now()},
	})
	if err != nil {
		return nil, err
	}
	return h.enqueue(ctx, tr, t)
}

// ApplyTask creates or updates the task named by m (an upsert): a changed spec is a new
// generation, which cancels the running one and is routed again (the latest generation
// wins); metadata alone keeps the generation. uid and rv, when set, must match the stored
// task (store.ErrConflict). created reports a new task.
func (h *Host) ApplyTask(ctx context.Context, tenant string, m *abi.Task, spec json.RawMessage, uid string, rv store.Revision) (*store.Task, bool, error) {
	if err := h.intake(); err != nil {
		return nil, false, err
	}
	tr, err := h.tenant(tenant)
	if err != nil {
		return nil, false, err
	}
	k := store.Key{Tenant: tenant, Name: m.Metadata.Name}
	for {
		old, err := h.st.GetTask(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			if uid != "" || rv != 0 {
				return nil, false, err
			}
			t, err := h.CreateTask(ctx, tenant, m, spec)
			if errors.Is(err, store.ErrExists) {
				continue // created meanwhile: apply over it
			}
			return t, err == nil, err
		}
		if err != nil {
			return nil, false, err
		}
		if (uid != "" && old.UID != uid) || (rv != 0 && old.ResourceVersion != rv) {
			return nil, false, fmt.Errorf("task %s/%s: %w: uid or resourceVersion precondition failed", tenant, k.Name, store.ErrConflict)
		}
		changed := !sameJSON(old.Spec, spec)
		if changed {
			if _, err := h.admit(ctx, tenant, m, spec); err != nil {
				return nil, false, err
			}
		}
		if !changed && maps.Equal(old.Labels, m.Metadata.Labels) && maps.Equal(old.Annotations, m.Metadata.Annotations) {
			return old, false, nil // a no-op apply writes nothing: no commit, no new resourceVersion
		}
		t := *old
		t.Labels, t.Annotations = maps.Clone(m.Metadata.Labels), maps.Clone(m.Metadata.Annotations)
		if changed {
			t.Spec, t.Generation, t.Plan = bytes.Clone(spec), old.Generation+1, nil
			t.Status = store.TaskStatus{ObservedGeneration: old.Status.ObservedGeneration, Phase: store.PhasePending, UpdatedAt: h.now()}
		}
		nt, err := h.st.UpdateTask(ctx, &t, old.ResourceVersion)
		if errors.Is(err, store.ErrConflict) && rv == 0 {
			continue // raced another writer (the pipeline's status): apply again
		}
		if err != nil {
			return nil, false, err
		}
		if !changed {
			return nt, false, nil
		}
		h.cancelActive(k, old.UID, errSuperseded)
		nt, err = h.enqueue(ctx, tr, nt)
		return nt, false, err
	}
}

// sameJSON reports whether two specs are the same JSON value, however spelled.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// admittedKey marks a context whose create AdmitCreate already charged, by tenant.
type admittedKey struct{}

// AdmitCreate charges one create to the tenant's limits (intake, queued tasks, create
// rate) before the request's body is read: a flood past the limits is then refused for the
// price of its headers, not of a strict decode, which keeps a flooding tenant's refusals
// from taking the CPU another tenant's creates need. The context it returns carries the
// admission, so that CreateTask does not charge the create again. httpapi calls it when the
// Backend has it.
func (h *Host) AdmitCreate(ctx context.Context, tenant string) (context.Context, error) {
	if _, err := h.charge(tenant); err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, admittedKey{}, tenant), nil
}

// admit checks a create's manifest and, unless AdmitCreate did, charges its tenant's
// limits.
func (h *Host) admit(ctx context.Context, tenant string, m *abi.Task, spec json.RawMessage) (*tenantRT, error) {
	if err := h.intake(); err != nil {
		return nil, err
	}
	if m == nil || m.Metadata.Name == "" {
		return nil, fmt.Errorf("task of tenant %q: %w: no metadata.name", tenant, store.ErrInvalid)
	}
	if !json.Valid(spec) {
		return nil, fmt.Errorf("task %s/%s: %w: spec is not JSON", tenant, m.Metadata.Name, store.ErrInvalid)
	}
	if t, ok := ctx.Value(admittedKey{}).(string); ok && t == tenant {
		return h.tenant(tenant)
	}
	return h.charge(tenant)
}

// charge checks intake and the tenant's queued-task limit and takes one create from its
// rate.
func (h *Host) charge(tenant string) (*tenantRT, error) {
	if err := h.intake(); err != nil {
		return nil, err
	}
	tr, err := h.tenant(tenant)
	if err != nil {
		return nil, err
	}
	tr.mu.Lock()
	queued := tr.queued
	tr.mu.Unlock()
	if queued >= tr.limits.MaxQueued {
		return nil, &QuotaError{Tenant: tenant, Limit: "queuedTasks", RetryAfter: time.Second,
			Detail: fmt.Sprintf("%d tasks wait to run, the limit is %d", queued, tr.limits.MaxQueued)}
	}
	now := time.Now()
	r := tr.limiter.ReserveN(now, 1)
	if !r.OK() {
		return nil, &QuotaError{Tenant: tenant, Limit: "createRate", Detail: "burst is 0"}
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return nil, &QuotaError{Tenant: tenant, Limit: "createRate", RetryAfter: d,
			Detail: fmt.Sprintf("%g creates per second, bursts of %d", tr.limits.CreateRate, tr.limits.CreateBurst)}
	}
	return tr, nil
}

// enqueue queues a task's current generation; when the queue refuses, the task ends
// failed (QueueFull) rather than wait unqueued.
func (h *Host) enqueue(ctx context.Context, tr *tenantRT, t *store.Task) (*store.Task, error) {
	tr.addQueued(1)
	h.logBuf(t.Key) // its readers may come before its first event
	err := h.q.Push(ctx, store.Item{Key: t.Key, UID: t.UID, Generation: t.Generation})
	if err == nil {
		return t, nil
	}
	tr.addQueued(-1)
	msg := "the run queue refused the task: " + err.Error()
	nt, uerr := h.updateTask(context.Background(), t.Key, t.UID, t.Generation, func(t *store.Task) {
		t.Status = store.TaskStatus{ObservedGeneration: t.Generation, Phase: store.PhaseFailed, Error: msg, Reason: ReasonQueueFull, FinishedAt: h.now()}
	})
	if uerr != nil {
		return t, fmt.Errorf("task %s/%s: queueing: %w", t.Tenant, t.Name, err)
	}
	return nt, fmt.Errorf("task %s/%s: queueing: %w", t.Tenant, t.Name, err)
}

// cancelActive cancels the task's running generation, if any, with cause.
func (h *Host) cancelActive(k store.Key, uid string, cause error) *active {
	h.mu.Lock()
	a := h.active[k]
	h.mu.Unlock()
	if a != nil && a.uid == uid {
		a.cancel(cause)
		return a
	}
	return nil
}

// GetTask returns one task (store.ErrNotFound for another tenant's: keys carry the tenant).
func (h *Host) GetTask(ctx context.Context, k store.Key) (*store.Task, error) {
	if _, err := h.tenant(k.Tenant); err != nil {
		return nil, err
	}
	return h.st.GetTask(ctx, k)
}

// ListTasks returns a page of the tenant's tasks.
func (h *Host) ListTasks(ctx context.Context, tenant string, opt store.ListOptions) (*store.Page, error) {
	if _, err := h.tenant(tenant); err != nil {
		return nil, err
	}
	return h.st.ListTasks(ctx, tenant, opt)
}

// DeleteTask cancels the task's running attempt (waiting for it to stop, bounded by ctx),
// then removes the task and its runs; uid and rv are preconditions.
func (h *Host) DeleteTask(ctx context.Context, k store.Key, uid string, rv store.Revision) error {
	if _, err := h.tenant(k.Tenant); err != nil {
		return err
	}
	t, err := h.st.GetTask(ctx, k)
	if err != nil {
		return err
	}
	if (uid != "" && t.UID != uid) || (rv != 0 && t.ResourceVersion != rv) {
		return fmt.Errorf("task %s/%s: %w: uid or resourceVersion precondition failed", k.Tenant, k.Name, store.ErrConflict)
	}
	if a := h.cancelActive(k, t.UID, errDeleted); a != nil {
		select {
		case <-a.done:
		case <-ctx.Done():
		}
	}
	if uid == "" {
		uid = t.UID // the task we canceled, not one created again meanwhile
	}
	if _, err := h.st.DeleteTask(ctx, k, uid, rv); err != nil {
		if rv != 0 && errors.Is(err, store.ErrConflict) { // the canceled run's records moved it on
			_, err = h.st.DeleteTask(ctx, k, uid, 0)
		}
		if err != nil {
			return err
		}
	}
	h.dropLogs(k)
	h.forgetCancel(k, uid, 0)
	return nil
}

// TaskRuns returns the task's runs in order.
func (h *Host) TaskRuns(ctx context.Context, k store.Key) ([]*store.Run, error) {
	if _, err := h.tenant(k.Tenant); err != nil {
		return nil, err
	}
	return h.st.ListRuns(ctx, k)
}

// WatchTasks streams the tenant's task events after revision from (0: from now).
func (h *Host) WatchTasks(ctx context.Context, tenant string, from store.Revision) (<-chan store.Event, error) {
	if _, err := h.tenant(tenant); err != nil {
		return nil, err
	}
	return h.st.Watch(ctx, tenant, from)
}

// TaskLogs streams the task's log events with Seq > after: what the host still holds, then
// live, until the task is terminal and all was sent, or ctx ends. A reader that falls behind
// gets a LogLagged event for the events it missed; the task never waits for a reader. A
// task this host never ran (finished before a restart) has no events: the channel closes.
func (h *Host) TaskLogs(ctx context.Context, k store.Key, after uint64) (<-chan LogEvent, error) {
	if _, err := h.tenant(k.Tenant); err != nil {
		return nil, err
	}
	t, err := h.st.GetTask(ctx, k)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	lb := h.logs[k]
	h.mu.Unlock()
	out := make(chan LogEvent, 16)
	if lb == nil {
		if !t.Status.Phase.Terminal() {
			lb = h.logBuf(k)
		} else {
			close(out)
			return out, nil
		}
	}
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		lb.stream(ctx, after, out, h.quit)
	}()
	return out, nil
}
