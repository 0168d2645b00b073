package supervisor

import (
	"math"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Backoff computes the delays between failed attempts of one task: the n-th retry (n from 0)
// waits jitter(min(first * factor^n, max)). It is not safe for concurrent use; each task has
// its own.
type Backoff struct {
	policy abi.BackoffPolicy
	rand   func() float64 // in [0, 1)
	prev   time.Duration  // the last delay, for decorrelated jitter
}

// NewBackoff returns a backoff for p drawing from rand, a source of floats in [0, 1).
func NewBackoff(p abi.BackoffPolicy, rand func() float64) *Backoff {
	return &Backoff{policy: p, rand: rand}
}

// Delay returns the delay before retry n (0 for the first retry after a failure).
//
//   - none: the capped exponential itself, d = min(first * factor^n, max);
//   - full: uniform in [0, d] (AWS "full jitter");
//   - equal: d/2 + uniform in [0, d/2];
//   - decorrelated: min(max, uniform in [first, 3 * previous delay]), starting from first
//     (AWS "decorrelated jitter"; n only resets it).
func (b *Backoff) Delay(n int) time.Duration {
	first := float64(b.policy.FirstMs) * float64(time.Millisecond)
	maxD := float64(b.policy.MaxMs) * float64(time.Millisecond)
	if n == 0 {
		b.prev = 0
	}
	d := math.Min(first*math.Pow(max(b.policy.Factor, 1), float64(n)), maxD)
	var out float64
	switch b.policy.Jitter {
	case abi.JitterNone:
		out = d
	case abi.JitterEqual:
		out = d/2 + b.rand()*d/2
	case abi.JitterDecorrelated:
		prev := float64(b.prev)
		if prev < first {
			prev = first
		}
		out = math.Min(maxD, first+b.rand()*(3*prev-first))
	default: // full, the default
		out = b.rand() * d
	}
	b.prev = time.Duration(out)
	return b.prev
}
