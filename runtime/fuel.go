package runtime

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
	"github.com/solti-wasm/solti-wasm/runtime/internal/fuel"
)

// Fuel limits' defaults (ABI.md §7). A fuel unit is about one simple wasm instruction; the
// compiled engine runs about a billion of them a second on this project's CI machine
// (BENCHMARKS.md), so a unit is about a nanosecond of guest time there.
const (
	// DefaultCallFuel is 10^10 units: about ten seconds of guest work, ten times the default
	// call deadline, so that on the usual machine the deadline stops a slow call first and
	// fuel stops a call whose clock cannot be trusted (a loaded machine still counts the same).
	DefaultCallFuel int64 = 1e10
	// DefaultRunFuel is 10^13 units: hours of guest work; a run is bounded by its task's
	// timeout first.
	DefaultRunFuel int64 = 1e13
	// DefaultFuelSlice is 10^7 units (about 10 ms): how much fuel the guest gets between two
	// visits to the host, which is where the wall-clock deadline and the context are checked.
	DefaultFuelSlice int64 = 1e7
)

// UnlimitedFuel as a fuel limit removes the fuel budget; the deadline still applies.
const UnlimitedFuel int64 = -1

// costs is the fuel cost table the runtime instruments with (fuel.DefaultCosts, version 1).
var costs = fuel.DefaultCosts()

// Host imports' fuel: a call costs hostCallFuel, plus one unit per 2^hostByteShift bytes it
// moves (input, output, log, emit), the rate the fuel pass charges bulk memory operations.
const (
	hostCallFuel  = 10
	hostByteShift = 6
)

// InstrumentFuel returns the bytes the runtime compiles for a module when fuel is on: wasm
// instrumented by the fuel pass with the runtime's cost table (ABI.md §7). It is for tools
// and differential tests; the result imports solti_fuel.refill, (i64) -> (i64), which
// receives the fuel counter once it is negative and returns the next one.
func InstrumentFuel(wasm []byte) ([]byte, error) { return fuel.Instrument(wasm, costs) }

// fuelMeter is one call's fuel account. The guest's counter (the global the fuel pass adds)
// holds what is left of the current slice; granted is everything handed out so far, so the
// fuel used is granted minus the counter.
type fuelMeter struct {
	budget   int64 // math.MaxInt64: unlimited
	slice    int64
	granted  int64
	debt     int64           // host charges made while the counter was out of reach (instantiation)
	deadline time.Time       // zero: none
	timeout  time.Duration   // the call deadline deadline came from, for the message; 0: ctx's
	ctx      context.Context // the caller's; the call stops when it is done
}

// start opens the account of a call: budget (UnlimitedFuel or > 0), the caller's ctx, and
// the per-call timeout (<= 0: ctx's own deadline only). It returns the counter's first value.
func (f *fuelMeter) start(ctx context.Context, budget, slice int64, timeout time.Duration) int64 {
	if budget <= 0 {
		budget = math.MaxInt64
	}
	f.budget, f.slice, f.ctx, f.timeout, f.debt = budget, slice, ctx, timeout, 0
	f.deadline = time.Time{}
	if timeout > 0 {
		f.deadline = time.Now().Add(timeout)
	}
	f.granted = min(slice, budget)
	return f.granted
}

// used is the fuel used so far when the counter reads counter.
func (f *fuelMeter) used(counter int64) int64 { return f.granted - counter + f.debt }

// refill is the fuel pass's host import: the counter is negative; it returns the next
// counter, or the error that stops the call (the deadline, the context, the budget).
func (f *fuelMeter) refill(counter int64) (int64, error) {
	counter -= f.debt
	f.debt = 0
	used := f.granted - counter
	if err := ctxStop(f.ctx); err != nil {
		return 0, err
	}
	if !f.deadline.IsZero() && time.Now().After(f.deadline) {
		return 0, errorf(ErrDeadline, "did not return within the %v call deadline", f.timeout)
	}
	left := f.budget - used
	if left <= 0 {
		return 0, errorf(ErrFuelExhausted, "used %d fuel units, over the budget of %d", used, f.budget)
	}
	s := min(f.slice, left)
	f.granted = used + s
	return s, nil
}

// ctxStop returns ErrDeadline or ErrCanceled when ctx (which may be nil) is done, else nil.
func ctxStop(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return errorf(ErrDeadline, "%v", context.Cause(ctx))
		}
		return errorf(ErrCanceled, "%v", context.Cause(ctx))
	}
	return nil
}

// fuelKey finds the fuel account of a command run (runner calls find theirs in callState).
type fuelKey struct{}

// hostRefill is solti_fuel.refill: (counter i64) -> (counter i64).
func hostRefill(ctx context.Context, _ engine.Memory, stack []uint64) {
	if st := stateOf(ctx); st != nil {
		next, err := st.fuel.refill(int64(stack[0]))
		if err != nil {
			st.abort(err)
		}
		stack[0] = uint64(next)
		return
	}
	f, _ := ctx.Value(fuelKey{}).(*fuelMeter)
	if f == nil {
		panic(errorf(ErrFuelExhausted, "no fuel account for this call"))
	}
	next, err := f.refill(int64(stack[0]))
	if err != nil {
		panic(err)
	}
	stack[0] = uint64(next)
}

var sigRefill = engine.FuncType{Params: []engine.ValueType{engine.I64}, Results: []engine.ValueType{engine.I64}}

// chargeHost charges a host import call that moved n bytes to the guest's counter, asking
// for the next slice (and so checking the budget and the deadline) when it runs out.
func (st *callState) chargeHost(n uint32) {
	c := hostCallFuel + int64(n>>hostByteShift)
	g := st.counter
	if g == nil { // not metered, or instantiating: the counter is not reachable yet
		st.fuel.debt += c
		return
	}
	v := int64(g.Get()) - c
	if v < 0 {
		next, err := st.fuel.refill(v)
		if err != nil {
			g.Set(uint64(v))
			st.abort(err)
		}
		v = next
	}
	g.Set(uint64(v))
}

// dropFuelImport removes the fuel pass's import from what a module shows (inspect, the ABI
// check): it is the host's, not the module's.
func dropFuelImport(ims []engine.Import) []engine.Import {
	return slices.DeleteFunc(ims, func(im engine.Import) bool { return im.Module == fuel.ImportModule })
}
