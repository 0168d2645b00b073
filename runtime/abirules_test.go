package runtime_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// TestMarkerVersionIsCanonical: solti_abi_v01 is not read as version 1 (ABI §3).
func TestMarkerVersionIsCanonical(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	_, err := rt.Load(t.Context(), fixture("abi-v01"))
	var le *runtime.LoadError
	if !errors.As(err, &le) || le.Stage != "abi" || !errors.Is(err, runtime.ErrABIVersion) ||
		!strings.Contains(err.Error(), "export solti_abi_v01 is not a version marker: the version after solti_abi_v must be canonical decimal") {
		t.Fatalf("load: %v; want an abi error naming solti_abi_v01", err)
	}
}

// TestPlanMustFitTheRunInput: a guest plan whose payload plus the RunInput envelope exceeds
// the input limit fails at build time, not at every run; one that fits runs.
func TestPlanMustFitTheRunInput(t *testing.T) {
	m := loadFixture(t, runtime.Config{}, "big-plan")
	build := func(slot string) (*abi.Plan, error) {
		req, err := router.ParseRequest([]byte(`{"slot":"` + slot + `","kind":{"extension":{"type":"fixture"}},"timeout":5000}`))
		if err != nil {
			t.Fatal(err)
		}
		return m.Build(t.Context(), req, router.BuildArgs{RunID: router.RunID{ID: "big-plan-" + slot + "-1"}, Env: abi.EnvFromMap(map[string]string{"K": "V"})})
	}
	_, err := build("b1")
	if !errors.Is(err, runtime.ErrInputTooLarge) || !strings.Contains(err.Error(), "over the 1048576-byte input limit: no run of it could start") {
		t.Fatalf("build of a 1 MiB - 4 byte plan: %v; want %v naming the limit", err, runtime.ErrInputTooLarge)
	}
	plan, err := build("f1")
	if err != nil {
		t.Fatal(err)
	}
	for _, attempt := range []int{1, 1 << 30} {
		out, err := m.Run(t.Context(), &abi.RunInput{RunID: "big-plan-f1-1", Attempt: attempt, Env: abi.EnvFromMap(map[string]string{"K": "V"}), Payload: plan.Guest.Payload})
		if err != nil || len(out) != 4 {
			t.Fatalf("run of a plan that fits: %v", err)
		}
		if n := binary.LittleEndian.Uint32(out); n > abi.DefaultMaxInputBytes || n < abi.DefaultMaxInputBytes-1024 {
			t.Errorf("run input of %d bytes", n)
		}
	}
}

// TestSupportsTimeout: supports has its own, smaller deadline; it never exceeds the call
// deadline and is off with it.
func TestSupportsTimeout(t *testing.T) {
	for _, tt := range []struct{ call, supports, want time.Duration }{
		{0, 0, runtime.DefaultSupportsTimeout},
		{time.Second, 20 * time.Millisecond, 20 * time.Millisecond},
		{30 * time.Millisecond, 0, 30 * time.Millisecond},
		{runtime.NoCallTimeout, 0, runtime.NoCallTimeout},
	} {
		rt := newRuntime(t, runtime.Config{Limits: runtime.Limits{CallTimeout: tt.call, SupportsTimeout: tt.supports}})
		if got := rt.Limits().SupportsTimeout; got != tt.want {
			t.Errorf("call %v, supports %v: SupportsTimeout %v, want %v", tt.call, tt.supports, got, tt.want)
		}
	}
	m := loadFixture(t, runtime.Config{}, "loop")
	start := time.Now()
	_, err := m.Supports(t.Context(), fixtureRequest(t))
	took := time.Since(start)
	if !errors.Is(err, runtime.ErrDeadline) || !strings.Contains(err.Error(), "did not return within the 100ms call deadline") {
		t.Fatalf("supports of a looping module: %v, want the 100ms deadline", err)
	}
	if took > 500*time.Millisecond {
		t.Errorf("supports took %v with a 100ms deadline", took)
	}
}
