// Package supervisor runs built tasks the way solti-core and taskvisor do: one supervisor per
// host, one lane per slot, with a deadline per attempt, cancellation, restart (never,
// onFailure, always with an interval), backoff with jitter, a bound on retries and admission
// control (dropIfRunning, replace, queue). Every attempt is metered through the
// router.MetricsBackend seam: started, then completed with its outcome and duration.
//
// Time comes from an injectable Clock, so that every rule is tested without sleeping.
//
// Outcome rules, per attempt:
//
//   - the Task returns nil: success;
//   - it returns a *FatalError (setup, spawn, instantiate, policy): the task ends failed at
//     once, whatever its restart policy (solti: fatal errors are never retried);
//   - the task's timeout expires first: timeout (the supervisor, not the runner, owns it);
//   - the task is canceled (Handle.Cancel, replace, Close, the Submit context): canceled, and
//     the task ends;
//   - any other error (a non-zero exit, a guest error or trap): failure.
//
// Restart rules: never ends the task with the phase of its first attempt; onFailure retries
// failures and timeouts; always also restarts after a success, IntervalMs later. A success
// resets the backoff and the retry count. With maxRetries N > 0, the N+1-th consecutive failed
// attempt ends the task as exhausted.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
)

// DefaultQueueLimit bounds each slot's queue under admission queue.
const DefaultQueueLimit = 64

// Config configures a Supervisor. The zero value is usable.
type Config struct {
	// Clock drives deadlines, backoff and intervals. Nil: the wall clock.
	Clock Clock
	// Metrics receives started and completed for every attempt and runner errors for fatal
	// ones. Nil: router.NoopMetrics.
	Metrics router.MetricsBackend
	// QueueLimit bounds the tasks waiting in one slot's queue (the running one excluded).
	// 0: DefaultQueueLimit.
	QueueLimit int
	// Rand returns floats in [0, 1) for jitter. Nil: math/rand/v2.
	Rand func() float64
}

// Job is a built task handed to the supervisor.
type Job struct {
	// RunID is the build's run id; every attempt of the task shares it.
	RunID string
	// Spec gives the slot, timeout, restart, backoff, admission and maxRetries.
	Spec *abi.TaskSpec
	// Task executes each attempt.
	Task Task
	// RunnerType labels the metrics: subprocess, wasm or container. "": wasm.
	RunnerType router.RunnerType
	// OnStatus, when set, is called with every change of the task's status, in order: the
	// first (pending) from Submit, the others from the task's goroutine, which it delays
	// (keep it short).
	OnStatus func(Status)
	// OnLine, when set, receives the live output of every attempt (see Sink).
	OnLine func(Attempt, Line)
}

// Supervisor runs tasks in per-slot lanes. It is safe for concurrent use.
type Supervisor struct {
	clock   Clock
	metrics router.MetricsBackend
	qlimit  int
	rand    func() float64

	mu     sync.Mutex
	slots  map[string]*slot
	closed bool
	wg     sync.WaitGroup
}

// slot is one lane: the task that holds it (running, or waiting for a restart) and the tasks
// queued behind it.
type slot struct {
	current *Handle
	queue   []*Handle
}

// New returns a supervisor with cfg.
func New(cfg Config) *Supervisor {
	s := &Supervisor{clock: cfg.Clock, metrics: cfg.Metrics, qlimit: cfg.QueueLimit, rand: cfg.Rand, slots: map[string]*slot{}}
	if s.clock == nil {
		s.clock = RealClock{}
	}
	if s.metrics == nil {
		s.metrics = router.NoopMetrics{}
	}
	if s.qlimit <= 0 {
		s.qlimit = DefaultQueueLimit
	}
	if s.rand == nil {
		s.rand = rand.Float64
	}
	return s
}

// Handle is a submitted task.
type Handle struct {
	job    Job
	sup    *Supervisor
	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}

	// unwatch stops the watcher that ends a queued task canceled before its turn.
	unwatch func() bool

	mu     sync.Mutex
	status Status
}

