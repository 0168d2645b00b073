package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/solti-wasm/solti-wasm/runtime"
)

// Defaults of the supports cool-down (Config.CooldownFaults, Cooldown, CooldownMax).
const (
	DefaultCooldownFaults = 3
	DefaultCooldown       = time.Second
	DefaultCooldownMax    = time.Minute
)

// ErrCoolingDown is the answer of a version taken out of routing for a cool-down: its
// supports faulted (trapped, or hit its deadline) too many times in a row, so it is not asked
// until the cool-down ends. The router counts it as "no", at no cost to the task.
var ErrCoolingDown = errors.New("cooling down")

// The supports cool-down is a circuit breaker per version: CooldownFaults consecutive
// faulting supports calls open it for Cooldown, during which supports answers ErrCoolingDown
// at once; the first call after it is a probe, and one fault then opens it again for twice as
// long (capped at CooldownMax). Any answer (yes, no, a guest's error code) closes it. A new
// version of the file starts closed. It costs a task nothing but an atomic load while closed.
//
// It lives here, not in the router: the router routes on an immutable snapshot without locks,
// state or clock, while the registry already tells faults from answers per version (isFault),
// counts them, and reports what happens to versions (events, log, meters).

// cooldownAt returns when v's cool-down ends, and whether one is in force now.
func (v *Version) cooldownAt() (time.Time, bool) {
	until := v.coolUntil.Load()
	if until == 0 {
		return time.Time{}, false
	}
	t := time.Unix(0, until)
	return t, time.Now().Before(t)
}

// coolingDown is the error of a supports call made during v's cool-down.
func (v *Version) coolingDown(until time.Time) error {
	return &runtime.CallError{Path: v.path, Runner: v.Name(), Export: "supports",
		Err: fmt.Errorf("%w: out of routing for %v more, after %s", ErrCoolingDown, time.Until(until).Round(time.Millisecond), v.coolWhy.Load())}
}

// observeSupports advances v's breaker with a supports call's outcome.
func (v *Version) observeSupports(ctx context.Context, err error) {
	limit := int64(v.reg.cfg.CooldownFaults)
	if limit <= 0 {
		return
	}
	if err == nil || !isFault(ctx, err) {
		if err == nil || !errors.Is(err, runtime.ErrCanceled) && ctx.Err() == nil { // an answer
			if v.coolFaults.Load() != 0 || v.coolStreak.Load() != 0 {
				v.coolFaults.Store(0)
				v.coolStreak.Store(0)
			}
		}
		return
	}
	if v.coolStreak.Load() > 0 {
		limit = 1 // a probe after a cool-down: one fault reopens the breaker
	}
	n := v.coolFaults.Add(1)
	if n < limit || !v.coolFaults.CompareAndSwap(n, 0) {
		return // not yet, or a concurrent fault opened it
	}
	streak := v.coolStreak.Add(1)
	d := v.reg.cfg.Cooldown
	for i := int64(1); i < streak && d < v.reg.cfg.CooldownMax; i++ {
		d *= 2
	}
	d = min(d, v.reg.cfg.CooldownMax)
	why := fmt.Sprintf("%d consecutive faulting supports calls, the last: %v", n, err)
	if streak > 1 {
		why = fmt.Sprintf("a faulting supports call after %d cool-downs in a row: %v", streak-1, err)
	}
	v.coolWhy.Store(why)
	v.coolUntil.Store(time.Now().Add(d).UnixNano())
	v.reg.cooledDown(v, d, why)
}

// cooledDown reports a cool-down: an event (and with it a log line).
func (r *Registry) cooledDown(v *Version, d time.Duration, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.emit(Event{Type: EventCooledDown, Path: v.path, Runner: v.Name(), Digest: v.digest, CooldownMs: d.Milliseconds(),
		Reason: fmt.Sprintf("%s; out of routing for %v", why, d)})
}
