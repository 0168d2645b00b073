package registry_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSupportsCooldown: a runner whose supports loops sits before a good one. Each of the
// first tasks waits for its supports deadline; after CooldownFaults of them the looping
// runner is out of routing and tasks route at once, until the cool-down ends; one more fault
// then takes it out again, for twice as long. Each cool-down is an event and a log line.
func TestSupportsCooldown(t *testing.T) {
	dir := t.TempDir()
	for name, fx := range map[string]string{"10-loop.wasm": "loop", "20-ok.wasm": "ok"} {
		if err := os.WriteFile(filepath.Join(dir, name), fixture(t, fx), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const supportsTimeout = 50 * time.Millisecond
	rt, err := runtime.New(context.Background(), runtime.Config{Limits: runtime.Limits{SupportsTimeout: supportsTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	var logs syncBuffer
	reg, err := registry.New(registry.Config{Dir: dir, Runtime: rt, TrapLimit: -1, Cooldown: 400 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	events, _ := reg.Subscribe(64)
	if err := reg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer reg.Close(context.Background())
	for range 2 {
		if e := <-events; e.Type != registry.EventLoaded {
			t.Fatalf("event %s, want loaded", e)
		}
	}
	req, err := router.ParseRequest([]byte(`{"slot":"s","kind":{"extension":{"type":"fixture"}},"timeout":1000}`))
	if err != nil {
		t.Fatal(err)
	}
	route := func() time.Duration {
		t.Helper()
		start := time.Now()
		rn, err := reg.Router().Route(context.Background(), req)
		if err != nil || rn.Name() != "fixture-ok" {
			t.Fatalf("routed to %v, %v; want fixture-ok", rn, err)
		}
		return time.Since(start)
	}
	cooled := func(wantMs int64) {
		t.Helper()
		select {
		case e := <-events:
			if e.Type != registry.EventCooledDown || e.Runner != "loop" || e.CooldownMs != wantMs || !strings.Contains(e.Reason, "deadline") {
				t.Fatalf("event %s, want loop cooled down for %dms after deadlines", e, wantMs)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no cooled-down event")
		}
	}
	for i := range registry.DefaultCooldownFaults {
		if d := route(); d < supportsTimeout {
			t.Fatalf("task %d routed in %v: the looping runner's supports was not asked", i+1, d)
		}
	}
	cooled(400)
	fast := func() {
		t.Helper()
		for i := range 20 {
			if d := route(); d > supportsTimeout/2 {
				t.Fatalf("task %d during the cool-down took %v", i+1, d)
			}
		}
	}
	fast()
	// The route report says why the runner said no.
	ex := reg.Router().Explain(context.Background(), req)
	if d := ex[0]; d.Verdict != router.VerdictSupportsError || !strings.Contains(d.Detail, "cooling down: out of routing for") {
		t.Errorf("route verdict %q %q, want a supports error saying it cools down", d.Verdict, d.Detail)
	}
	time.Sleep(400 * time.Millisecond)
	if d := route(); d < supportsTimeout { // the probe
		t.Fatalf("the first task after the cool-down routed in %v: the runner was not probed", d)
	}
	cooled(800)
	fast()
	if s := reg.Stats(); s.CooledDown != 2 {
		t.Errorf("stats count %d cool-downs, want 2", s.CooledDown)
	}
	if !strings.Contains(logs.String(), `level=WARN msg="runner module cooled-down"`) || !strings.Contains(logs.String(), "runner=loop") {
		t.Errorf("no log line for the cool-down:\n%s", logs.String())
	}
	var ce *runtime.CallError
	_, err = reg.Current()[0].Supports(context.Background(), req)
	if !errors.Is(err, registry.ErrCoolingDown) || !errors.As(err, &ce) || ce.Runner != "loop" {
		t.Errorf("supports during the cool-down: %v, want %v from runner loop", err, registry.ErrCoolingDown)
	}
}
