package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// fuelObserver records the fuel of every call, per export.
type fuelObserver struct {
	mu    sync.Mutex
	calls map[string][]runtime.CallStats
}

func (o *fuelObserver) ModuleLoaded(runtime.ModuleRef, time.Duration) runtime.ModuleMeter { return o }
func (o *fuelObserver) ModuleRejected(string, string)                                     {}
func (o *fuelObserver) Instantiated(time.Duration, error)                                 {}
func (o *fuelObserver) PoolWaited(time.Duration)                                          {}
func (o *fuelObserver) PoolSize(int)                                                      {}
func (o *fuelObserver) Closed()                                                           {}
func (o *fuelObserver) Called(c runtime.CallStats) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.calls == nil {
		o.calls = map[string][]runtime.CallStats{}
	}
	o.calls[c.Export] = append(o.calls[c.Export], c)
}

func (o *fuelObserver) last(export string) runtime.CallStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	cs := o.calls[export]
	if len(cs) == 0 {
		return runtime.CallStats{}
	}
	return cs[len(cs)-1]
}

// Loop-free recursion, a tight loop, a memory.grow loop and host-call loops all stop once
// they have used their budget, long before the (distant) deadlines, supports's own included
// (its 100 ms default is nearer than 20M units on a loaded machine), and the module serves on.
func TestFuelStopsHogs(t *testing.T) {
	ctx := context.Background()
	const budget = 20_000_000
	obs := &fuelObserver{}
	rt := newRuntime(t, runtime.Config{Observer: obs, Limits: runtime.Limits{
		CallTimeout: time.Minute, SupportsTimeout: time.Minute, CallFuel: budget, RunFuel: budget, FuelSlice: 1_000_000}})
	req := fixtureRequest(t)
	supports := func(m *runtime.Module) error { _, err := m.Supports(ctx, req); return err }
	build := func(m *runtime.Module) error {
		_, err := m.Build(ctx, req, router.BuildArgs{RunID: router.RunID{ID: "x-s1-1"}})
		return err
	}
	run := func(m *runtime.Module) error { _, err := m.Run(ctx, &abi.RunInput{RunID: "x"}); return err }
	for _, tt := range []struct {
		name, module, export string
		call                 func(*runtime.Module) error
	}{
		{"loop-free recursion", "fuel-hog", "supports", supports},
		{"memory.grow loop", "fuel-hog", "build", build},
		{"host-call loop", "fuel-hog", "run", run},
		{"tight loop", "loop", "supports", supports},
		{"tight loop in run", "loop-run", "run", run},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := load(t, rt, tt.module)
			start := time.Now()
			err := tt.call(m)
			if !errors.Is(err, runtime.ErrFuelExhausted) || !strings.Contains(err.Error(), "over the budget of 20000000") {
				t.Fatalf("%s: %v, want ErrFuelExhausted naming the budget", tt.export, err)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v to use %d units", d, budget)
			}
			c := obs.last(tt.export)
			if c.Fault != runtime.FaultFuel || c.Fuel < budget || c.Fuel > budget+1000 {
				t.Errorf("meter: fault %q, fuel %d; want %q and the budget (+ at most one block)", c.Fault, c.Fuel, runtime.FaultFuel)
			}
			if err := tt.call(m); !errors.Is(err, runtime.ErrFuelExhausted) {
				t.Errorf("second call on a fresh instance: %v", err)
			}
		})
	}
}

// With fuel to spare, the wall clock stops a call at its deadline, checked at each slice.
func TestFuelDeadlineFirst(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, runtime.Config{Limits: runtime.Limits{CallTimeout: 100 * time.Millisecond,
		CallFuel: runtime.UnlimitedFuel, RunFuel: runtime.UnlimitedFuel}})
	m := load(t, rt, "fuel-hog")
	start := time.Now()
	_, err := m.Supports(ctx, fixtureRequest(t))
	if !errors.Is(err, runtime.ErrDeadline) || !strings.Contains(err.Error(), "100ms call deadline") {
		t.Fatalf("supports: %v, want ErrDeadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopped after %v", d)
	}
	// A run is bounded by its context.
	rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := m.Run(rctx, &abi.RunInput{RunID: "x"}); !errors.Is(err, runtime.ErrDeadline) {
		t.Fatalf("run: %v, want ErrDeadline", err)
	}
}

// The same call uses the same fuel every time: a run (a fresh instance each time), and
// supports on a pooled instance once the guest's first call has set up its state (the C
// guest's allocator takes its first pages then, so the first call costs more).
func TestFuelDeterministic(t *testing.T) {
	ctx := context.Background()
	obs := &fuelObserver{}
	rt := newRuntime(t, runtime.Config{Observer: obs})
	req, err := router.ParseRequest([]byte(`{"slot":"s1","kind":{"extension":{"type":"echo","spec":{"text":"hi"}}},"timeout":1000}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"../examples/runners/wat-echo.wasm", "../examples/runners/c-script.wasm"} {
		m, err := rt.Load(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(ctx)
		var first, run0 runtime.CallStats
		for i := 0; i < 10; i++ {
			_, _ = m.Supports(ctx, req)
			_, _ = m.Run(ctx, &abi.RunInput{RunID: "x", Payload: json.RawMessage(`{"text":"hi"}`)})
			s, r := obs.last("supports"), obs.last("run")
			if i == 1 {
				first = s
			}
			if i == 0 {
				run0 = r
				if s.Fuel <= 0 || r.Fuel <= 0 {
					t.Fatalf("%s: supports used %d, run %d: not metered", path, s.Fuel, r.Fuel)
				}
				t.Logf("%s: supports %d units, run %d", path, s.Fuel, r.Fuel)
				continue
			}
			if i > 1 && s.Fuel != first.Fuel {
				t.Fatalf("%s: supports used %d, then %d", path, first.Fuel, s.Fuel)
			}
			if r.Fuel != run0.Fuel {
				t.Fatalf("%s: run used %d, then %d", path, run0.Fuel, r.Fuel)
			}
		}
	}
}

// The fuel pass's names are the host's: a module using them is refused at load.
func TestFuelReservedNames(t *testing.T) {
	wasm, err := runtime.InstrumentFuel(readFixture(t, "ok"))
	if err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t, runtime.Config{})
	_, err = rt.LoadBytes(context.Background(), "twice.wasm", wasm)
	var le *runtime.LoadError
	if !errors.As(err, &le) || le.Stage != "validate" || !errors.Is(err, runtime.ErrInvalidModule) || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("loading an instrumented module: %v, want a validate-stage ErrInvalidModule naming the reserved name", err)
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
