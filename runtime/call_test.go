package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

func load(t testing.TB, rt *runtime.Runtime, name string) *runtime.Module {
	t.Helper()
	m, err := rt.Load(context.Background(), fixture(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func fixtureRequest(t testing.TB) *router.Request {
	t.Helper()
	req, err := router.ParseRequest([]byte(`{"slot":"s1","kind":{"extension":{"type":"fixture","spec":{"n":1}}},"timeout":1000}`))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestCallsOnAWellBehavedModule(t *testing.T) {
	var logs bytes.Buffer
	rt := newRuntime(t, runtime.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	m := load(t, rt, "ok")
	if m.Name() != "fixture-ok" || !m.HasRun() || len(m.Digest()) != 64 {
		t.Fatalf("name %q hasRun %v digest %q", m.Name(), m.HasRun(), m.Digest())
	}
	if d := m.Describe(); d.Version != "1.0.0" || d.Kinds[0] != "fixture" || d.Labels["tier"] != "test" {
		t.Fatalf("describe = %+v", d)
	}
	ctx := context.Background()
	req := fixtureRequest(t)
	ok, err := m.Supports(ctx, req)
	if err != nil || !ok {
		t.Fatalf("supports = %v, %v", ok, err)
	}
	plan, err := m.Build(ctx, req, router.BuildArgs{RunID: router.RunID{ID: "fixture-ok-s1-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Type() != abi.PlanGuest || string(plan.Guest.Payload) != `{"ok":true}` {
		t.Fatalf("plan = %+v", plan)
	}
	if !strings.Contains(logs.String(), "msg=building") || !strings.Contains(logs.String(), "runner=fixture-ok") || !strings.Contains(logs.String(), "export=build") {
		t.Errorf("guest log not forwarded with its runner and export: %q", logs.String())
	}
	out, err := m.Run(ctx, &abi.RunInput{RunID: "fixture-ok-s1-1", Attempt: 1, Payload: json.RawMessage(`{"ok":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"runId":"fixture-ok-s1-1","attempt":1,"payload":{"ok":true}}`; string(out) != want {
		t.Fatalf("run echoed %s, want %s", out, want)
	}
}

func TestCallFailures(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, runtime.Config{Limits: runtime.Limits{CallTimeout: 200 * time.Millisecond, SupportsTimeout: 200 * time.Millisecond}})
	req := fixtureRequest(t)
	args := router.BuildArgs{RunID: router.RunID{ID: "x-s1-1"}}
	tests := []struct {
		module, export string
		call           func(m *runtime.Module) error
		is             error
		want           string
	}{
		{"trap-supports", "supports", func(m *runtime.Module) error { _, err := m.Supports(ctx, req); return err }, runtime.ErrTrap, "unreachable"},
		{"loop", "supports", func(m *runtime.Module) error { _, err := m.Supports(ctx, req); return err }, runtime.ErrDeadline, "200ms call deadline"},
		{"big-output", "build", func(m *runtime.Module) error { _, err := m.Build(ctx, req, args); return err }, runtime.ErrOutputTooLarge, "10485760 bytes exceeds the 1048576-byte limit"},
		{"memory-hog", "supports", func(m *runtime.Module) error { _, err := m.Supports(ctx, req); return err }, runtime.ErrMemoryLimit, "1024-page cap"},
		{"bad-pointer", "build", func(m *runtime.Module) error { _, err := m.Build(ctx, req, args); return err }, runtime.ErrBadPointer, "output(ptr=65530, len=100)"},
		{"bad-plan", "build", func(m *runtime.Module) error { _, err := m.Build(ctx, req, args); return err }, runtime.ErrBadResult, `unknown plan type "teleport"`},
		{"trap-run", "run", func(m *runtime.Module) error { _, err := m.Run(ctx, &abi.RunInput{RunID: "x"}); return err }, runtime.ErrTrap, "unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			m := load(t, rt, tt.module)
			err := tt.call(m)
			var ce *runtime.CallError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *CallError", err, err)
			}
			if ce.Export != tt.export || ce.Runner != m.Name() || ce.Path != fixture(tt.module) {
				t.Errorf("CallError names %q %q %q", ce.Path, ce.Runner, ce.Export)
			}
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want %v containing %q", err, tt.is, tt.want)
			}
			// The module keeps serving after the failure (a fresh instance replaces the broken one).
			if err2 := tt.call(m); !errors.Is(err2, tt.is) {
				t.Errorf("second call: %v, want %v again", err2, tt.is)
			}
		})
	}
}

func TestStructuredBuildErrorMapsToRouterVariant(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "build-error")
	_, err := m.Build(context.Background(), fixtureRequest(t), router.BuildArgs{})
	var ise *router.InvalidSpecError
	if !errors.As(err, &ise) || !errors.Is(err, router.ErrInvalidSpec) {
		t.Fatalf("error %T %v, want *router.InvalidSpecError", err, err)
	}
	if err.Error() != "invalid specification: field spec.color is required" {
		t.Fatalf("message %q", err)
	}
}

func TestInputLimit(t *testing.T) {
	rt := newRuntime(t, runtime.Config{Limits: runtime.Limits{MaxInputBytes: 64}})
	m := load(t, rt, "ok")
	_, err := m.Supports(context.Background(), fixtureRequest(t))
	if !errors.Is(err, runtime.ErrInputTooLarge) {
		t.Fatalf("error %v, want ErrInputTooLarge", err)
	}
}

func TestMemoryCapRefusesLargeInitialMemory(t *testing.T) {
	rt := newRuntime(t, runtime.Config{Limits: runtime.Limits{MaxMemoryPages: 100}})
	_, err := rt.Load(context.Background(), fixture("big-output")) // 161 pages initial
	if !errors.Is(err, runtime.ErrMemoryLimit) || !strings.Contains(err.Error(), "initial memory of 161 pages exceeds the 100-page cap") {
		t.Fatalf("error %v", err)
	}
}

func TestNoCallTimeoutStillServes(t *testing.T) {
	rt := newRuntime(t, runtime.Config{Limits: runtime.Limits{CallTimeout: runtime.NoCallTimeout}})
	m := load(t, rt, "ok")
	for range 3 {
		if ok, err := m.Supports(context.Background(), fixtureRequest(t)); !ok || err != nil {
			t.Fatalf("supports = %v, %v", ok, err)
		}
	}
	_, err := load(t, rt, "trap-supports").Supports(context.Background(), fixtureRequest(t))
	if !errors.Is(err, runtime.ErrTrap) {
		t.Fatalf("error %v, want ErrTrap", err)
	}
}

func TestConcurrentCallsShareThePool(t *testing.T) {
	rt := newRuntime(t, runtime.Config{Limits: runtime.Limits{MaxInstances: 3}})
	m := load(t, rt, "ok")
	req := fixtureRequest(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16*50)
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				if (g+i)%2 == 0 {
					if ok, err := m.Supports(context.Background(), req); err != nil || !ok {
						errs <- errors.Join(err, errors.New("supports said no"))
					}
				} else if _, err := m.Build(context.Background(), req, router.BuildArgs{}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCloseDrainsAndRefuses(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m, err := rt.Load(context.Background(), fixture("ok"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Supports(context.Background(), fixtureRequest(t)); !errors.Is(err, runtime.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
	if _, err := m.Run(context.Background(), &abi.RunInput{}); !errors.Is(err, runtime.ErrClosed) {
		t.Fatalf("run after Close: %v, want ErrClosed", err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRunHonoursContextDeadline(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "ok")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Run(ctx, &abi.RunInput{RunID: "x"}); !errors.Is(err, runtime.ErrCanceled) {
		t.Fatalf("run with a canceled context: %v, want ErrCanceled", err)
	}
}

// Without a per-call deadline, a run is still bounded by its context: the module is compiled
// a second time, with the fuel pass, for runs.
func TestRunStopsOnDeadlineWithoutCallTimeout(t *testing.T) {
	rt := newRuntime(t, runtime.Config{Limits: runtime.Limits{CallTimeout: runtime.NoCallTimeout}})
	m := load(t, rt, "loop-run")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := m.Run(ctx, &abi.RunInput{RunID: "x"})
	if !errors.Is(err, runtime.ErrDeadline) {
		t.Fatalf("run of a looping guest: %v, want ErrDeadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("run took %v to stop", d)
	}
	// supports still works on the fast (unmetered) code.
	if ok, err := m.Supports(context.Background(), fixtureRequest(t)); !ok || err != nil {
		t.Fatalf("supports = %v, %v", ok, err)
	}
}
