package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// call is one attempt of a scripted task, waiting for the test to say how it ends.
type call struct {
	ctx   context.Context
	a     supervisor.Attempt
	out   supervisor.Sink
	reply chan reply
}

type reply struct {
	res supervisor.Result
	err error
	// block: ignore err and wait for the attempt's context, then return its cause.
	block bool
}

// scripted is a Task whose attempts are decided by the test, one at a time.
type scripted struct{ calls chan *call }

func newScripted() *scripted { return &scripted{calls: make(chan *call)} }

func (s *scripted) Execute(ctx context.Context, a supervisor.Attempt, out supervisor.Sink) (supervisor.Result, error) {
	c := &call{ctx: ctx, a: a, out: out, reply: make(chan reply, 1)}
	s.calls <- c
	r := <-c.reply
	if r.block {
		<-ctx.Done()
		return supervisor.Result{}, context.Cause(ctx)
	}
	return r.res, r.err
}

// next waits for the task's next attempt.
func (s *scripted) next(t *testing.T) *call {
	t.Helper()
	select {
	case c := <-s.calls:
		return c
	case <-time.After(10 * time.Second): // a hang guard, never a timing assumption
		t.Fatal("no attempt started")
		return nil
	}
}

func (c *call) succeed()       { c.reply <- reply{} }
func (c *call) fail(err error) { c.reply <- reply{err: err} }
func (c *call) block()         { c.reply <- reply{block: true} }
func (c *call) exit(code int) {
	c.reply <- reply{res: supervisor.Result{ExitCode: &code}, err: &supervisor.ExitError{Code: code}}
}
func (c *call) output(b []byte) { c.reply <- reply{res: supervisor.Result{Output: b}} }

// recorder is a MetricsBackend that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(s string)                           { r.mu.Lock(); r.events = append(r.events, s); r.mu.Unlock() }
func (r *recorder) RecordTaskStarted(rt router.RunnerType) { r.add("started " + string(rt)) }
func (r *recorder) RecordTaskCompleted(rt router.RunnerType, o router.TaskOutcome, d time.Duration) {
	r.add(fmt.Sprintf("completed %s %s %v", rt, o, d))
}
func (r *recorder) RecordRunnerError(rt router.RunnerType, kind string) {
	r.add("error " + string(rt) + " " + kind)
}
func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func spec(slot string, timeoutMs uint64, mut ...func(*abi.TaskSpec)) *abi.TaskSpec {
	s := &abi.TaskSpec{Slot: slot, TimeoutMs: timeoutMs, Restart: abi.RestartPolicy{Type: abi.RestartNever},
		Backoff: abi.BackoffPolicy{Jitter: abi.JitterNone, FirstMs: 100, MaxMs: 1000, Factor: 2}, Admission: abi.AdmissionDropIfRunning}
	for _, m := range mut {
		m(s)
	}
	return s
}

func onFailure(s *abi.TaskSpec) { s.Restart.Type = abi.RestartOnFailure }

type env struct {
	clock *fakeClock
	rec   *recorder
	sup   *supervisor.Supervisor
}

