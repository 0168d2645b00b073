package host

import (
	"context"
	"errors"
	"sync"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

// errRestartInterrupted and errStopInterrupted are the errors of runs a host's crash or stop
// cut short.
const (
	errRestartInterrupted = "interrupted by host restart"
	errStopInterrupted    = "interrupted by host shutdown"
)

// recorder turns one task generation's supervisor events into store records (a Run per
// attempt, the task's status) and log events.
type recorder struct {
	h   *Host
	tr  *tenantRT
	key store.Key
	uid string
	gen uint64

	runID          string
	wlAPI, wlKind  string
	offset         int  // attempts of this generation made before (by an earlier host)
	trailingFails  int  // of those, the failed ones at the end
	maxRetries     int  // the spec's
	lastChance     bool // resumed with no retry left: a failure ends the task exhausted
	logs           *logBuffer
	maxOutputBytes int

	mu      sync.Mutex
	started int    // the supervisor's number of the last attempt started
	seq     uint64 // the task's last run Seq
	cur     *store.Run
	tail    []byte
	fuel    int64
	// ended is the attempt that ended and is not yet stored, with its log event: it is
	// written with the task status that follows it (a retry's wait, or the end), one commit
	// for the transition.
	ended    *store.Run
	endedLog LogEvent
	// last is the task as this recorder last wrote it (or read it at the start): the base of
	// its next write, which then needs no read unless someone else wrote meanwhile.
	last *store.Task
}

// newRecorder starts recording t's generation, whose spec (taskSpec) is spec.
func (h *Host) newRecorder(tr *tenantRT, t *store.Task, spec *abi.TaskSpec, b *router.Built, runs []*store.Run) *recorder {
	r := &recorder{h: h, tr: tr, key: t.Key, uid: t.UID, gen: t.Generation, runID: b.RunID.ID,
		logs: h.logBuf(t.Key), maxOutputBytes: tr.limits.MaxOutputBytes, last: t}
	r.wlAPI, r.wlKind = workload(t, spec)
	r.maxRetries = int(spec.MaxRetries)
	for _, run := range runs {
		r.seq = max(r.seq, run.Seq)
		if run.Generation != t.Generation {
			continue
		}
		r.offset = max(r.offset, run.Attempt)
		if failedPhase(run.Phase) {
			r.trailingFails++
		} else {
			r.trailingFails = 0
		}
	}
	return r
}

func failedPhase(p store.Phase) bool {
	return p == store.PhaseFailed || p == store.PhaseTimeout || p == store.PhaseInterrupted
}

// resumeSpec is the spec the supervisor runs: with maxRetries lowered by the failures an
// earlier host already counted, so that the bound holds across restarts.
func (r *recorder) resumeSpec(spec *abi.TaskSpec) *abi.TaskSpec {
	if r.trailingFails == 0 || r.maxRetries == 0 {
		return spec
	}
	s := *spec
	left := r.maxRetries - r.trailingFails
	if left <= 0 { // one attempt left; 0 would mean unlimited
		s.Restart = abi.RestartPolicy{Type: abi.RestartNever}
		r.lastChance = true
		return &s
	}
	s.MaxRetries = uint32(left)
	return &s
}

// addFuel records the fuel of the attempt in progress.
func (r *recorder) addFuel(n int64) {
	r.mu.Lock()
	r.fuel += n
	r.mu.Unlock()
}

// line keeps an attempt's output line in its tail and the task's log.
func (r *recorder) line(a supervisor.Attempt, l supervisor.Line) {
	r.mu.Lock()
	r.appendTail([]byte(l.Text + "\n"))
	r.mu.Unlock()
	r.logs.add(LogEvent{Type: LogChunk, Attempt: a.Number + r.offset, RunID: a.RunID, Stream: string(l.Stream), Line: l.Text, Truncated: l.Truncated, Time: r.h.now()})
}

// appendTail keeps the last maxOutputBytes of the attempt's output; r.mu must be held.
func (r *recorder) appendTail(p []byte) {
	r.tail = append(r.tail, p...)
	if over := len(r.tail) - r.maxOutputBytes; over > 0 {
		r.tail = append(r.tail[:0], r.tail[over:]...)
	}
}

// status records the supervisor's status changes: an attempt started (running with a new
// attempt number; its run and the task's status in one write), ended (its outcome set: kept
// until what follows is known), then a retry's wait (pending: the ended run is written with
// the task showing that attempt's result) or the end (finish writes it).
func (r *recorder) status(st supervisor.Status) {
	// Background: no client waits on these; records of a canceled run are still written.
	ctx := store.Background(context.Background())
	r.mu.Lock()
	isNew := st.Phase == supervisor.PhaseRunning && st.Attempt > r.started
	r.mu.Unlock()
	switch {
	case isNew:
		r.flush(ctx, nil) // not expected: a new attempt comes after a pending status
		now := r.h.now()
		r.mu.Lock()
		r.started = st.Attempt
		r.seq++
		run := &store.Run{Tenant: r.key.Tenant, Task: r.key.Name, TaskUID: r.uid, Seq: r.seq, Generation: r.gen,
			Attempt: r.offset + st.Attempt, RunID: r.runID, WorkloadAPIVersion: r.wlAPI, WorkloadKind: r.wlKind,
			Phase: store.PhaseRunning, StartedAt: now}
		r.cur, r.tail, r.fuel = run, nil, 0
		cp := *run
		r.mu.Unlock()
		r.write(ctx, func(s *store.TaskStatus) {
			*s = store.TaskStatus{ObservedGeneration: r.gen, Phase: store.PhaseRunning, Attempt: cp.Attempt}
		}, &cp)
		r.logs.add(LogEvent{Type: LogRunStarted, Attempt: cp.Attempt, RunID: r.runID, Time: now})
	case st.Phase == supervisor.PhasePending && st.Attempt > 0:
		r.endAttempt(st)
		r.flush(ctx, nil)
	case st.Attempt > 0 && st.Outcome != "": // the attempt ended
		r.endAttempt(st)
	}
}

// endAttempt finishes the run in progress, if any, with st's outcome, and keeps it for
// flush.
func (r *recorder) endAttempt(st supervisor.Status) {
	now := r.h.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	run := r.cur
	if run == nil || st.Outcome == "" || st.Attempt != r.started {
		return
	}
	r.cur = nil
	if st.Outcome == router.OutcomeSuccess && st.Output != nil {
		r.appendTail(st.Output)
	}
	run.FinishedAt = &now
	run.Phase = outcomePhase(st.Outcome)
	run.ExitCode, run.Error, run.FuelUsed = st.ExitCode, st.Error, r.fuel
	if run.Phase == store.PhaseCanceled && r.h.stopping.Load() {
		run.Phase, run.Error = store.PhaseInterrupted, errStopInterrupted
	}
	run.OutputTail = append([]byte(nil), r.tail...)
	ev := LogEvent{Type: LogRunFinished, Attempt: run.Attempt, RunID: r.runID, Phase: string(run.Phase), Outcome: string(st.Outcome),
		ExitCode: run.ExitCode, Error: run.Error, Time: now}
	if st.Outcome == router.OutcomeSuccess && st.Output != nil {
		ev.Output = append([]byte{}, st.Output...)
	}
	r.ended, r.endedLog = run, ev
}

// flush writes the ended attempt's run with the status change (nil: the task shows that
// attempt's result, still running, until the next attempt or the end), then logs its end.
// With no ended attempt it writes change alone, if any.
func (r *recorder) flush(ctx context.Context, change func(*store.TaskStatus)) {
	r.mu.Lock()
	run, ev := r.ended, r.endedLog
	r.ended = nil
	r.mu.Unlock()
	if run == nil {
		if change != nil {
			r.write(ctx, change, nil)
		}
		return
	}
	if change == nil {
		change = func(s *store.TaskStatus) {
			s.Phase, s.Attempt, s.ExitCode, s.Error = store.PhaseRunning, run.Attempt, run.ExitCode, run.Error
		}
	}
	r.write(ctx, change, run)
	r.logs.add(ev)
}

func outcomePhase(o router.TaskOutcome) store.Phase {
	switch o {
	case router.OutcomeSuccess:
		return store.PhaseSucceeded
	case router.OutcomeTimeout:
		return store.PhaseTimeout
	case router.OutcomeCanceled:
		return store.PhaseCanceled
	}
	return store.PhaseFailed
}

// finish records the task's end under the supervisor: its last run with its terminal
// status, unless the host canceled it (superseded or deleted: the newer state is the task's;
// stopping: the task stays unfinished, its attempt recorded as interrupted, for the next
// start).
func (r *recorder) finish(st supervisor.Status, cause error) {
	ctx := store.Background(context.Background())
	r.endAttempt(st)
	if errors.Is(cause, errSuperseded) || errors.Is(cause, errDeleted) ||
		(r.h.stopping.Load() && st.Phase == supervisor.PhaseCanceled) {
		r.flush(ctx, nil)
		return
	}
	phase := store.Phase(st.Phase)
	if r.lastChance && (phase == store.PhaseFailed || phase == store.PhaseTimeout) {
		phase = store.PhaseExhausted
	}
	now := r.h.now()
	r.flush(ctx, func(s *store.TaskStatus) {
		*s = store.TaskStatus{ObservedGeneration: r.gen, Phase: phase, Attempt: r.offset + st.Attempt,
			ExitCode: st.ExitCode, Error: st.Error, FinishedAt: now}
	})
	r.logs.finish(LogEvent{}, st.Err)
}

// write changes the task's status, if it is still this generation, with run (when not nil)
// in the same commit.
func (r *recorder) write(ctx context.Context, change func(*store.TaskStatus), run *store.Run) {
	r.mu.Lock()
	last := r.last
	r.mu.Unlock()
	nt, err := r.h.updateTaskWithRun(ctx, last, r.key, r.uid, r.gen, func(t *store.Task) { change(&t.Status) }, run)
	r.mu.Lock()
	r.last = nt // nil after a failure: the next write reads the task
	r.mu.Unlock()
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		r.h.log.Warn("recording a task's status", "tenant", r.key.Tenant, "task", r.key.Name, "err", err)
	}
}
