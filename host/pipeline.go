package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/executor"
	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

// The Reason of a task that failed before any attempt, or of a resumed one.
const (
	ReasonInvalidSpec       = "InvalidSpec"
	ReasonRunnerNotFound    = "RunnerNotFound"
	ReasonRunnerBuildFailed = "RunnerBuildFailed"
	ReasonPolicyDenied      = "PolicyDenied"
	ReasonPlanNotExecutable = "PlanNotExecutable"
	ReasonSlotBusy          = "SlotBusy"
	ReasonInterrupted       = "Interrupted"
	ReasonQueueFull         = "QueueFull"
)

// Causes of a run's cancellation by the host.
var (
	errSuperseded = errors.New("superseded by a newer generation of the task")
	errDeleted    = errors.New("task deleted")
)

// active is a task generation under a supervisor.
type active struct {
	uid    string
	gen    uint64
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// process takes one delivery: it drops stale ones, waits for a running slot of the tenant
// (parking the delivery rather than holding the worker), then starts it.
func (h *Host) process(d store.Delivery) {
	it := d.Item()
	tr := h.tenants[it.Tenant]
	if tr == nil { // a tenant removed from the config: its tasks wait for it
		h.log.Warn("task of an unknown tenant left queued", "tenant", it.Tenant, "task", it.Name)
		_ = d.Ack(h.workCtx)
		return
	}
	t := h.current(d, it)
	if t == nil {
		tr.addQueued(-1)
		return
	}
	h.mu.Lock()
	a := h.active[it.Key]
	h.mu.Unlock()
	if a != nil {
		if a.uid == it.UID && a.gen == it.Generation { // a duplicate delivery of what runs
			tr.addQueued(-1)
			_ = d.Ack(h.workCtx)
			return
		}
		select { // an older generation, canceled: its slot frees soon
		case <-a.done:
		case <-h.workCtx.Done():
			return
		}
		t = nil // read before the older generation's last records: start reads it again
	}
	// The delivery counts as queued (Limits.MaxQueued) until it has a running slot.
	run := func(t *store.Task) {
		tr.addQueued(-1)
		if h.workCtx.Err() != nil { // parked until the host stopped: the next start resumes it
			h.releaseSlot(tr)
			return
		}
		h.start(tr, d, it, t)
	}
	// A slot free now starts the task as current just read it; a parked delivery reads it
	// again when its slot comes.
	if tr.acquire(func() { run(nil) }) {
		run(t)
	}
}

// current returns the delivery's task if its generation still wants to run, else acks it
// and returns nil.
func (h *Host) current(d store.Delivery, it store.Item) *store.Task {
	t, err := h.st.GetTask(h.workCtx, it.Key)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		if h.workCtx.Err() == nil {
			h.log.Warn("reading a queued task", "tenant", it.Tenant, "task", it.Name, "err", err)
			h.tenants[it.Tenant].addQueued(1) // counted again as it comes back
			_ = d.Nak(h.workCtx, time.Second)
		}
		return nil
	case t.UID == it.UID && t.Generation == it.Generation && !t.DeletionRequested &&
		!(t.Status.ObservedGeneration == it.Generation && t.Status.Phase.Terminal()):
		return t
	default:
		h.forgetCancel(t.Key, t.UID, it.Generation)
	}
	_ = d.Ack(h.workCtx)
	return nil
}