// Submit admits job into its slot under the spec's admission policy and returns its handle.
// The task runs in its own goroutine; it is canceled when ctx is done. Submit fails with
// ErrSlotBusy (dropIfRunning, slot busy), ErrQueueFull (queue, queue full) or ErrClosed.
func (s *Supervisor) Submit(ctx context.Context, job Job) (*Handle, error) {
	if job.RunnerType == "" {
		job.RunnerType = router.RunnerWasm
	}
	h := &Handle{job: job, sup: s, done: make(chan struct{})}
	h.ctx, h.cancel = context.WithCancelCause(ctx)
	h.status = Status{RunID: job.RunID, Slot: job.Spec.Slot, Phase: PhasePending}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		h.cancel(ErrClosed)
		return nil, ErrClosed
	}
	sl := s.slots[job.Spec.Slot]
	if sl == nil {
		sl = &slot{}
		s.slots[job.Spec.Slot] = sl
	}
	start := false
	switch {
	case sl.current == nil:
		sl.current, start = h, true
	case job.Spec.Admission == abi.AdmissionReplace:
		// Cancel the holder and everything queued (each queued task's watcher removes and
		// ends it); the new task runs when the holder has ended.
		sl.current.cancel(ErrReplaced)
		for _, q := range sl.queue {
			q.cancel(ErrReplaced)
		}
		sl.queue = append(sl.queue, h)
	case job.Spec.Admission == abi.AdmissionQueue:
		if len(sl.queue) >= s.qlimit {
			s.mu.Unlock()
			h.cancel(ErrQueueFull)
			return nil, ErrQueueFull
		}
		sl.queue = append(sl.queue, h)
	default: // dropIfRunning
		s.mu.Unlock()
		h.cancel(ErrSlotBusy)
		return nil, ErrSlotBusy
	}
	s.wg.Add(1)
	if !start {
		// A queued task canceled before its turn must still end: watch its context.
		h.unwatch = context.AfterFunc(h.ctx, func() { s.dequeue(h) })
	}
	s.mu.Unlock()

	h.notify()
	if start {
		go h.run()
	}
	return h, nil
}

// dequeue ends a queued task whose context is done before its turn came. Whoever removes a
// task from its queue under s.mu owns its ending: dequeue here, or next, which runs it (and
// run ends it at once as canceled).
func (s *Supervisor) dequeue(h *Handle) {
	s.mu.Lock()
	sl := s.slots[h.job.Spec.Slot]
	found := false
	if sl != nil {
		for i, q := range sl.queue {
			if q == h {
				sl.queue = append(sl.queue[:i], sl.queue[i+1:]...)
				found = true
				break
			}
		}
	}
	s.mu.Unlock()
	if found {
		h.finish(PhaseCanceled, router.OutcomeCanceled, context.Cause(h.ctx))
		close(h.done)
		s.wg.Done()
	}
}

// next hands the slot to the first queued task, or frees it.
func (s *Supervisor) next(h *Handle) {
	s.mu.Lock()
	sl := s.slots[h.job.Spec.Slot]
	var nh *Handle
	if len(sl.queue) > 0 {
		nh = sl.queue[0]
		sl.queue = sl.queue[1:]
		sl.current = nh
	} else {
		delete(s.slots, h.job.Spec.Slot)
	}
	s.mu.Unlock()
	if nh != nil {
		nh.unwatch() // a watcher that fires anyway finds nothing queued
		go nh.run()
	}
}

