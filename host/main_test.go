package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/store/memstore"
)

// cacheDir is the compilation cache every test's hosts share: each module is compiled once
// per test binary, however many tenants and hosts load it.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "host-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cacheDir = dir
	// The shared per-machine cache, warmed outside the race detector: the Go runner the exec
	// test loads compiles in seconds there, not tens of seconds under -race.
	if d := testcache.Dir(); d != "" {
		cacheDir = d
		if err := testcache.Warm(testcache.Product, examples+"go-subprocess.wasm"); err != nil && !errors.Is(err, testcache.ErrNoCache) {
			fmt.Fprintln(os.Stderr, "TestMain: warning: the shared compilation cache is not warm:", err)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 { // every host, run, registry watch and log reader has ended
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

const (
	fixtures = "../tests/testdata/modules/"
	examples = "../examples/runners/"
)

// runnersDir is a fresh directory holding copies of the named module files.
func runnersDir(t testing.TB, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type env struct {
	st store.Store
	q  *memstore.Queue
}

// newEnv is a store and queue that outlive the hosts of a test.
func newEnv(t testing.TB) *env {
	e := &env{st: memstore.New(), q: memstore.NewQueue(0)}
	t.Cleanup(func() { _ = e.q.Close(); _ = e.st.Close() })
	return e
}

// start makes and starts a host on e; the test's end shuts it down.
func (e *env) start(t testing.TB, cfg host.Config) *host.Host {
	t.Helper()
	cfg.Store, cfg.Queue, cfg.CacheDir = e.st, e.q, cacheDir
	if cfg.Debounce == 0 {
		cfg.Debounce = 10 * time.Millisecond
	}
	h, err := host.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	})
	return h
}

// oneTenant starts a host with tenant "a" on dir.
func oneTenant(t testing.TB, dir string, l host.Limits, c host.Capabilities) (*host.Host, *env) {
	e := newEnv(t)
	return e.start(t, host.Config{Tenants: []host.Tenant{{Name: "a", Runners: dir, Limits: l, Capabilities: c}}}), e
}

// manifest is a Task manifest named name with the spec given as JSON (either generation's
// form), as httpapi hands it to the host.
func manifest(t testing.TB, name, spec string) (*abi.Task, []byte) {
	t.Helper()
	s, err := abi.ParseTaskSpec([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	return &abi.Task{APIVersion: "solti.io/v1", Kind: "Task", Metadata: abi.ObjectMeta{Name: name}, Spec: *s}, []byte(spec)
}

// fixtureSpec is a task of the fixtures' kind.
func fixtureSpec(slot string, timeoutMs int, extra string) string {
	return fmt.Sprintf(`{"slot":%q,"kind":{"extension":{"type":"fixture"}},"timeout":%d%s}`, slot, timeoutMs, extra)
}

func create(t testing.TB, h *host.Host, tenant, name, spec string) *store.Task {
	t.Helper()
	m, raw := manifest(t, name, spec)
	task, err := h.CreateTask(context.Background(), tenant, m, raw)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return task
}

// waitTask polls the task until cond holds (10 s at most) and returns it.
func waitTask(t testing.TB, h *host.Host, k store.Key, what string, cond func(*store.Task) bool) *store.Task {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		task, err := h.GetTask(context.Background(), k)
		if err == nil && cond(task) {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: not %s within 20s: %+v (%v)", k.Name, what, task, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func isTerminal(t *store.Task) bool { return t.Status.Phase.Terminal() }

func isRunning(t *store.Task) bool { return t.Status.Phase == store.PhaseRunning }

func key(tenant, name string) store.Key { return store.Key{Tenant: tenant, Name: name} }
