package runtime_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// countingObserver counts instantiations and calls per export.
type countingObserver struct {
	mu     sync.Mutex
	insts  int
	calls  map[string]int
	faults []string
	loads  int
	reject []string
	closed int
	size   int
}

func (o *countingObserver) ModuleLoaded(runtime.ModuleRef, time.Duration) runtime.ModuleMeter {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.loads++
	return o
}
func (o *countingObserver) ModuleRejected(_ string, stage string) {
	o.mu.Lock()
	o.reject = append(o.reject, stage)
	o.mu.Unlock()
}
func (o *countingObserver) Called(c runtime.CallStats) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.calls == nil {
		o.calls = map[string]int{}
	}
	o.calls[c.Export]++
	if c.Fault != "" {
		o.faults = append(o.faults, c.Export+":"+c.Fault)
	}
}
func (o *countingObserver) Instantiated(time.Duration, error) { o.mu.Lock(); o.insts++; o.mu.Unlock() }
func (o *countingObserver) PoolWaited(time.Duration)          {}
func (o *countingObserver) PoolSize(n int)                    { o.mu.Lock(); o.size = n; o.mu.Unlock() }
func (o *countingObserver) Closed()                           { o.mu.Lock(); o.closed++; o.mu.Unlock() }

func loadFixture(t *testing.T, cfg runtime.Config, name string) *runtime.Module {
	t.Helper()
	rt, err := runtime.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	m, err := rt.Load(t.Context(), "../tests/testdata/modules/"+name+".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRunStreamsEmittedLines(t *testing.T) {
	m := loadFixture(t, runtime.Config{}, "emit-run")
	var got []string
	out, err := m.RunWith(t.Context(), &abi.RunInput{RunID: "r", Attempt: 1}, runtime.RunOptions{OnLine: func(l runtime.RunLine) {
		got = append(got, string(rune('0'+l.Stream))+" "+l.Text)
	}})
	if err != nil || string(out) != "done" {
		t.Fatalf("%v, output %q", err, out)
	}
	if want := []string{"1 one", "1 two", "2 careful", "0 logged"}; !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	// Without a sink the lines go to the logger; the run is the same.
	if out, err := m.Run(t.Context(), &abi.RunInput{RunID: "r", Attempt: 1}); err != nil || string(out) != "done" {
		t.Errorf("Run: %v, %q", err, out)
	}
}

func TestEmitLimits(t *testing.T) {
	m := loadFixture(t, runtime.Config{Limits: runtime.Limits{MaxLineBytes: 2, MaxLinesPerCall: 2}}, "emit-run")
	var got []string
	_, err := m.RunWith(t.Context(), &abi.RunInput{RunID: "r", Attempt: 1}, runtime.RunOptions{OnLine: func(l runtime.RunLine) {
		if l.Stream != runtime.StreamLog {
			got = append(got, l.Text)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"on", "tw"}; !slices.Equal(got, want) { // truncated; the third line dropped
		t.Errorf("lines %q, want %q", got, want)
	}
}

func TestRunInstancePolicy(t *testing.T) {
	tests := []struct {
		name      string
		calls     int
		fixture   string
		wantInsts int
	}{
		{"fresh per run", 0, "ok", 5},
		{"pooled, retired after 3 runs", 3, "ok", 2},
		{"pooled, retired after a trap", 3, "trap-run", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &countingObserver{}
			m := loadFixture(t, runtime.Config{Observer: obs, RunInstanceCalls: tt.calls}, tt.fixture)
			obs.mu.Lock()
			obs.insts = 0 // the load's own instance is not counted by the meter anyway
			obs.mu.Unlock()
			for i := range 5 {
				_, err := m.Run(t.Context(), &abi.RunInput{RunID: "r", Attempt: i + 1})
				if tt.fixture == "ok" && err != nil {
					t.Fatal(err)
				}
			}
			obs.mu.Lock()
			defer obs.mu.Unlock()
			if obs.insts != tt.wantInsts || obs.calls["run"] != 5 {
				t.Errorf("%d instantiations, %d runs; want %d, 5", obs.insts, obs.calls["run"], tt.wantInsts)
			}
		})
	}
}

func TestRunSetupErrors(t *testing.T) {
	m := loadFixture(t, runtime.Config{}, "wasi-plan") // a runner without run
	if _, err := m.Run(t.Context(), &abi.RunInput{}); !errors.Is(err, runtime.ErrSetup) || !errors.Is(err, runtime.ErrNoRun) {
		t.Errorf("no run export: %v, want ErrSetup and ErrNoRun", err)
	}
	m = loadFixture(t, runtime.Config{}, "trap-run")
	if _, err := m.Run(t.Context(), &abi.RunInput{}); errors.Is(err, runtime.ErrSetup) || !errors.Is(err, runtime.ErrTrap) {
		t.Errorf("trap: %v, want ErrTrap, not ErrSetup", err)
	}
}

func TestObserverSeesLoadsAndRejections(t *testing.T) {
	obs := &countingObserver{}
	rt, err := runtime.New(t.Context(), runtime.Config{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	if _, err := rt.Load(t.Context(), "../tests/testdata/modules/abi-v2.wasm"); err == nil {
		t.Fatal("abi-v2 loaded")
	}
	m, err := rt.Load(t.Context(), "../tests/testdata/modules/trap-run.wasm")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = m.Run(t.Context(), &abi.RunInput{})
	_ = m.Close(t.Context())
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.loads != 1 || !slices.Equal(obs.reject, []string{"abi"}) || obs.closed != 1 || obs.size != 0 {
		t.Errorf("loads %d, rejections %v, closed %d, live %d; want 1, [abi], 1, 0", obs.loads, obs.reject, obs.closed, obs.size)
	}
	if !slices.Equal(obs.faults, []string{"run:trap"}) {
		t.Errorf("faults %v, want [run:trap]", obs.faults)
	}
}