// Close cancels every task, queued or running, refuses new ones and waits until all have
// ended, or ctx is done.
func (s *Supervisor) Close(ctx context.Context) error {
	// Cancel under s.mu: next hands a slot to a queued task under the same lock, so it can
	// only ever start a task already canceled here (run then ends it at once). Canceling
	// after unlocking let a queued task start, and run its attempt, between the two steps.
	// (A cancel runs the queued tasks' AfterFunc watchers in their own goroutines, so
	// nothing here waits for s.mu.)
	s.mu.Lock()
	s.closed = true
	for _, sl := range s.slots {
		if sl.current != nil {
			sl.current.cancel(ErrClosed)
		}
		for _, q := range sl.queue {
			q.cancel(ErrClosed)
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Status returns the task's current status.
func (h *Handle) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status
}

// Done is closed when the task reaches a terminal phase.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Wait blocks until the task ends or ctx is done, and returns its status.
func (h *Handle) Wait(ctx context.Context) (Status, error) {
	select {
	case <-h.done:
		return h.Status(), nil
	case <-ctx.Done():
		return h.Status(), context.Cause(ctx)
	}
}

// Cancel stops the task: a running attempt's context is canceled (the executor kills its
// process or stops its guest) and the task ends canceled; a queued task never starts.
func (h *Handle) Cancel() { h.cancel(ErrCanceled) }

func (h *Handle) update(f func(*Status)) {
	h.mu.Lock()
	f(&h.status)
	h.mu.Unlock()
	h.notify()
}

func (h *Handle) notify() {
	if h.job.OnStatus != nil {
		h.job.OnStatus(h.Status())
	}
}

func (h *Handle) finish(phase Phase, outcome router.TaskOutcome, err error) {
	h.update(func(st *Status) {
		st.Phase = phase
		if outcome != "" && st.Outcome == "" {
			st.Outcome = outcome
		}
		if err != nil && st.Error == "" {
			st.Error, st.Err = err.Error(), err
		}
	})
	h.cancel(nil) // release the context
}

// run is the task's life: attempts, restarts and backoff until a terminal phase.
func (h *Handle) run() {
	s := h.sup
	defer func() {
		// Free the slot before Done: whoever waited may submit to the slot again at once.
		s.next(h)
		close(h.done)
		s.wg.Done()
	}()
	spec := h.job.Spec
	backoff := NewBackoff(spec.Backoff, s.rand)
	failures := 0
	for attempt := 1; ; attempt++ {
		if h.ctx.Err() != nil { // canceled while queued or waiting
			h.finish(PhaseCanceled, router.OutcomeCanceled, context.Cause(h.ctx))
			return
		}
		outcome, res, err := h.attempt(attempt)
		h.update(func(st *Status) {
			st.Outcome, st.ExitCode = outcome, res.ExitCode
			st.Error, st.Err = "", err
			if err != nil {
				st.Error = err.Error()
			}
			st.Output = nil
			if outcome == router.OutcomeSuccess {
				st.Output = res.Output
			}
		})
		var fatal *FatalError
		var wait time.Duration
		switch {
		case outcome == router.OutcomeCanceled:
			h.finish(PhaseCanceled, "", nil)
			return
		case outcome == router.OutcomeFailure && errors.As(err, &fatal):
			h.finish(PhaseFailed, "", nil)
			return
		case outcome == router.OutcomeSuccess:
			if spec.Restart.Type != abi.RestartAlways {
				h.finish(PhaseSucceeded, "", nil)
				return
			}
			failures = 0
			wait = time.Duration(spec.Restart.IntervalMs) * time.Millisecond
		default: // failure or timeout
			if spec.Restart.Type != abi.RestartOnFailure && spec.Restart.Type != abi.RestartAlways { // never, or unset
				if outcome == router.OutcomeTimeout {
					h.finish(PhaseTimeout, "", nil)
				} else {
					h.finish(PhaseFailed, "", nil)
				}
				return
			}
			if spec.MaxRetries > 0 && failures >= int(spec.MaxRetries) {
				h.finish(PhaseExhausted, "", nil)
				return
			}
			wait = backoff.Delay(failures)
			failures++
		}
		h.update(func(st *Status) { st.Phase = PhasePending })
		if !h.sleep(wait) {
			h.finish(PhaseCanceled, router.OutcomeCanceled, context.Cause(h.ctx))
			return
		}
	}
}

// sleep waits d on the clock; it returns false when the task is canceled first.
func (h *Handle) sleep(d time.Duration) bool {
	if d <= 0 {
		return h.ctx.Err() == nil
	}
	fired := make(chan struct{})
	t := h.sup.clock.AfterFunc(d, func() { close(fired) })
	select {
	case <-fired:
		return true
	case <-h.ctx.Done():
		t.Stop()
		return false
	}
}

// attempt runs one attempt under the task's deadline and classifies how it ended.
func (h *Handle) attempt(n int) (router.TaskOutcome, Result, error) {
	s := h.sup
	rt := h.job.RunnerType
	a := Attempt{RunID: h.job.RunID, Number: n}
	h.update(func(st *Status) { st.Phase, st.Attempt = PhaseRunning, n })

	timeout := time.Duration(h.job.Spec.TimeoutMs) * time.Millisecond
	ctx, cancel := context.WithCancelCause(h.ctx)
	var t Timer
	if timeout > 0 {
		t = s.clock.AfterFunc(timeout, func() { cancel(&TimeoutError{Timeout: timeout}) })
	}
	sink := func(Line) {}
	if h.job.OnLine != nil {
		sink = func(l Line) { h.job.OnLine(a, l) }
	}
	s.metrics.RecordTaskStarted(rt)
	start := s.clock.Now()
	res, err := execute(h.job.Task, ctx, a, sink)
	d := s.clock.Now().Sub(start)
	if t != nil {
		t.Stop()
	}
	cause := context.Cause(ctx)
	cancel(nil)

	var outcome router.TaskOutcome
	var te *TimeoutError
	switch {
	case h.ctx.Err() != nil:
		outcome, err = router.OutcomeCanceled, context.Cause(h.ctx)
	case err == nil: // finished before the deadline took effect
		outcome = router.OutcomeSuccess
	case ctx.Err() != nil && errors.As(cause, &te):
		outcome, err = router.OutcomeTimeout, te
	default:
		outcome = router.OutcomeFailure
		var fe *FatalError
		if errors.As(err, &fe) && fe.Kind != "" {
			s.metrics.RecordRunnerError(rt, fe.Kind)
		}
	}
	s.metrics.RecordTaskCompleted(rt, outcome, d)
	return outcome, res, err
}

// execute runs one attempt, turning a panic of the task into a fatal error: a bug in one
// task must not take the host down.
func execute(t Task, ctx context.Context, a Attempt, out Sink) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &FatalError{Err: fmt.Errorf("task panicked: %v", p)}
		}
	}()
	return t.Execute(ctx, a, out)
}
