package router

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentRoutingAndRegistration routes from many goroutines while one goroutine
// registers, replaces and unregisters runners. Run it with -race. "back", which supports
// everything, stays registered, so every build must succeed, and be made by a runner that
// could have been chosen; every explanation must choose exactly one runner.
func TestConcurrentRoutingAndRegistration(t *testing.T) {
	const routers, iterations, churn = 8, 500, 50
	r := New(BuildContext{})
	mustRegister(t, r, newFake("front", true), newFake("mid-0", true), newFake("back", true))
	req := newReq(t, kindWasm, nil)

	stop := make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// "front" flips between a runner that says yes and one that says no.
			if ok, err := r.Replace("front", newFake("front", i%2 == 0)); !ok || err != nil {
				t.Errorf("Replace(front) = %v, %v", ok, err)
				return
			}
			// The middle runner is renamed in place, and says yes one time in three.
			mid, next := "mid-"+strconv.Itoa(i), "mid-"+strconv.Itoa(i+1)
			if ok, err := r.Replace(mid, described(newFake(next, i%3 == 0), nil, map[string]string{"n": strconv.Itoa(i)})); !ok || err != nil {
				t.Errorf("Replace(%s) = %v, %v", mid, ok, err)
				return
			}
			// Runners come and go behind "back".
			name := "churn-" + strconv.Itoa(i%churn)
			if !r.Unregister(name) {
				if err := r.RegisterWithLabels(newFake(name, true), map[string]string{"n": strconv.Itoa(i)}); err != nil {
					t.Errorf("RegisterWithLabels(%s): %v", name, err)
					return
				}
			}
		}
	})

	var readers sync.WaitGroup
	for range routers {
		readers.Go(func() {
			for i := range iterations {
				if i%3 == 2 {
					chosen := 0
					for _, d := range r.Explain(context.Background(), req) {
						if d.Verdict == VerdictChosen {
							chosen++
						}
					}
					if chosen != 1 {
						t.Errorf("Explain chose %d runners", chosen)
					}
					continue
				}
				built, err := r.Build(context.Background(), req)
				if err != nil {
					t.Errorf("Build: %v", err)
					continue
				}
				name := built.Runner.Name()
				if name != "front" && name != "back" && !strings.HasPrefix(name, "mid-") {
					t.Errorf("built by %q", name)
				}
				if !strings.HasPrefix(built.RunID.ID, name+"-jobs-") {
					t.Errorf("run id %q not made for runner %q", built.RunID.ID, name)
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	writer.Wait()

	names := runnerNames(r)
	if len(names) < 3 || names[0] != "front" || !strings.HasPrefix(names[1], "mid-") || names[2] != "back" {
		t.Errorf("routing order after the churn = %v", names)
	}
}

func TestRequestJSONConcurrent(t *testing.T) {
	req := newReq(t, kindWasm, nil)
	const n = 16
	results := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b, err := req.JSON()
			if err != nil {
				t.Error(err)
			}
			results[i] = b
		})
	}
	wg.Wait()
	for _, b := range results[1:] {
		if &b[0] != &results[0][0] {
			t.Fatal("concurrent JSON calls encoded more than once")
		}
	}
}
