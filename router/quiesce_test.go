package router

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
)

// blockingRunner says yes and blocks its Build until release is closed.
type blockingRunner struct {
	name    string
	entered chan struct{}
	release chan struct{}
}

func (b *blockingRunner) Name() string                                     { return b.name }
func (b *blockingRunner) Supports(context.Context, *Request) (bool, error) { return true, nil }
func (b *blockingRunner) Build(context.Context, *Request, BuildArgs) (*abi.Plan, error) {
	close(b.entered)
	<-b.release
	return &abi.Plan{Guest: &abi.GuestPlan{}}, nil
}

// Quiesce returns only once a Build that read the routing order before a Replace has
// returned, and routing never waits for it.
func TestQuiesceWaitsForReadersOfOlderOrders(t *testing.T) {
	r := New(BuildContext{})
	old := &blockingRunner{name: "x", entered: make(chan struct{}), release: make(chan struct{})}
	mustRegister(t, r, old)
	req := newReq(t, kindWasm, nil)

	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := r.Build(context.Background(), req); err != nil {
			t.Errorf("Build: %v", err)
		}
	})
	<-old.entered
	if ok, err := r.Replace("x", newFake("x", true)); !ok || err != nil {
		t.Fatalf("Replace = %v, %v", ok, err)
	}
	// New builds go to the new runner at once.
	if b, err := r.Build(context.Background(), req); err != nil || b.Runner == Runner(old) {
		t.Fatalf("Build after Replace = %v, %v; want the new runner", b, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.Quiesce(ctx); err == nil {
		t.Fatal("Quiesce returned while a Build still read the old order")
	}
	done := make(chan error, 1)
	go func() { done <- r.Quiesce(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Quiesce = %v before the old Build returned", err)
	case <-time.After(10 * time.Millisecond):
	}
	close(old.release)
	if err := <-done; err != nil {
		t.Fatalf("Quiesce: %v", err)
	}
	wg.Wait()
	// Nothing retired is left to wait for.
	if err := r.Quiesce(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	n := len(r.retired)
	r.mu.Unlock()
	if n != 0 {
		t.Errorf("%d retired snapshots kept after Quiesce", n)
	}
}

func TestSortFunc(t *testing.T) {
	r := New(BuildContext{})
	mustRegister(t, r, newFake("c", true), newFake("a", true), newFake("b", true))
	byName := func(a, b Runner) int { return strings.Compare(a.Name(), b.Name()) }
	r.SortFunc(byName)
	var got []string
	for _, rn := range r.Runners() {
		got = append(got, rn.Name())
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("order %v, want a,b,c", got)
	}
	before := r.snap.Load()
	r.SortFunc(byName)
	if r.snap.Load() != before {
		t.Error("SortFunc published a new order for an already sorted one")
	}
}
