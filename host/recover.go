package host

import (
	"context"
	"fmt"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/store"
)

// recover resumes every unfinished task of the store, oldest first. A run a crash left
// running is recorded interrupted (finished now, "interrupted by host restart"); then, for a
// task whose last attempt of its generation was interrupted, the restart policy decides:
// never ends it failed (reason Interrupted), onFailure and always run it again unless its
// maxRetries are spent (exhausted). A task that goes on is queued: with a plan of its
// generation it resumes from it, without routing or building again; without one it is routed.
func (h *Host) recover(ctx context.Context) error {
	tasks, err := h.st.Unfinished(ctx)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tr := h.tenants[t.Tenant]
		if tr == nil {
			h.log.Warn("unfinished task of a tenant not configured: left as it is", "tenant", t.Tenant, "task", t.Name)
			continue
		}
		if err := h.recoverTask(ctx, tr, t); err != nil {
			return fmt.Errorf("task %s/%s: %w", t.Tenant, t.Name, err)
		}
	}
	return nil
}

func (h *Host) recoverTask(ctx context.Context, tr *tenantRT, t *store.Task) error {
	runs, err := h.st.ListRuns(ctx, t.Key)
	if err != nil {
		return err
	}
	now := h.now()
	var last *store.Run // the generation's last run
	fails := 0          // its trailing failed attempts
	for _, r := range runs {
		if r.Phase == store.PhaseRunning {
			r.Phase, r.Error, r.FinishedAt = store.PhaseInterrupted, errRestartInterrupted, &now
			if err := h.st.PutRun(ctx, r); err != nil {
				return err
			}
		}
		if r.Generation == t.Generation {
			last = r
			if failedPhase(r.Phase) {
				fails++
			} else {
				fails = 0
			}
		}
	}
	if last != nil && last.Phase == store.PhaseInterrupted {
		spec, err := taskSpec(t)
		if err == nil {
			var phase store.Phase
			switch {
			case spec.Restart.Type == abi.RestartNever:
				phase = store.PhaseFailed
			case spec.MaxRetries > 0 && fails > int(spec.MaxRetries):
				phase = store.PhaseExhausted
			}
			if phase != "" {
				_, err := h.updateTask(ctx, t.Key, t.UID, t.Generation, func(t *store.Task) {
					t.Status = store.TaskStatus{ObservedGeneration: t.Generation, Phase: phase, Attempt: last.Attempt,
						Error: last.Error, Reason: ReasonInterrupted, FinishedAt: now}
				})
				return err
			}
		}
	}
	tr.addQueued(1)
	h.logBuf(t.Key)
	if err := h.q.Push(ctx, store.Item{Key: t.Key, UID: t.UID, Generation: t.Generation}); err != nil {
		tr.addQueued(-1)
		return err
	}
	return nil
}
