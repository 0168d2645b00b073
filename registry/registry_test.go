package registry_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const fixtures = "../tests/testdata/modules"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeAtomic writes b to dir/name through a temporary file and a rename.
func writeAtomic(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// harness is a watching registry over a temporary directory, with its events.
type harness struct {
	t      testing.TB
	dir    string
	reg    *registry.Registry
	events <-chan registry.Event
}

func newHarness(t testing.TB, cfg registry.Config, files map[string]string) *harness {
	t.Helper()
	dir := t.TempDir()
	for name, fx := range files {
		if err := os.WriteFile(filepath.Join(dir, name), fixture(t, fx), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rt, err := runtime.New(context.Background(), runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir, cfg.Runtime, cfg.Watch = dir, rt, true
	if cfg.Debounce == 0 {
		cfg.Debounce = 20 * time.Millisecond
	}
	reg, err := registry.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	events, _ := reg.Subscribe(4096)
	if err := reg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := reg.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if err := rt.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &harness{t: t, dir: dir, reg: reg, events: events}
}

// next returns the next event, failing after a few seconds.
func (h *harness) next() registry.Event {
	h.t.Helper()
	select {
	case e := <-h.events:
		return e
	case <-time.After(10 * time.Second):
		h.t.Fatal("no event within 10s")
	}
	return registry.Event{}
}

// expect returns the next event and checks its type and file.
func (h *harness) expect(typ registry.EventType, file string) registry.Event {
	h.t.Helper()
	e := h.next()
	if e.Type != typ || filepath.Base(e.Path) != file {
		h.t.Fatalf("event %s, want %s of %s", e, typ, file)
	}
	return e
}

// quiet fails if an event arrives within d.
func (h *harness) quiet(d time.Duration) {
	h.t.Helper()
	select {
	case e := <-h.events:
		h.t.Fatalf("unexpected event %s", e)
	case <-time.After(d):
	}
}

func hotTask(t testing.TB, slot string) *router.Request {
	t.Helper()
	req, err := router.ParseRequest([]byte(`{"slot":"` + slot + `","kind":{"extension":{"type":"hot"}},"timeout":1000}`))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// build routes a hot task and returns the version its plan says built it ("" when no
// runner took it).
func build(t testing.TB, rtr *router.Router) (string, error) {
	t.Helper()
	b, err := rtr.Build(context.Background(), hotTask(t, "t"))
	if err != nil {
		return "", err
	}
	var p struct{ V string }
	if err := json.Unmarshal(b.Plan.Guest.Payload, &p); err != nil {
		t.Fatal(err)
	}
	if got := b.Runner.(*registry.Version).Describe().Labels["v"]; got != p.V {
		t.Errorf("plan from version %q, routed by version %q", p.V, got)
	}
	return p.V, nil
}

func TestLoadSwapRejectRemove(t *testing.T) {
	h := newHarness(t, registry.Config{}, map[string]string{"hot.wasm": "hot-a"})
	rtr := h.reg.Router()
	e := h.expect(registry.EventLoaded, "hot.wasm")
	if e.Runner != "hot" || len(e.Digest) != 64 {
		t.Fatalf("loaded event %s", e)
	}
	if v, err := build(t, rtr); v != "a" || err != nil {
		t.Fatalf("build = %q, %v", v, err)
	}

	writeAtomic(t, h.dir, "hot.wasm", fixture(t, "hot-b"))
	e = h.expect(registry.EventSwapped, "hot.wasm")
	if e.PrevDigest == "" || e.PrevDigest == e.Digest {
		t.Fatalf("swapped event %s", e)
	}
	if v, _ := build(t, rtr); v != "b" {
		t.Fatalf("after swap, version %q", v)
	}

	// Invalid versions are rejected, and b keeps serving.
	for _, bad := range []struct{ fixture, stage string }{{"abi-v2", "abi"}, {"hot-trap", "smoke"}, {"no-marker", "abi"}} {
		writeAtomic(t, h.dir, "hot.wasm", fixture(t, bad.fixture))
		e = h.expect(registry.EventRejected, "hot.wasm")
		if e.Stage != bad.stage {
			t.Errorf("%s rejected at %s (%s), want %s", bad.fixture, e.Stage, e.Reason, bad.stage)
		}
		if v, _ := build(t, rtr); v != "b" {
			t.Fatalf("after rejecting %s, version %q", bad.fixture, v)
		}
	}
	// A runner of another name is incompatible with the running one.
	writeAtomic(t, h.dir, "hot.wasm", fixture(t, "ok"))
	if e = h.expect(registry.EventRejected, "hot.wasm"); e.Stage != "compat" || !strings.Contains(e.Reason, `"fixture-ok"`) {
		t.Errorf("rejected %s", e)
	}
	// The same bytes again: nothing happens.
	writeAtomic(t, h.dir, "hot.wasm", fixture(t, "ok"))
	h.quiet(100 * time.Millisecond)

	if err := os.Rename(filepath.Join(h.dir, "hot.wasm"), filepath.Join(h.dir, "hot.wasm.bak")); err != nil {
		t.Fatal(err)
	}
	h.expect(registry.EventRemoved, "hot.wasm")
	if _, err := build(t, rtr); !errors.Is(err, router.ErrNoRunner) {
		t.Fatalf("build after removal: %v", err)
	}
	st := h.reg.Stats()
	if st.Loaded != 1 || st.Swapped != 1 || st.Rejected != 4 || st.Removed != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRollbackAfterConsecutiveFaults(t *testing.T) {
	for _, probation := range []time.Duration{0, -1} {
		t.Run(map[bool]string{true: "standby", false: "reload"}[probation == 0], func(t *testing.T) {
			testRollback(t, probation)
		})
	}
}

func testRollback(t *testing.T, probation time.Duration) {
	h := newHarness(t, registry.Config{TrapLimit: 3, Probation: probation}, map[string]string{"hot.wasm": "hot-a"})
	rtr := h.reg.Router()
	h.expect(registry.EventLoaded, "hot.wasm")
	writeAtomic(t, h.dir, "hot.wasm", fixture(t, "hot-flaky"))
	flaky := h.expect(registry.EventSwapped, "hot.wasm")
	for h.reg.Stats().Draining > 0 { // the replaced version is drained (and parked)
		time.Sleep(time.Millisecond)
	}
	compiles := h.reg.Stats().Compiles
	for i := range 3 {
		if _, err := build(t, rtr); !errors.Is(err, runtime.ErrTrap) {
			t.Fatalf("build %d on the flaky version: %v, want a trap", i, err)
		}
	}
	e := h.expect(registry.EventRolledBack, "hot.wasm")
	if e.PrevDigest != flaky.Digest || e.Digest != flaky.PrevDigest || !strings.Contains(e.Reason, "3 consecutive") {
		t.Fatalf("rolled-back event %s", e)
	}
	if v, err := build(t, rtr); v != "a" || err != nil {
		t.Fatalf("after rollback: %q, %v", v, err)
	}
	if n, want := h.reg.Stats().Compiles-compiles, map[bool]uint64{true: 0, false: 1}[probation == 0]; n != want {
		t.Errorf("the rollback compiled %d times, want %d", n, want)
	}
	// The quarantined version is refused when written again; another version is not.
	writeAtomic(t, h.dir, "hot.wasm", fixture(t, "hot-b"))
	h.expect(registry.EventSwapped, "hot.wasm")
	writeAtomic(t, h.dir, "hot.wasm", fixture(t, "hot-flaky"))
	if e := h.expect(registry.EventRejected, "hot.wasm"); e.Stage != "quarantine" {
		t.Fatalf("rewritten flaky version: %s", e)
	}
}

func TestRollbackWithoutPreviousUnregisters(t *testing.T) {
	h := newHarness(t, registry.Config{TrapLimit: 2}, map[string]string{"hot.wasm": "hot-flaky"})
	rtr := h.reg.Router()
	h.expect(registry.EventLoaded, "hot.wasm")
	for range 2 {
		_, _ = build(t, rtr)
	}
	if e := h.expect(registry.EventRolledBack, "hot.wasm"); e.Digest != "" || !strings.Contains(e.Reason, "no previous version") {
		t.Fatalf("event %s", e)
	}
	if _, err := build(t, rtr); !errors.Is(err, router.ErrNoRunner) {
		t.Fatalf("build: %v", err)
	}
	if f := h.reg.Failed(); len(f) != 1 || f[0].Stage != "quarantine" {
		t.Fatalf("Failed() = %v", f)
	}
	writeAtomic(t, h.dir, "hot.wasm", fixture(t, "hot-a"))
	h.expect(registry.EventLoaded, "hot.wasm")
}

func TestDuplicateNamesFollowRoutingOrder(t *testing.T) {
	h := newHarness(t, registry.Config{}, map[string]string{"b.wasm": "hot-a", "c.wasm": "hot-b"})
	h.expect(registry.EventLoaded, "b.wasm")
	e := h.expect(registry.EventRejected, "c.wasm")
	if !errors.Is(h.reg.Failed()[0], runtime.ErrDuplicateName) || !strings.Contains(e.Reason, "b.wasm") {
		t.Fatalf("loser's event %s", e)
	}
	// A file that sorts first takes the name over.
	writeAtomic(t, h.dir, "a.wasm", fixture(t, "hot-b"))
	if e := h.expect(registry.EventRejected, "b.wasm"); !strings.Contains(e.Reason, "a.wasm") {
		t.Fatalf("evicted owner's event %s", e)
	}
	h.expect(registry.EventLoaded, "a.wasm")
	if v, _ := build(t, h.reg.Router()); v != "b" {
		t.Fatalf("version %q, want a.wasm's b", v)
	}
	// When it goes, the next file in order gets the name back.
	if err := os.Remove(filepath.Join(h.dir, "a.wasm")); err != nil {
		t.Fatal(err)
	}
	h.expect(registry.EventRemoved, "a.wasm")
	h.expect(registry.EventLoaded, "b.wasm")
	if v, _ := build(t, h.reg.Router()); v != "a" {
		t.Fatalf("version %q, want b.wasm's a", v)
	}
}

func TestRoutingOrderFollowsFilesAndOrderFile(t *testing.T) {
	h := newHarness(t, registry.Config{}, map[string]string{"20-ok.wasm": "ok", "30-hot.wasm": "hot-a"})
	h.next()
	h.next()
	order := func() string {
		var names []string
		for _, rn := range h.reg.Router().Runners() {
			names = append(names, rn.Name())
		}
		return strings.Join(names, ",")
	}
	if got := order(); got != "fixture-ok,hot" {
		t.Fatalf("order %s", got)
	}
	writeAtomic(t, h.dir, "10-echo.wasm", fixture(t, "trap-run"))
	h.expect(registry.EventLoaded, "10-echo.wasm")
	if got := order(); got != "trap-run,fixture-ok,hot" {
		t.Fatalf("order %s after adding 10-echo.wasm", got)
	}
	if err := os.WriteFile(filepath.Join(h.dir, registry.OrderFileName), []byte("# hot first\n30-hot.wasm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for order() != "hot,trap-run,fixture-ok" {
		if time.Now().After(deadline) {
			t.Fatalf("order %s after the order file", order())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCallsOnADrainedVersionAreForwarded(t *testing.T) {
	h := newHarness(t, registry.Config{}, map[string]string{"hot.wasm": "hot-a"})
	h.expect(registry.EventLoaded, "hot.wasm")
	old := h.reg.Current()[0]
	writeAtomic(t, h.dir, "hot.wasm", fixture(t, "hot-b"))
	h.expect(registry.EventSwapped, "hot.wasm")
	for h.reg.Stats().Draining > 0 {
		time.Sleep(time.Millisecond)
	}
	plan, err := old.Build(context.Background(), hotTask(t, "t"), router.BuildArgs{RunID: router.MakeRunID("hot", "t")})
	if err != nil || !strings.Contains(string(plan.Guest.Payload), `"b"`) {
		t.Fatalf("build on the drained version: %v, %v", plan, err)
	}
	if h.reg.Stats().Forwarded != 1 {
		t.Errorf("stats %+v", h.reg.Stats())
	}
	if err := os.Remove(filepath.Join(h.dir, "hot.wasm")); err != nil {
		t.Fatal(err)
	}
	h.expect(registry.EventRemoved, "hot.wasm")
	for h.reg.Stats().Draining > 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := old.Supports(context.Background(), hotTask(t, "t")); !errors.Is(err, registry.ErrRetired) {
		t.Fatalf("supports on a removed version: %v", err)
	}
}

func TestEventString(t *testing.T) {
	e := registry.Event{Time: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), Type: registry.EventRejected, Path: "/x/hot.wasm",
		Digest: strings.Repeat("ab", 32), Stage: "abi", Reason: "module speaks\nv2"}
	want := `2026-01-02T03:04:05.006Z rejected hot.wasm digest=abababababab stage=abi reason="module speaks | v2"`
	if got := e.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestSubscribeAfterCloseAndCancel(t *testing.T) {
	h := newHarness(t, registry.Config{}, nil)
	ch, cancel := h.reg.Subscribe(1)
	cancel()
	cancel()
	if _, ok := <-ch; ok {
		t.Fatal("channel open after cancel")
	}
}

// A file that stays an incomplete wasm binary longer than Settle is rejected as truncated;
// before that it is neither loaded nor rejected.
func TestTruncatedFileIsRejectedOnceSettled(t *testing.T) {
	h := newHarness(t, registry.Config{Settle: 150 * time.Millisecond}, map[string]string{"hot.wasm": "hot-a"})
	h.expect(registry.EventLoaded, "hot.wasm")
	b := fixture(t, "hot-b")
	start := time.Now()
	if err := os.WriteFile(filepath.Join(h.dir, "hot.wasm"), b[:len(b)-10], 0o644); err != nil {
		t.Fatal(err)
	}
	e := h.expect(registry.EventRejected, "hot.wasm")
	if d := time.Since(start); d < 100*time.Millisecond { // 150 ms, less the file clock's coarseness
		t.Errorf("rejected after %v, before the file settled", d)
	}
	if e.Stage != "read" || !strings.Contains(e.Reason, "truncated") || !errors.Is(h.reg.Failed()[0], runtime.ErrInvalidModule) {
		t.Fatalf("event %s", e)
	}
	if v, _ := build(t, h.reg.Router()); v != "a" {
		t.Fatalf("version %q after a truncated write", v)
	}
	if n := h.reg.Stats().Compiles; n != 1 {
		t.Errorf("%d compiles: a truncated file must not be compiled", n)
	}
}

// When the order file makes the loser of a duplicate name sort first, it takes the name over.
func TestOrderFileResolvesDuplicatesAgain(t *testing.T) {
	h := newHarness(t, registry.Config{}, map[string]string{"a.wasm": "hot-a", "b.wasm": "hot-b"})
	h.expect(registry.EventLoaded, "a.wasm")
	h.expect(registry.EventRejected, "b.wasm")
	if err := os.WriteFile(filepath.Join(h.dir, registry.OrderFileName), []byte("b.wasm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if e := h.expect(registry.EventRejected, "a.wasm"); !strings.Contains(e.Reason, "b.wasm") {
		t.Fatalf("event %s", e)
	}
	h.expect(registry.EventLoaded, "b.wasm")
	if v, _ := build(t, h.reg.Router()); v != "b" {
		t.Fatalf("version %q, want b.wasm's", v)
	}
}
