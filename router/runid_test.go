package router

import (
	"context"
	"regexp"
	"strconv"
	"sync"
	"testing"
)

func TestMakeRunIDFormat(t *testing.T) {
	tests := []struct{ runner, slot string }{
		{"subprocess", "jobs"},
		{"wasm-hello", "a.b_c-d"},
		{"r", "x"},
	}
	for _, tt := range tests {
		id := MakeRunID(tt.runner, tt.slot)
		if id.Seq == 0 {
			t.Errorf("Seq = 0: the counter starts at 1")
		}
		if want := tt.runner + "-" + tt.slot + "-" + strconv.FormatUint(id.Seq, 10); id.ID != want {
			t.Errorf("ID = %q, want %q", id.ID, want)
		}
		if id.String() != id.ID {
			t.Errorf("String() = %q, want %q", id.String(), id.ID)
		}
		re := regexp.MustCompile(`^` + regexp.QuoteMeta(tt.runner+"-"+tt.slot) + `-[1-9][0-9]*$`)
		if !re.MatchString(id.ID) {
			t.Errorf("ID %q does not match %s", id.ID, re)
		}
	}
}

func TestMakeRunIDSeqStrictlyIncreasing(t *testing.T) {
	prev := MakeRunID("a", "s").Seq
	for i := 0; i < 100; i++ {
		// Every runner and slot draws from the same counter.
		id := MakeRunID("runner"+strconv.Itoa(i%3), "slot"+strconv.Itoa(i%5))
		if id.Seq != prev+1 {
			t.Fatalf("Seq = %d after %d; want consecutive numbers in a single goroutine", id.Seq, prev)
		}
		prev = id.Seq
	}
}

func TestBuildAllocatesOneRunIDPerBuild(t *testing.T) {
	r := New(BuildContext{})
	f := newFake("wasm-hello", true)
	mustRegister(t, r, f)
	req := newReq(t, kindWasm, nil)

	b1, err := r.Build(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if args := f.lastArgs(t); args.RunID != b1.RunID {
		t.Errorf("runner got run id %v, Built has %v", args.RunID, b1.RunID)
	}
	if want := "wasm-hello-jobs-" + strconv.FormatUint(b1.RunID.Seq, 10); b1.RunID.ID != want {
		t.Errorf("run id = %q, want %q", b1.RunID.ID, want)
	}

	b2, err := r.Build(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if b2.RunID.Seq != b1.RunID.Seq+1 {
		t.Errorf("second build seq = %d, want %d (one id per build)", b2.RunID.Seq, b1.RunID.Seq+1)
	}

	// A build that finds no runner allocates nothing.
	if _, err := r.Build(context.Background(), newReq(t, kindEmbedded, nil)); err == nil {
		t.Fatal("embedded task built")
	}
	if next := MakeRunID("probe", "s").Seq; next != b2.RunID.Seq+1 {
		t.Errorf("a failed routing consumed %d sequence numbers", next-b2.RunID.Seq-1)
	}

	// Each Build call gave the runner exactly one id.
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.args) != 2 {
		t.Errorf("runner built %d times, want 2", len(f.args))
	}
}

// TestRunIDUniqueAcrossGoroutinesAndRouters: one process-wide counter serves every router.
func TestRunIDUniqueAcrossGoroutinesAndRouters(t *testing.T) {
	const goroutines, builds = 8, 1000
	routers := make([]*Router, 3)
	for i := range routers {
		routers[i] = New(BuildContext{})
		mustRegister(t, routers[i], newFake("r"+strconv.Itoa(i), true))
	}
	req := newReq(t, kindWasm, nil)

	ids := make([][]RunID, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			r := routers[g%len(routers)]
			out := make([]RunID, 0, builds)
			for range builds {
				b, err := r.Build(context.Background(), req)
				if err != nil {
					t.Error(err)
					return
				}
				out = append(out, b.RunID)
			}
			ids[g] = out
		})
	}
	wg.Wait()

	seen := make(map[uint64]bool, goroutines*builds)
	texts := make(map[string]bool, goroutines*builds)
	for g, list := range ids {
		if len(list) != builds {
			t.Fatalf("goroutine %d made %d builds", g, len(list))
		}
		runner := "r" + strconv.Itoa(g%len(routers))
		for i, id := range list {
			if seen[id.Seq] {
				t.Fatalf("seq %d allocated twice", id.Seq)
			}
			seen[id.Seq] = true
			if texts[id.ID] {
				t.Fatalf("run id %s allocated twice", id.ID)
			}
			texts[id.ID] = true
			if i > 0 && id.Seq <= list[i-1].Seq {
				t.Fatalf("goroutine %d: seq %d after %d", g, id.Seq, list[i-1].Seq)
			}
			if want := runner + "-jobs-" + strconv.FormatUint(id.Seq, 10); id.ID != want {
				t.Fatalf("run id %q, want %q", id.ID, want)
			}
		}
	}
	if len(seen) != goroutines*builds {
		t.Errorf("%d distinct seqs, want %d", len(seen), goroutines*builds)
	}
}
