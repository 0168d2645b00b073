package supervisor_test

import (
	"sort"
	"sync"
	"time"

	"github.com/solti-wasm/solti-wasm/supervisor"
)

// fakeClock is a Clock that moves only when a test advances it. Timers fire synchronously
// inside Advance, in deadline order.
type fakeClock struct {
	mu     sync.Mutex
	cond   *sync.Cond
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	when time.Time
	d    time.Duration
	f    func()
}

func newFakeClock() *fakeClock {
	c := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) supervisor.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, when: c.now.Add(d), d: d, f: f}
	c.timers = append(c.timers, t)
	c.cond.Broadcast()
	return t
}

func (t *fakeTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			c.cond.Broadcast()
			return true
		}
	}
	return false
}

// Advance moves the clock by d and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].when.Before(c.timers[j].when) })
	var due []*fakeTimer
	for len(c.timers) > 0 && !c.timers[0].when.After(c.now) {
		due = append(due, c.timers[0])
		c.timers = c.timers[1:]
	}
	c.cond.Broadcast()
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// WaitTimers blocks until exactly the given durations are pending (in any order) and returns.
// It waits on the supervisor's goroutines reaching their timers, never on wall time.
func (c *fakeClock) WaitTimers(ds ...time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for !c.pendingAre(ds) {
		c.cond.Wait()
	}
}

func (c *fakeClock) pendingAre(ds []time.Duration) bool {
	if len(c.timers) != len(ds) {
		return false
	}
	got := make([]time.Duration, len(c.timers))
	for i, t := range c.timers {
		got[i] = t.d
	}
	want := append([]time.Duration(nil), ds...)
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}
