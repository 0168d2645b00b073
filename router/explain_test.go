package router

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
)

func TestExplainVerdicts(t *testing.T) {
	eu := map[string]string{"zone": "eu"}
	r := New(BuildContext{})
	subOnly := newFake("subprocess-only", true)
	wrongZone := newFake("wrong-zone", true)
	wrongTier := newFake("wrong-tier", true)
	declines := newFake("declines", false)
	broken := newFake("broken", true)
	broken.supportsErr = errors.New("guest trapped: unreachable")
	winner := newFake("winner", true)
	late := newFake("late", true)

	mustRegister(t, r, described(subOnly, []string{"subprocess", "container"}, eu))
	if err := r.RegisterWithLabels(wrongZone, map[string]string{"zone": "us", "tier": "gold"}); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterWithLabels(wrongTier, map[string]string{"zone": "eu", "tier": "bronze"}); err != nil {
		t.Fatal(err)
	}
	gold := map[string]string{"zone": "eu", "tier": "gold"}
	for _, f := range []*fakeRunner{declines, broken, winner, late} {
		if err := r.RegisterWithLabels(f, gold); err != nil {
			t.Fatal(err)
		}
	}

	sel := &abi.RunnerSelector{
		MatchLabels:      eu,
		MatchExpressions: []abi.LabelRequirement{{Key: "tier", Operator: abi.OpIn, Values: []string{"gold"}}},
	}
	req := newReq(t, kindWasm, sel)
	got := r.Explain(context.Background(), req)
	want := []Decision{
		{Runner: "subprocess-only", Labels: eu, Verdict: VerdictKindFiltered, Detail: "handles subprocess, container; task kind is wasm"},
		{Runner: "wrong-zone", Labels: map[string]string{"zone": "us", "tier": "gold"}, Verdict: VerdictSelector, Detail: "matchLabels zone=eu: runner has zone=us"},
		{Runner: "wrong-tier", Labels: map[string]string{"zone": "eu", "tier": "bronze"}, Verdict: VerdictSelector, Detail: "tier In [gold]: runner has tier=bronze"},
		{Runner: "declines", Labels: gold, Verdict: VerdictUnsupported, Detail: "supports returned false"},
		{Runner: "broken", Labels: gold, Verdict: VerdictSupportsError, Detail: "guest trapped: unreachable"},
		{Runner: "winner", Labels: gold, Verdict: VerdictChosen},
		{Runner: "late", Labels: gold, Verdict: VerdictNotAsked},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Explain:\n got: %+v\nwant: %+v", got, want)
	}

	// Who was asked: only the runners past the cheap filters, up to the chosen one.
	for f, asked := range map[*fakeRunner]bool{
		subOnly: false, wrongZone: false, wrongTier: false, declines: true, broken: true, winner: true, late: false,
	} {
		if got := f.supportsCalls.Load() == 1; got != asked {
			t.Errorf("%s: Supports calls = %d, want asked=%v", f.name, f.supportsCalls.Load(), asked)
		}
		if f.buildCalls.Load() != 0 {
			t.Errorf("%s: Explain built", f.name)
		}
	}

	// Explain agrees with Route.
	rn, err := r.Route(context.Background(), req)
	if err != nil || rn.Name() != "winner" {
		t.Errorf("Route = %v, %v; want winner", rn, err)
	}
}

func TestExplainEmbedded(t *testing.T) {
	r := New(BuildContext{})
	a, b := newFake("a", true), newFake("b", true)
	mustRegister(t, r, a, described(b, []string{"embedded"}, nil))
	got := r.Explain(context.Background(), newReq(t, kindEmbedded, nil))
	if len(got) != 2 {
		t.Fatalf("Explain = %+v", got)
	}
	for _, d := range got {
		if d.Verdict != VerdictEmbedded || d.Detail != "embedded tasks run in the host and are never routed" {
			t.Errorf("decision %+v, want embedded", d)
		}
	}
	if a.supportsCalls.Load()+b.supportsCalls.Load() != 0 {
		t.Error("Supports called for an embedded task")
	}
}

func TestExplainNoRunnerChosen(t *testing.T) {
	r := New(BuildContext{})
	mustRegister(t, r, newFake("a", false), described(newFake("b", true), []string{"container"}, nil))
	got := r.Explain(context.Background(), newReq(t, kindWasm, nil))
	want := []Decision{
		{Runner: "a", Verdict: VerdictUnsupported, Detail: "supports returned false"},
		{Runner: "b", Verdict: VerdictKindFiltered, Detail: "handles container; task kind is wasm"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Explain:\n got: %+v\nwant: %+v", got, want)
	}
	if _, err := r.Build(context.Background(), newReq(t, kindWasm, nil)); !errors.Is(err, ErrNoRunner) {
		t.Errorf("Build = %v, want NoRunner", err)
	}
	if got := New(BuildContext{}).Explain(context.Background(), newReq(t, kindWasm, nil)); len(got) != 0 {
		t.Errorf("empty router Explain = %+v", got)
	}
}

func TestExplainReturnsCopies(t *testing.T) {
	r := New(BuildContext{})
	if err := r.RegisterWithLabels(newFake("a", true), map[string]string{"zone": "eu"}); err != nil {
		t.Fatal(err)
	}
	req := newReq(t, kindWasm, &abi.RunnerSelector{MatchLabels: map[string]string{"zone": "eu"}})
	d := r.Explain(context.Background(), req)
	d[0].Labels["zone"] = "us"
	if again := r.Explain(context.Background(), req); again[0].Verdict != VerdictChosen || again[0].Labels["zone"] != "eu" {
		t.Errorf("changing an explanation changed the router: %+v", again)
	}
}

func TestExplainAllocatesNoRunID(t *testing.T) {
	r := New(BuildContext{})
	mustRegister(t, r, newFake("a", true))
	before := MakeRunID("probe", "s").Seq
	r.Explain(context.Background(), newReq(t, kindWasm, nil))
	if after := MakeRunID("probe", "s").Seq; after != before+1 {
		t.Errorf("Explain allocated %d run ids", after-before-1)
	}
}

// TestNoRunnerErrorCarriesFaults checks that Build's NoRunnerError lists, in routing order,
// the runners whose Supports failed, and only those: a runner that said no is no fault.
func TestNoRunnerErrorCarriesFaults(t *testing.T) {
	r := New(BuildContext{})
	first, declines, second := newFake("first", true), newFake("declines", false), newFake("second", true)
	first.supportsErr = errors.New("trap: unreachable")
	second.supportsErr = errors.New("deadline exceeded")
	mustRegister(t, r, first, declines, second)
	_, err := r.Build(context.Background(), newReq(t, kindWasm, nil))
	var nr *NoRunnerError
	if !errors.As(err, &nr) {
		t.Fatalf("Build error = %v, want a *NoRunnerError", err)
	}
	if len(nr.Faults) != 2 || nr.Faults[0].Runner != "first" || nr.Faults[0].Err != first.supportsErr ||
		nr.Faults[1].Runner != "second" || nr.Faults[1].Err != second.supportsErr {
		t.Errorf("Faults = %+v, want first's and second's errors, in that order", nr.Faults)
	}
	if got := err.Error(); got != "no suitable runner for task kind: wasm" {
		t.Errorf("Error() = %q: the faults must not change the message", got)
	}
}
