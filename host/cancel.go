package host

import (
	"context"
	"errors"
	"fmt"

	"github.com/solti-wasm/solti-wasm/store"
)

// errCanceled is the cause of a CancelTask given none.
var errCanceled = errors.New("task canceled")

// cancelReq is a CancelTask of one task generation.
type cancelReq struct {
	uid   string
	gen   uint64
	cause error
}

// CancelTask ends the task's current generation canceled, with cause as its error (nil: "task
// canceled"): a running attempt is stopped, its run recorded canceled, and the task ends
// canceled; a generation queued or being built never starts. It waits, bounded by ctx, for a
// running attempt to stop. uid is a precondition ("": none, else store.ErrConflict); a
// terminal task is left as it is. Unlike DeleteTask, the task and its runs stay.
func (h *Host) CancelTask(ctx context.Context, k store.Key, uid string, cause error) error {
	if _, err := h.tenant(k.Tenant); err != nil {
		return err
	}
	t, err := h.st.GetTask(ctx, k)
	if err != nil {
		return err
	}
	if uid != "" && t.UID != uid {
		return fmt.Errorf("task %s/%s: %w: uid precondition failed", k.Tenant, k.Name, store.ErrConflict)
	}
	if t.Status.ObservedGeneration == t.Generation && t.Status.Phase.Terminal() {
		return nil
	}
	if cause == nil {
		cause = errCanceled
	}
	c := &cancelReq{uid: t.UID, gen: t.Generation, cause: cause}
	h.mu.Lock()
	h.cancels[k] = c
	a := h.active[k]
	h.mu.Unlock()
	if a != nil && a.uid == t.UID && a.gen == t.Generation {
		a.cancel(cause) // the recorder ends the task canceled
		select {
		case <-a.done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		return nil
	}
	// Not running: queued (the worker drops a terminal generation) or being built (start
	// finds the request before it submits).
	h.endCanceled(t, c)
	return nil
}

// cancelRequested returns the CancelTask request of t's generation, if any.
func (h *Host) cancelRequested(t *store.Task) *cancelReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.cancels[t.Key]; c != nil && c.uid == t.UID && c.gen == t.Generation {
		return c
	}
	return nil
}

// forgetCancel drops the task's request of uid (gen 0: any generation).
func (h *Host) forgetCancel(k store.Key, uid string, gen uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.cancels[k]; c != nil && c.uid == uid && (gen == 0 || c.gen == gen) {
		delete(h.cancels, k)
	}
}

// endCanceled records the end of a generation canceled before any attempt of it ran.
func (h *Host) endCanceled(t *store.Task, c *cancelReq) {
	now := h.now()
	msg := c.cause.Error()
	_, err := h.updateTask(store.Background(context.Background()), t.Key, c.uid, c.gen, func(t *store.Task) {
		if t.Status.ObservedGeneration == c.gen && t.Status.Phase.Terminal() {
			return
		}
		t.Status = store.TaskStatus{ObservedGeneration: c.gen, Phase: store.PhaseCanceled, Attempt: t.Status.Attempt, Error: msg, FinishedAt: now}
	})
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		h.log.Warn("recording a task's cancellation", "tenant", t.Tenant, "task", t.Name, "err", err)
	}
	h.logBuf(t.Key).finish(LogEvent{Type: LogRunFinished, Phase: string(store.PhaseCanceled), Outcome: "canceled", Error: msg, Time: now}, c.cause)
}

// TaskError returns the error value that ended the task's current generation, for
// errors.Is and errors.As where the stored status keeps only its text: the routing or build
// failure (a *router.NoRunnerError with each runner's fault), the policy's refusal (an
// *executor.PolicyError), the last attempt's error, or the cause given to CancelTask. It is
// nil while the task runs, when it succeeded, and once the host no longer holds the task's
// logs (after a restart, a delete or the retention).
func (h *Host) TaskError(k store.Key) error {
	h.mu.Lock()
	lb := h.logs[k]
	h.mu.Unlock()
	if lb == nil {
		return nil
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if !lb.closed {
		return nil
	}
	return lb.err
}
