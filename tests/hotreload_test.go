package tests

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/registry"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// Hot reload, end to end: a watching registry over a temporary runners directory, tasks
// flowing through its router while files change. The hot-* fixtures are one runner, "hot",
// in versions that label themselves (v=a, v=b) and put the same letter in their plans.

// hot is a watching registry over a temporary directory.
type hot struct {
	t      *testing.T
	dir    string
	rt     *runtime.Runtime
	reg    *registry.Registry
	events <-chan registry.Event
}

func startHot(t *testing.T, cfg registry.Config, initial string) *hot {
	t.Helper()
	dir := t.TempDir()
	if initial != "" {
		if err := os.WriteFile(filepath.Join(dir, "hot.wasm"), hotBytes(t, initial), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rt, err := runtime.New(context.Background(), runtime.Config{Limits: runtime.Limits{CompileTimeout: raceCompileTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir, cfg.Runtime, cfg.Watch = dir, rt, true
	reg, err := registry.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	events, _ := reg.Subscribe(1 << 14)
	if err := reg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := &hot{t: t, dir: dir, rt: rt, reg: reg, events: events}
	t.Cleanup(h.close)
	return h
}

func (h *hot) close() {
	if h.reg == nil {
		return
	}
	if err := h.reg.Close(context.Background()); err != nil {
		h.t.Error(err)
	}
	if err := h.rt.Close(context.Background()); err != nil {
		h.t.Error(err)
	}
	h.reg = nil
}

var hotCache sync.Map

func hotBytes(t testing.TB, name string) []byte {
	if b, ok := hotCache.Load(name); ok {
		return b.([]byte)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "modules", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	hotCache.Store(name, b)
	return b
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// write replaces hot.wasm with b, through a temporary file and a rename.
func (h *hot) write(b []byte) {
	h.t.Helper()
	tmp := filepath.Join(h.dir, "hot.wasm.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(h.dir, "hot.wasm")); err != nil {
		h.t.Fatal(err)
	}
}

// await returns the next event of one of the given types, failing on any other type.
func (h *hot) await(types ...registry.EventType) registry.Event {
	h.t.Helper()
	select {
	case e := <-h.events:
		for _, typ := range types {
			if e.Type == typ {
				return e
			}
		}
		h.t.Fatalf("event %s, want %v", e, types)
	case <-time.After(15 * time.Second):
		h.t.Fatalf("no %v event within 15s", types)
	}
	return registry.Event{}
}

func hotRequest(t testing.TB) *router.Request {
	req, err := router.ParseRequest([]byte(`{"slot":"t","kind":{"extension":{"type":"hot"}},"timeout":1000}`))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// answer is one routed build: the version the router picked (its label) and the version the
// plan says built it.
type answer struct{ routed, planned, digest string }

func buildHot(ctx context.Context, rtr *router.Router, req *router.Request) (answer, error) {
	b, err := rtr.Build(ctx, req)
	if err != nil {
		return answer{}, err
	}
	var p struct{ V string }
	if err := json.Unmarshal(b.Plan.Guest.Payload, &p); err != nil {
		return answer{}, err
	}
	v := b.Runner.(*registry.Version)
	return answer{routed: v.Describe().Labels["v"], planned: p.V, digest: v.Digest()}, nil
}

// builders calls route+build from n goroutines until stop is closed, and reports every
// failure and every answer that mixes versions to t.
type builders struct {
	calls, failed, mixed atomic.Int64
	seen                 sync.Map // version letter -> true
	wg                   sync.WaitGroup
	stop                 chan struct{}
}

func startBuilders(t *testing.T, rtr *router.Router, n int, allow func(error) bool) *builders {
	b := &builders{stop: make(chan struct{})}
	req := hotRequest(t)
	for range n {
		b.wg.Go(func() {
			for {
				select {
				case <-b.stop:
					return
				default:
				}
				a, err := buildHot(context.Background(), rtr, req)
				b.calls.Add(1)
				switch {
				case err != nil && allow != nil && allow(err):
				case err != nil:
					if b.failed.Add(1) <= 5 {
						t.Errorf("build failed: %v", err)
					}
				case a.routed != a.planned:
					if b.mixed.Add(1) <= 5 {
						t.Errorf("answer mixes versions: routed by %q, planned by %q", a.routed, a.planned)
					}
				default:
					b.seen.Store(a.planned, true)
				}
			}
		})
	}
	return b
}

func (b *builders) halt() { close(b.stop); b.wg.Wait() }

// TestHotReloadUnderLoad swaps hot.wasm 200 times between versions a and b, with truncated,
// wrong-ABI and trapping versions written between them, while builders route and build
// continuously: no call fails, no answer mixes versions, and the last valid version serves.
func TestHotReloadUnderLoad(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := startHot(t, registry.Config{Debounce: 2 * time.Millisecond}, "hot-a")
	h.await(registry.EventLoaded)
	b := startBuilders(t, h.reg.Router(), 4, nil)

	a, bb := hotBytes(t, "hot-a"), hotBytes(t, "hot-b")
	invalid := []struct {
		bytes []byte
		stage string
	}{
		{hotBytes(t, "abi-v2"), "abi"},
		{hotBytes(t, "hot-trap"), "smoke"},
	}
	truncated := a[:len(a)*2/3]
	last := a
	const swaps = 200
	for i := range swaps {
		next := bb
		if i%2 == 1 {
			next = a
		}
		switch i % 10 {
		case 3: // a truncated write, superseded before it settles: never loads
			h.write(truncated)
		case 6, 9:
			bad := invalid[i%10/9]
			h.write(bad.bytes)
			if e := h.await(registry.EventRejected); e.Stage != bad.stage || e.Digest != digest(bad.bytes) {
				t.Fatalf("swap %d: rejected %s, want stage %s", i, e, bad.stage)
			}
		}
		h.write(next)
		e := h.await(registry.EventSwapped)
		if e.Digest != digest(next) || e.PrevDigest != digest(last) {
			t.Fatalf("swap %d: %s", i, e)
		}
		last = next
	}
	b.halt()
	if b.failed.Load() != 0 || b.mixed.Load() != 0 {
		t.Fatalf("%d of %d calls failed, %d mixed versions", b.failed.Load(), b.calls.Load(), b.mixed.Load())
	}
	for _, v := range []string{"a", "b"} {
		if _, ok := b.seen.Load(v); !ok {
			t.Errorf("no call was answered by version %s", v)
		}
	}
	got, err := buildHot(context.Background(), h.reg.Router(), hotRequest(t))
	if err != nil || got.digest != digest(last) {
		t.Fatalf("final answer %+v, %v; want version %s", got, err, digest(last)[:12])
	}
	st := h.reg.Stats()
	if st.Swapped != swaps || st.Rejected != 2*swaps/10 {
		t.Errorf("stats %+v, want %d swaps and %d rejections", st, swaps, 2*swaps/10)
	}
	t.Logf("%d calls during %d swaps; stats %+v", b.calls.Load(), swaps, st)
	h.close()
}

// TestHotReloadHalfWrittenFile writes a module in place in two halves with a pause longer
// than the debounce: the half file is never loaded, nor rejected; the whole one is.
func TestHotReloadHalfWrittenFile(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := startHot(t, registry.Config{Debounce: 20 * time.Millisecond}, "hot-a")
	h.await(registry.EventLoaded)
	compiles := h.reg.Stats().Compiles
	b := hotBytes(t, "hot-b")
	f, err := os.OpenFile(filepath.Join(h.dir, "hot.wasm"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b[:len(b)/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // 15 debounces
	if _, err := f.Write(b[len(b)/2:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if e := h.await(registry.EventSwapped); e.Digest != digest(b) {
		t.Fatalf("swapped to %s, want the whole file %s", e, digest(b)[:12])
	}
	if n := h.reg.Stats().Compiles - compiles; n != 1 {
		t.Errorf("%d compiles, want 1: the half file must not be compiled", n)
	}
	h.close()
}

// TestHotReloadCoalescesWrites writes hot.wasm 100 times within a second: the debounce keeps
// the compiles to a few, and the last write serves.
func TestHotReloadCoalescesWrites(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := startHot(t, registry.Config{}, "hot-a") // the default debounce
	h.await(registry.EventLoaded)
	compiles := h.reg.Stats().Compiles
	a, b := hotBytes(t, "hot-a"), hotBytes(t, "hot-b")
	start := time.Now()
	for i := range 100 {
		content := b
		if i%2 == 0 {
			content = a
		}
		if err := os.WriteFile(filepath.Join(h.dir, "hot.wasm"), content, 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * 9 * time.Millisecond)))
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("the 100 writes took %v (a slow machine)", d)
	}
	// The last write was b.
	if e := h.await(registry.EventSwapped); e.Digest != digest(b) {
		t.Fatalf("swapped to %s, want the last write", e)
	}
	time.Sleep(registry.DefaultDebounce + 100*time.Millisecond)
	n := h.reg.Stats().Compiles - compiles
	if n < 1 || n > 3 {
		t.Errorf("%d compiles for 100 writes in a second, want 1 to 3", n)
	}
	got, err := buildHot(context.Background(), h.reg.Router(), hotRequest(t))
	if err != nil || got.digest != digest(b) {
		t.Fatalf("serving %+v, %v; want the last write", got, err)
	}
	t.Logf("%d compiles for 100 writes", n)
	h.close()
}

// TestHotReloadDeleteDuringCalls deletes hot.wasm while builders call it: every call that
// got the runner finishes on it; afterwards the task has no runner; the module is closed.
func TestHotReloadDeleteDuringCalls(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := startHot(t, registry.Config{Debounce: 5 * time.Millisecond}, "hot-a")
	h.await(registry.EventLoaded)
	var noRunner atomic.Int64
	b := startBuilders(t, h.reg.Router(), 4, func(err error) bool {
		if errors.Is(err, router.ErrNoRunner) {
			noRunner.Add(1)
			return true
		}
		return false
	})
	time.Sleep(50 * time.Millisecond)
	before := b.calls.Load()
	if err := os.Remove(filepath.Join(h.dir, "hot.wasm")); err != nil {
		t.Fatal(err)
	}
	h.await(registry.EventRemoved)
	deadline := time.Now().Add(5 * time.Second)
	for h.reg.Stats().Draining > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the removed version never drained")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	b.halt()
	if b.failed.Load() != 0 {
		t.Fatalf("%d calls failed", b.failed.Load())
	}
	if before == 0 || noRunner.Load() == 0 {
		t.Fatalf("%d calls before the delete, %d without a runner after it", before, noRunner.Load())
	}
	h.close()
}

// TestHotReloadRollbackAfterTraps swaps in a version that passes its smoke test but traps on
// real tasks: after TrapLimit consecutive traps it is rolled back and the previous version
// serves again.
func TestHotReloadRollbackAfterTraps(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := startHot(t, registry.Config{Debounce: 5 * time.Millisecond, TrapLimit: 5}, "hot-a")
	h.await(registry.EventLoaded)
	h.write(hotBytes(t, "hot-flaky"))
	swapped := h.await(registry.EventSwapped)
	for h.reg.Stats().Draining > 0 { // a is drained, and kept loaded for the probation
		time.Sleep(time.Millisecond)
	}
	var traps atomic.Int64
	b := startBuilders(t, h.reg.Router(), 2, func(err error) bool {
		if errors.Is(err, runtime.ErrTrap) {
			traps.Add(1)
			return true
		}
		return false
	})
	e := h.await(registry.EventRolledBack)
	time.Sleep(20 * time.Millisecond)
	b.halt()
	if e.PrevDigest != swapped.Digest || e.Digest != digest(hotBytes(t, "hot-a")) {
		t.Fatalf("rolled back %s", e)
	}
	// The limit, plus the calls made while the previous version was loaded again.
	if n := traps.Load(); n < 5 {
		t.Errorf("%d trapped calls, want at least the limit, 5", n)
	} else {
		t.Logf("%d trapped calls before the rollback served (limit 5)", n)
	}
	if got, err := buildHot(context.Background(), h.reg.Router(), hotRequest(t)); err != nil || got.planned != "a" {
		t.Fatalf("after rollback: %+v, %v", got, err)
	}
	h.close()
}

// TestHotReloadNoLeaks swaps 1000 times: no goroutine, file descriptor or module is left.
func TestHotReloadNoLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := startHot(t, registry.Config{Debounce: -1}, "hot-a")
	h.await(registry.EventLoaded)
	a, b := hotBytes(t, "hot-a"), hotBytes(t, "hot-b")
	swap := func(n int) {
		for i := range n {
			next := b
			if i%2 == 1 {
				next = a
			}
			h.write(next)
			h.await(registry.EventSwapped)
		}
		for h.reg.Stats().Draining > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	swap(10) // warm up: pools, timers, the first compilations
	fds, gs := openFDs(t), goruntime.NumGoroutine()
	swap(1000)
	// Goroutines that closed the last modules may still be on their way out.
	deadline := time.Now().Add(2 * time.Second)
	for (openFDs(t) > fds || goruntime.NumGoroutine() > gs) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := openFDs(t); n > fds {
		t.Errorf("%d open file descriptors after 1000 swaps, %d before", n, fds)
	}
	if n := goruntime.NumGoroutine(); n > gs {
		t.Errorf("%d goroutines after 1000 swaps, %d before", n, gs)
	}
	h.close()
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// TestHotReloadDeleteDuringSlowRuns deletes hot.wasm while guest runs of about 0.1 s
// are in flight on it: the runner is unregistered at once, every run finishes on the deleted
// version, and only then is the version closed.
func TestHotReloadDeleteDuringSlowRuns(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := startHot(t, registry.Config{Debounce: 5 * time.Millisecond}, "hot-slow")
	h.await(registry.EventLoaded)
	built, err := h.reg.Router().Build(context.Background(), hotRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	v := built.Runner.(*registry.Version)
	const runs = 4
	var wg sync.WaitGroup
	started := make(chan struct{}, runs)
	var finished atomic.Int64
	for i := range runs {
		wg.Go(func() {
			started <- struct{}{}
			out, err := v.Run(context.Background(), &abi.RunInput{RunID: built.RunID.ID, Attempt: i + 1, Payload: built.Plan.Guest.Payload})
			if err != nil || !strings.Contains(string(out), `"v":"slow"`) {
				t.Errorf("run %d: %s, %v", i, out, err)
			}
			finished.Add(1)
		})
	}
	for range runs {
		<-started
	}
	if err := os.Remove(filepath.Join(h.dir, "hot.wasm")); err != nil {
		t.Fatal(err)
	}
	h.await(registry.EventRemoved)
	if _, err := h.reg.Router().Build(context.Background(), hotRequest(t)); !errors.Is(err, router.ErrNoRunner) {
		t.Errorf("build after the removal: %v, want no runner", err)
	}
	if n := finished.Load(); n == runs {
		t.Log("every run finished before the removal; the drain was not exercised (a fast machine)")
	} else if d := h.reg.Stats().Draining; d != 1 {
		t.Errorf("%d runs in flight and %d versions draining, want 1", runs-n, d)
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for h.reg.Stats().Draining > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the removed version never drained")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := v.Run(context.Background(), &abi.RunInput{RunID: built.RunID.ID, Attempt: 9}); !errors.Is(err, registry.ErrRetired) {
		t.Errorf("a run on the drained, removed version: %v, want ErrRetired", err)
	}
	h.close()
}