// start builds (or resumes from its plan) and submits one task generation; it holds one of
// the tenant's running slots, which it frees on every path. t is the task as current read
// it just before (nil: read it here).
func (h *Host) start(tr *tenantRT, d store.Delivery, it store.Item, t *store.Task) {
	ctx := h.workCtx
	owned := true // the slot is ours until a finisher takes it
	defer func() {
		if owned {
			h.releaseSlot(tr)
		}
	}()
	var err error
	if t == nil {
		t, err = h.st.GetTask(ctx, it.Key)
	}
	if err != nil || t.UID != it.UID || t.Generation != it.Generation || t.DeletionRequested {
		if ctx.Err() == nil {
			_ = d.Ack(ctx)
		}
		return
	}
	spec, err := taskSpec(t)
	if err != nil {
		h.failEarly(d, t, ReasonInvalidSpec, err)
		return
	}
	var built *router.Built
	if t.Plan != nil && t.Plan.Generation == t.Generation {
		if built, err = tr.fromPlan(t.Plan); err != nil {
			h.failEarly(d, t, ReasonRunnerNotFound, err)
			return
		}
	} else {
		req, err := router.NewRequest(spec)
		if err != nil {
			h.failEarly(d, t, ReasonInvalidSpec, err)
			return
		}
		built, err = tr.build(ctx, req)
		if ctx.Err() != nil {
			return // stopping: the next start routes it again
		}
		var nr *router.NoRunnerError
		switch {
		case errors.As(err, &nr):
			h.failEarly(d, t, ReasonRunnerNotFound, err)
			return
		case err != nil:
			h.failEarly(d, t, ReasonRunnerBuildFailed, err)
			return
		}
		if t, err = h.savePlan(ctx, t, built); err != nil {
			if ctx.Err() == nil {
				_ = d.Ack(ctx) // stale (changed or deleted meanwhile) or the store failed: logged
			}
			return
		}
	}
	tr.meters.task(built.Runner.Name())
	if err := tr.exe.Check(built.Plan); err != nil {
		h.failEarly(d, t, ReasonPolicyDenied, err)
		return
	}
	runs, err := h.st.ListRuns(ctx, t.Key)
	if err != nil {
		if ctx.Err() == nil {
			tr.addQueued(1)
			_ = d.Nak(ctx, time.Second)
		}
		return
	}
	rec := h.newRecorder(tr, t, spec, built, runs)
	if built.Plan.Guest != nil {
		if g, ok := built.Runner.(guestRunner); ok {
			built = &router.Built{RunID: built.RunID, Plan: built.Plan, Env: built.Env, Runner: &fuelRunner{guestRunner: g, onFuel: rec.addFuel}}
		}
	}
	task, rtype, err := tr.exe.Task(built)
	if err != nil {
		h.failEarly(d, t, ReasonPlanNotExecutable, err)
		return
	}
	offset := rec.offset
	job := supervisor.Job{
		RunID: built.RunID.ID, Spec: rec.resumeSpec(spec), RunnerType: rtype,
		Task: supervisor.TaskFunc(func(ctx context.Context, a supervisor.Attempt, out supervisor.Sink) (supervisor.Result, error) {
			a.Number += offset // attempts number on across restarts of the host
			return task.Execute(ctx, a, out)
		}),
		OnStatus: rec.status, OnLine: rec.line,
	}
	runCtx, cancel := context.WithCancelCause(h.runCtx)
	a := &active{uid: t.UID, gen: t.Generation, cancel: cancel, done: make(chan struct{})}
	h.mu.Lock()
	c := h.cancels[t.Key]
	if c != nil && c.uid == t.UID && c.gen == t.Generation { // canceled while it was built
		h.mu.Unlock()
		cancel(nil)
		h.endCanceled(t, c)
		_ = d.Ack(ctx)
		return
	}
	h.active[t.Key] = a
	h.mu.Unlock()
	h.finishers.Add(1)
	hd, err := tr.sup.Submit(runCtx, job)
	if err != nil {
		h.endActive(t.Key, a)
		h.finishers.Done()
		switch {
		case errors.Is(err, supervisor.ErrSlotBusy):
			h.failEarly(d, t, ReasonSlotBusy, fmt.Errorf("slot %s: %w (admission dropIfRunning)", spec.Slot, err))
		case errors.Is(err, supervisor.ErrQueueFull):
			tr.addQueued(1)
			_ = d.Nak(ctx, 100*time.Millisecond)
		}
		return
	}
	owned = false
	go func() {
		defer h.finishers.Done()
		<-hd.Done()
		rec.finish(hd.Status(), context.Cause(runCtx))
		h.endActive(t.Key, a)
		if !h.stopping.Load() {
			_ = d.Ack(context.Background())
		}
		h.releaseSlot(tr)
	}()
}

