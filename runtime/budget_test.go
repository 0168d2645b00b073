package runtime_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// A shared budget bounds the instances of a module together: each reserves its memory cap,
// a run over the budget fails as a setup failure naming the budget, a closed instance gives
// its pages back, and with a wait a run waits for them.
func TestMemoryBudget(t *testing.T) {
	t.Parallel()
	const capPages = 16
	budget := runtime.NewMemoryBudget(3*capPages, 0)
	m := loadFixture(t, runtime.Config{Limits: runtime.Limits{MaxMemoryPages: capPages}, MemoryBudget: budget}, "loop-run")
	// The load's smoke test left one pooled instance, which keeps its reservation.
	if got := budget.InUse(); got != capPages {
		t.Fatalf("after load: %d pages in use, want %d", got, capPages)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 2 { // two looping runs take the rest of the budget
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = m.Run(ctx, &abi.RunInput{RunID: "r", Attempt: 1})
		}()
	}
	waitFor(t, func() bool { return budget.InUse() == 3*capPages })
	_, err := m.Run(t.Context(), &abi.RunInput{RunID: "r", Attempt: 1})
	if !errors.Is(err, runtime.ErrMemoryBudget) || !errors.Is(err, runtime.ErrSetup) {
		t.Fatalf("run over the budget: %v, want ErrMemoryBudget and ErrSetup", err)
	}
	cancel()
	wg.Wait()
	if got := budget.InUse(); got != capPages {
		t.Fatalf("after the runs: %d pages in use, want %d", got, capPages)
	}
	if err := m.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := budget.InUse(); got != 0 {
		t.Errorf("after close: %d pages in use, want 0", got)
	}
}

// With a wait, an instantiation over the budget waits for pages to be released; an instance
// whose cap alone exceeds the budget fails at once.
func TestMemoryBudgetWait(t *testing.T) {
	t.Parallel()
	const capPages = 16
	budget := runtime.NewMemoryBudget(2*capPages, time.Minute)
	m := loadFixture(t, runtime.Config{Limits: runtime.Limits{MaxMemoryPages: capPages}, MemoryBudget: budget}, "loop-run")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := m.Run(ctx, &abi.RunInput{RunID: "a", Attempt: 1})
		done <- err
	}()
	waitFor(t, func() bool { return budget.InUse() == 2*capPages })
	second := make(chan error, 1)
	rctx, rcancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer rcancel()
	go func() { // waits for the first run's pages, then loops until its own deadline
		_, err := m.Run(rctx, &abi.RunInput{RunID: "b", Attempt: 1})
		second <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	<-done
	err := <-second
	if errors.Is(err, runtime.ErrMemoryBudget) || !errors.Is(err, runtime.ErrDeadline) {
		t.Errorf("the waiting run: %v, want it to start and end at its deadline", err)
	}

	small := runtime.NewMemoryBudget(capPages-1, time.Minute)
	rt, err := runtime.New(t.Context(), runtime.Config{Limits: runtime.Limits{MaxMemoryPages: capPages}, MemoryBudget: small})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	start := time.Now()
	_, err = rt.Load(t.Context(), "../tests/testdata/modules/ok.wasm")
	if !errors.Is(err, runtime.ErrMemoryBudget) || time.Since(start) > 30*time.Second {
		t.Errorf("a cap over the whole budget: %v after %v, want ErrMemoryBudget at once", err, time.Since(start))
	}
}

// OnFuel reports the fuel a run used.
func TestRunOnFuel(t *testing.T) {
	t.Parallel()
	m := loadFixture(t, runtime.Config{}, "ok")
	var used int64 = -1
	if _, err := m.RunWith(t.Context(), &abi.RunInput{RunID: "r", Attempt: 1}, runtime.RunOptions{OnFuel: func(n int64) { used = n }}); err != nil {
		t.Fatal(err)
	}
	if used <= 0 {
		t.Errorf("OnFuel got %d, want the run's positive fuel", used)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