func newEnv(t *testing.T, cfg supervisor.Config) *env {
	e := &env{clock: newFakeClock(), rec: &recorder{}}
	cfg.Clock, cfg.Metrics = e.clock, e.rec
	e.sup = supervisor.New(cfg)
	t.Cleanup(func() {
		if err := e.sup.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return e
}

func (e *env) submit(t *testing.T, task supervisor.Task, s *abi.TaskSpec, phases *[]string) *supervisor.Handle {
	t.Helper()
	var mu sync.Mutex
	job := supervisor.Job{RunID: "r-" + s.Slot, Spec: s, Task: task}
	if phases != nil {
		job.OnStatus = func(st supervisor.Status) {
			mu.Lock()
			*phases = append(*phases, fmt.Sprintf("%s/%d", st.Phase, st.Attempt))
			mu.Unlock()
		}
	}
	h, err := e.sup.Submit(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func wait(t *testing.T, h *supervisor.Handle) supervisor.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := h.Wait(ctx)
	if err != nil {
		t.Fatalf("task did not end: %v (status %+v)", err, st)
	}
	return st
}

func TestSuccess(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	var phases []string
	h := e.submit(t, task, spec("a", 1000), &phases)
	c := task.next(t)
	if c.a.RunID != "r-a" || c.a.Number != 1 {
		t.Errorf("attempt %+v, want run id r-a, number 1", c.a)
	}
	e.clock.Advance(30 * time.Millisecond)
	c.output([]byte("result"))
	st := wait(t, h)
	if st.Phase != supervisor.PhaseSucceeded || st.Attempt != 1 || st.Outcome != router.OutcomeSuccess || st.Error != "" || string(st.Output) != "result" {
		t.Errorf("status %+v", st)
	}
	if want := []string{"pending/0", "running/1", "running/1", "succeeded/1"}; !slices.Equal(phases, want) {
		t.Errorf("phases %v, want %v", phases, want)
	}
	if want := []string{"started wasm", "completed wasm success 30ms"}; !slices.Equal(e.rec.got(), want) {
		t.Errorf("metrics %v, want %v", e.rec.got(), want)
	}
}

func TestFailureNeverRestarts(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	h := e.submit(t, task, spec("a", 1000), nil)
	task.next(t).exit(3)
	st := wait(t, h)
	if st.Phase != supervisor.PhaseFailed || st.Attempt != 1 || st.ExitCode == nil || *st.ExitCode != 3 ||
		st.Error != "process exited with non-zero code: 3" || st.Outcome != router.OutcomeFailure {
		t.Errorf("status %+v", st)
	}
}

func TestFatalIsNeverRetried(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	h := e.submit(t, task, spec("a", 1000, onFailure), nil)
	task.next(t).fail(supervisor.Fatal(router.ErrorSpawnFailed, errors.New("exec: \"nope\": not found")))
	st := wait(t, h)
	if st.Phase != supervisor.PhaseFailed || st.Attempt != 1 || !strings.Contains(st.Error, "not found") {
		t.Errorf("status %+v", st)
	}
	var fe *supervisor.FatalError
	if !errors.As(st.Err, &fe) {
		t.Errorf("Err %v is not a *FatalError", st.Err)
	}
	if want := []string{"started wasm", "error wasm spawn_failed", "completed wasm failure 0s"}; !slices.Equal(e.rec.got(), want) {
		t.Errorf("metrics %v, want %v", e.rec.got(), want)
	}
}

func TestTimeout(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	h := e.submit(t, task, spec("a", 500), nil)
	c := task.next(t)
	c.block()
	e.clock.WaitTimers(500 * time.Millisecond)
	e.clock.Advance(499 * time.Millisecond)
	select {
	case <-h.Done():
		t.Fatal("ended before its timeout")
	default:
	}
	e.clock.Advance(time.Millisecond)
	st := wait(t, h)
	if st.Phase != supervisor.PhaseTimeout || st.Outcome != router.OutcomeTimeout || st.Error != "the task's timeout of 500ms expired" {
		t.Errorf("status %+v", st)
	}
	var te *supervisor.TimeoutError
	if !errors.As(st.Err, &te) || te.Timeout != 500*time.Millisecond {
		t.Errorf("Err %v, want a *TimeoutError of 500ms", st.Err)
	}
	if want := []string{"started wasm", "completed wasm timeout 500ms"}; !slices.Equal(e.rec.got(), want) {
		t.Errorf("metrics %v, want %v", e.rec.got(), want)
	}
}

func TestTimeoutIsRetriedOnFailure(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	h := e.submit(t, task, spec("a", 500, onFailure), nil)
	task.next(t).block()
	e.clock.WaitTimers(500 * time.Millisecond)
	e.clock.Advance(500 * time.Millisecond)
	e.clock.WaitTimers(100 * time.Millisecond) // backoff
	e.clock.Advance(100 * time.Millisecond)
	c := task.next(t)
	if c.a.Number != 2 {
		t.Errorf("attempt %d, want 2", c.a.Number)
	}
	c.succeed()
	if st := wait(t, h); st.Phase != supervisor.PhaseSucceeded || st.Attempt != 2 {
		t.Errorf("status %+v", st)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	h := e.submit(t, task, spec("a", 1000), nil)
	c := task.next(t)
	c.block()
	h.Cancel()
	st := wait(t, h)
	if st.Phase != supervisor.PhaseCanceled || st.Outcome != router.OutcomeCanceled || !errors.Is(st.Err, supervisor.ErrCanceled) {
		t.Errorf("status %+v", st)
	}
	if want := []string{"started wasm", "completed wasm canceled 0s"}; !slices.Equal(e.rec.got(), want) {
		t.Errorf("metrics %v, want %v", e.rec.got(), want)
	}
}

// TestCancelBySubmitContext: the context Submit got cancels the task with its cause (the CLI
// passes its signal context).
func TestCancelBySubmitContext(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	ctx, cancel := context.WithCancelCause(context.Background())
	h, err := e.sup.Submit(ctx, supervisor.Job{RunID: "r", Spec: spec("a", 1000), Task: task})
	if err != nil {
		t.Fatal(err)
	}
	task.next(t).block()
	cancel(errors.New("interrupt signal received"))
	if st := wait(t, h); st.Phase != supervisor.PhaseCanceled || st.Error != "interrupt signal received" {
		t.Errorf("status %+v", st)
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	h := e.submit(t, task, spec("a", 1000, onFailure), nil)
	task.next(t).fail(errors.New("boom"))
	e.clock.WaitTimers(100 * time.Millisecond)
	if st := h.Status(); st.Phase != supervisor.PhasePending || st.Error != "boom" {
		t.Errorf("status during backoff %+v, want pending with the last error", st)
	}
	h.Cancel()
	if st := wait(t, h); st.Phase != supervisor.PhaseCanceled || st.Attempt != 1 {
		t.Errorf("status %+v", st)
	}
	e.clock.WaitTimers() // the backoff timer is stopped
}

// TestBackoffGrowsAndResets: with no jitter, retries wait first * factor^n capped at max, and
// a success (restart always) resets the count.
func TestBackoffGrowsAndResets(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	s := spec("a", 10000, func(s *abi.TaskSpec) {
		s.Restart = abi.RestartPolicy{Type: abi.RestartAlways, IntervalMs: 50}
		s.Backoff = abi.BackoffPolicy{Jitter: abi.JitterNone, FirstMs: 100, MaxMs: 300, Factor: 2}
	})
	h := e.submit(t, task, s, nil)
	step := func(n int, outcome string, wantWait time.Duration) {
		t.Helper()
		c := task.next(t)
		if c.a.Number != n {
			t.Fatalf("attempt %d, want %d", c.a.Number, n)
		}
		if outcome == "ok" {
			c.succeed()
		} else {
			c.fail(errors.New("boom"))
		}
		e.clock.WaitTimers(wantWait)
		e.clock.Advance(wantWait - time.Millisecond)
		e.clock.WaitTimers(wantWait) // still waiting
		e.clock.Advance(time.Millisecond)
	}
	step(1, "fail", 100*time.Millisecond)
	step(2, "fail", 200*time.Millisecond)
	step(3, "fail", 300*time.Millisecond)
	step(4, "fail", 300*time.Millisecond) // capped at maxMs
	step(5, "ok", 50*time.Millisecond)    // interval of restart always
	step(6, "fail", 100*time.Millisecond) // reset by the success
	task.next(t).block()
	h.Cancel()
	if st := wait(t, h); st.Phase != supervisor.PhaseCanceled || st.Attempt != 7 {
		t.Errorf("status %+v", st)
	}
}

func TestMaxRetriesExhausted(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	h := e.submit(t, task, spec("a", 1000, onFailure, func(s *abi.TaskSpec) { s.MaxRetries = 2 }), nil)
	for n, d := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 0} {
		c := task.next(t)
		if c.a.Number != n+1 {
			t.Fatalf("attempt %d, want %d", c.a.Number, n+1)
		}
		c.exit(1)
		if d > 0 {
			e.clock.WaitTimers(d)
			e.clock.Advance(d)
		}
	}
	st := wait(t, h)
	if st.Phase != supervisor.PhaseExhausted || st.Attempt != 3 || st.Error != "process exited with non-zero code: 1" {
		t.Errorf("status %+v", st)
	}
}

func TestOnFailureStopsAfterSuccess(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	h := e.submit(t, task, spec("a", 1000, onFailure), nil)
	task.next(t).fail(errors.New("boom"))
	e.clock.WaitTimers(100 * time.Millisecond)
	e.clock.Advance(100 * time.Millisecond)
	task.next(t).succeed()
	if st := wait(t, h); st.Phase != supervisor.PhaseSucceeded || st.Attempt != 2 || st.Error != "" {
		t.Errorf("status %+v", st)
	}
}

func TestAdmissionDropIfRunning(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	h := e.submit(t, task, spec("a", 1000), nil)
	c := task.next(t)
	_, err := e.sup.Submit(context.Background(), supervisor.Job{RunID: "r2", Spec: spec("a", 1000), Task: task})
	if !errors.Is(err, supervisor.ErrSlotBusy) {
		t.Errorf("second task in a busy slot: %v, want ErrSlotBusy", err)
	}
	// Another slot is another lane.
	other := e.submit(t, task, spec("b", 1000), nil)
	task.next(t).succeed()
	wait(t, other)
	c.succeed()
	wait(t, h)
	// The slot is free again.
	h3 := e.submit(t, task, spec("a", 1000), nil)
	task.next(t).succeed()
	wait(t, h3)
}

func TestAdmissionReplace(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	old, queued, fresh := newScripted(), newScripted(), newScripted()
	h1 := e.submit(t, old, spec("a", 1000, onFailure), nil)
	old.next(t).block()
	h2 := e.submit(t, queued, spec("a", 1000, func(s *abi.TaskSpec) { s.Admission = abi.AdmissionQueue }), nil)
	h3 := e.submit(t, fresh, spec("a", 1000, func(s *abi.TaskSpec) { s.Admission = abi.AdmissionReplace }), nil)
	st1, st2 := wait(t, h1), wait(t, h2)
	if st1.Phase != supervisor.PhaseCanceled || !errors.Is(st1.Err, supervisor.ErrReplaced) {
		t.Errorf("replaced task %+v", st1)
	}
	if st2.Phase != supervisor.PhaseCanceled || st2.Attempt != 0 || !errors.Is(st2.Err, supervisor.ErrReplaced) {
		t.Errorf("queued task %+v: want canceled before its first attempt", st2)
	}
	fresh.next(t).succeed()
	if st := wait(t, h3); st.Phase != supervisor.PhaseSucceeded {
		t.Errorf("replacing task %+v", st)
	}
}

func TestAdmissionQueue(t *testing.T) {
	q := func(s *abi.TaskSpec) { s.Admission = abi.AdmissionQueue }
	// One running, two queued (the limit), a fourth refused.
	e2 := newEnv(t, supervisor.Config{QueueLimit: 2})
	task2 := newScripted()
	var order []string
	var mu sync.Mutex
	submit := func(id string) (*supervisor.Handle, error) {
		return e2.sup.Submit(context.Background(), supervisor.Job{RunID: id, Spec: spec("a", 1000, q), Task: task2,
			OnStatus: func(st supervisor.Status) {
				if st.Phase == supervisor.PhaseRunning && st.Outcome == "" {
					mu.Lock()
					order = append(order, st.RunID)
					mu.Unlock()
				}
			}})
	}
	h1, _ := submit("one")
	c1 := task2.next(t)
	h2, _ := submit("two")
	h3, _ := submit("three")
	if _, err := submit("four"); !errors.Is(err, supervisor.ErrQueueFull) {
		t.Errorf("fourth task: %v, want ErrQueueFull", err)
	}
	if st := h2.Status(); st.Phase != supervisor.PhasePending {
		t.Errorf("queued status %+v, want pending", st)
	}
	h2.Cancel() // canceled while queued: never runs
	if st := wait(t, h2); st.Phase != supervisor.PhaseCanceled || st.Attempt != 0 {
		t.Errorf("canceled queued task %+v", st)
	}
	c1.succeed()
	wait(t, h1)
	task2.next(t).succeed()
	wait(t, h3)
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"one", "three"}; !slices.Equal(order, want) {
		t.Errorf("run order %v, want %v", order, want)
	}
}

func TestCloseCancelsEverything(t *testing.T) {
	clock := newFakeClock()
	sup := supervisor.New(supervisor.Config{Clock: clock})
	task := newScripted()
	h1, _ := sup.Submit(context.Background(), supervisor.Job{RunID: "1", Spec: spec("a", 1000), Task: task})
	task.next(t).block()
	h2, _ := sup.Submit(context.Background(), supervisor.Job{RunID: "2", Spec: spec("a", 1000, func(s *abi.TaskSpec) { s.Admission = abi.AdmissionQueue }), Task: task})
	if err := sup.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*supervisor.Handle{h1, h2} {
		if st := h.Status(); st.Phase != supervisor.PhaseCanceled || !errors.Is(st.Err, supervisor.ErrClosed) {
			t.Errorf("status %+v", st)
		}
	}
	if _, err := sup.Submit(context.Background(), supervisor.Job{RunID: "3", Spec: spec("b", 1000), Task: task}); !errors.Is(err, supervisor.ErrClosed) {
		t.Errorf("submit after close: %v", err)
	}
}

func TestLinesCarryTheAttempt(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	task := newScripted()
	var mu sync.Mutex
	var lines []string
	h, err := e.sup.Submit(context.Background(), supervisor.Job{RunID: "r", Spec: spec("a", 1000, onFailure), Task: task,
		OnLine: func(a supervisor.Attempt, l supervisor.Line) {
			mu.Lock()
			lines = append(lines, fmt.Sprintf("%d %s %s", a.Number, l.Stream, l.Text))
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	c := task.next(t)
	c.out(supervisor.Line{Stream: supervisor.Stdout, Text: "first"})
	c.fail(errors.New("x"))
	e.clock.WaitTimers(100 * time.Millisecond)
	e.clock.Advance(100 * time.Millisecond)
	c = task.next(t)
	c.out(supervisor.Line{Stream: supervisor.Stderr, Text: "second"})
	c.succeed()
	wait(t, h)
	if want := []string{"1 stdout first", "2 stderr second"}; !slices.Equal(lines, want) {
		t.Errorf("lines %v, want %v", lines, want)
	}
}

func TestRunnerTypeLabelsMetrics(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	h, err := e.sup.Submit(context.Background(), supervisor.Job{RunID: "r", Spec: spec("a", 1000), RunnerType: router.RunnerSubprocess,
		Task: supervisor.TaskFunc(func(context.Context, supervisor.Attempt, supervisor.Sink) (supervisor.Result, error) {
			return supervisor.Result{}, nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, h)
	if want := []string{"started subprocess", "completed subprocess success 0s"}; !slices.Equal(e.rec.got(), want) {
		t.Errorf("metrics %v, want %v", e.rec.got(), want)
	}
}

func TestBackoffJitter(t *testing.T) {
	p := abi.BackoffPolicy{FirstMs: 100, MaxMs: 1000, Factor: 2}
	const ms = time.Millisecond
	tests := []struct {
		jitter abi.Jitter
		rand   float64
		want   []time.Duration // delays for n = 0, 1, 2, 3, 4
	}{
		{abi.JitterNone, 0.5, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1000 * ms}},
		{abi.JitterFull, 0.5, []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 500 * ms}},
		{abi.JitterFull, 0, []time.Duration{0, 0, 0, 0, 0}},
		{abi.JitterEqual, 0.5, []time.Duration{75 * ms, 150 * ms, 300 * ms, 600 * ms, 750 * ms}},
		{abi.JitterEqual, 0, []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 500 * ms}},
		// decorrelated: uniform in [first, 3*prev], prev starting at first, capped at max.
		{abi.JitterDecorrelated, 1, []time.Duration{300 * ms, 900 * ms, 1000 * ms, 1000 * ms, 1000 * ms}},
		{abi.JitterDecorrelated, 0, []time.Duration{100 * ms, 100 * ms, 100 * ms, 100 * ms, 100 * ms}},
	}
	for _, tt := range tests {
		p.Jitter = tt.jitter
		b := supervisor.NewBackoff(p, func() float64 { return tt.rand })
		var got []time.Duration
		for n := range 5 {
			got = append(got, b.Delay(n))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s jitter, rand %v: delays %v, want %v", tt.jitter, tt.rand, got, tt.want)
		}
		if d := b.Delay(0); tt.jitter == abi.JitterDecorrelated && d != tt.want[0] {
			t.Errorf("%s: Delay(0) after a run of retries = %v, want the first delay %v again", tt.jitter, d, tt.want[0])
		}
	}
}

func TestPanicIsFatal(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	h, err := e.sup.Submit(context.Background(), supervisor.Job{RunID: "r", Spec: spec("a", 1000, onFailure),
		Task: supervisor.TaskFunc(func(context.Context, supervisor.Attempt, supervisor.Sink) (supervisor.Result, error) {
			panic("bug")
		})})
	if err != nil {
		t.Fatal(err)
	}
	if st := wait(t, h); st.Phase != supervisor.PhaseFailed || st.Attempt != 1 || st.Error != "task panicked: bug" {
		t.Errorf("status %+v", st)
	}
}

// TestSlotFreeWhenDone: once Done is closed, the slot takes a new task at once.
func TestSlotFreeWhenDone(t *testing.T) {
	e := newEnv(t, supervisor.Config{})
	for i := range 100 {
		h, err := e.sup.Submit(context.Background(), supervisor.Job{RunID: fmt.Sprint(i), Spec: spec("a", 1000),
			Task: supervisor.TaskFunc(func(context.Context, supervisor.Attempt, supervisor.Sink) (supervisor.Result, error) {
				return supervisor.Result{}, nil
			})})
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		<-h.Done()
	}
}