// releaseSlot frees a running slot, starting the tenant's oldest parked delivery in it.
func (h *Host) releaseSlot(tr *tenantRT) {
	if next := tr.release(); next != nil {
		h.finishers.Add(1)
		go func() {
			defer h.finishers.Done()
			next()
		}()
	}
}

func (h *Host) endActive(k store.Key, a *active) {
	a.cancel(nil)
	h.mu.Lock()
	if h.active[k] == a {
		delete(h.active, k)
	}
	if c := h.cancels[k]; c != nil && c.uid == a.uid && c.gen == a.gen {
		delete(h.cancels, k)
	}
	h.mu.Unlock()
	close(a.done)
}

// taskSpec decodes a stored task's spec (either generation's form), with the task's labels.
func taskSpec(t *store.Task) (*abi.TaskSpec, error) {
	spec, err := abi.ParseTaskSpec(t.Spec)
	if err != nil {
		return nil, err
	}
	if len(t.Labels) > 0 {
		spec.Labels = t.Labels
	}
	return spec, nil
}

// workload is the apiVersion and kind of a task's workload, for its runs.
func workload(t *store.Task, spec *abi.TaskSpec) (apiVersion, kind string) {
	var w struct {
		Workload struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		} `json:"workload"`
	}
	if json.Unmarshal(t.Spec, &w) == nil && w.Workload.Kind != "" {
		return w.Workload.APIVersion, w.Workload.Kind
	}
	if e := spec.Kind.Extension; e != nil {
		if i := strings.LastIndexByte(e.Type, '/'); i > 0 {
			return e.Type[:i], e.Type[i+1:]
		}
		return "", e.Type
	}
	name := spec.Kind.Name()
	return "solti.io/v1", strings.ToUpper(name[:1]) + name[1:]
}

// savePlan persists the built plan on the task, before its first attempt: what a restarted
// host resumes from. It fails when the task changed generation or went away meanwhile.
func (h *Host) savePlan(ctx context.Context, t *store.Task, b *router.Built) (*store.Task, error) {
	plan, err := json.Marshal(b.Plan)
	if err != nil {
		return nil, err
	}
	env, err := json.Marshal(b.Env)
	if err != nil {
		return nil, err
	}
	module := ""
	if v, ok := b.Runner.(interface{ Digest() string }); ok {
		module = "sha256:" + v.Digest()
	}
	rec := &store.PlanRecord{Generation: t.Generation, RunID: b.RunID.ID, Runner: b.Runner.Name(), Module: module, Plan: plan, Env: env}
	// From t as read: the update is conditional on its revision, and a conflict reads again.
	return h.updateTaskWithRun(store.Background(ctx), t, t.Key, t.UID, t.Generation, func(t *store.Task) { t.Plan = rec }, nil)
}

// updateTask applies change to the stored task of uid and generation gen, retrying on
// conflicts; it fails with store.ErrConflict when the task moved to another generation or
// uid, ErrNotFound when it is gone.
func (h *Host) updateTask(ctx context.Context, k store.Key, uid string, gen uint64, change func(*store.Task)) (*store.Task, error) {
	return h.updateTaskWithRun(ctx, nil, k, uid, gen, change, nil)
}

// updateTaskWithRun is updateTask that stores run (when not nil) in the same commit, and
// starts from cur (when not nil: the task as the caller last wrote it, which saves a read;
// a conflict reads it again). A run of a task that moved to another generation is still
// stored, alone: it records an attempt of the task's uid that did happen.
func (h *Host) updateTaskWithRun(ctx context.Context, cur *store.Task, k store.Key, uid string, gen uint64, change func(*store.Task), run *store.Run) (*store.Task, error) {
	for {
		var t *store.Task
		if cur != nil {
			t, cur = cur.Clone(), nil
		} else {
			var err error
			if t, err = h.st.GetTask(ctx, k); err != nil {
				return nil, err
			}
		}
		if t.UID != uid || t.Generation != gen {
			if run != nil && t.UID == uid {
				if err := h.st.PutRun(ctx, run); err != nil {
					return nil, err
				}
			}
			return nil, fmt.Errorf("task %s/%s: %w: now generation %d", k.Tenant, k.Name, store.ErrConflict, t.Generation)
		}
		change(t)
		t.Status.UpdatedAt = h.now()
		var nt *store.Task
		var err error
		if run != nil {
			nt, err = h.st.UpdateTaskWithRun(ctx, t, t.ResourceVersion, run)
		} else {
			nt, err = h.st.UpdateTask(ctx, t, t.ResourceVersion)
		}
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return nt, err
	}
}

// failEarly ends a task that failed before any attempt with reason, and acks it; one
// canceled meanwhile (CancelTask) ends canceled instead.
func (h *Host) failEarly(d store.Delivery, t *store.Task, reason string, cause error) {
	ctx := h.workCtx
	if ctx.Err() != nil {
		return
	}
	if c := h.cancelRequested(t); c != nil {
		h.endCanceled(t, c)
		_ = d.Ack(ctx)
		return
	}
	msg := cause.Error()
	now := h.now()
	_, err := h.updateTask(store.Background(ctx), t.Key, t.UID, t.Generation, func(t *store.Task) {
		t.Status = store.TaskStatus{ObservedGeneration: t.Generation, Phase: store.PhaseFailed, Attempt: t.Status.Attempt,
			Error: msg, Reason: reason, FinishedAt: now}
	})
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		h.log.Warn("recording a task's failure", "tenant", t.Tenant, "task", t.Name, "err", err)
	}
	h.log.Info("task failed before any attempt", "tenant", t.Tenant, "task", t.Name, "reason", reason, "err", msg)
	h.logBuf(t.Key).finish(LogEvent{Type: LogRunFinished, Phase: string(store.PhaseFailed), Error: msg, Time: now}, cause)
	_ = d.Ack(ctx)
}

// fromPlan rebuilds a persisted plan for execution, without routing or building: a guest
// plan needs its runner's module, found by name among the tenant's runners.
func (tr *tenantRT) fromPlan(p *store.PlanRecord) (*router.Built, error) {
	plan, err := abi.ParsePlan(p.Plan)
	if err != nil {
		return nil, fmt.Errorf("persisted plan of run %s: %w", p.RunID, err)
	}
	var env abi.Env
	if len(p.Env) > 0 {
		if err := json.Unmarshal(p.Env, &env); err != nil {
			return nil, fmt.Errorf("persisted env of run %s: %w", p.RunID, err)
		}
	}
	b := &router.Built{RunID: router.RunID{ID: p.RunID}, Plan: plan, Env: env, Runner: planRunner(p.Runner)}
	if plan.Guest != nil {
		v := tr.version(p.Runner)
		if v == nil {
			return nil, fmt.Errorf("run %s: its guest plan needs runner %q, which no module of the tenant serves", p.RunID, p.Runner)
		}
		b.Runner = v
	}
	return b, nil
}

// planRunner names the runner of a resumed exec or wasi plan: the host executes those
// itself, so only the name is needed.
type planRunner string

func (p planRunner) Name() string                                            { return string(p) }
func (p planRunner) Supports(context.Context, *router.Request) (bool, error) { return false, nil }
func (p planRunner) Build(context.Context, *router.Request, router.BuildArgs) (*abi.Plan, error) {
	return nil, &router.InternalError{Msg: "a resumed plan is not built again"}
}

// guestRunner is a runner that executes its guest plans with streaming (a registry version).
type guestRunner interface {
	router.Runner
	executor.GuestRunner
	executor.StreamingRunner
}

var _ guestRunner = (*registry.Version)(nil)

// fuelRunner reports the fuel of each run of a guest plan to its recorder.
type fuelRunner struct {
	guestRunner
	onFuel func(int64)
}

// RunWith runs with the runtime's fuel report added.
func (f *fuelRunner) RunWith(ctx context.Context, in *abi.RunInput, opts runtime.RunOptions) ([]byte, error) {
	opts.OnFuel = f.onFuel
	return f.guestRunner.RunWith(ctx, in, opts)
}
