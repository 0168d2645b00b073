package runtime

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

// faultyEngine is wazero with faults the tests switch on: a panic in Compile or in a call,
// and a Compile that blocks until released. It stands in for an engine bug.
type faultyEngine struct {
	engine.Engine
}

var faults struct {
	panicCall    atomic.Bool
	blockCompile atomic.Pointer[chan struct{}]
	closed       atomic.Int32 // modules closed
}

// panicMarker in a module's bytes makes faultyEngine's Compile panic.
var panicMarker = []byte("panic-in-compile")

func init() {
	engine.Register("test-faulty", func(ctx context.Context, o engine.Options) (engine.Engine, error) {
		e, err := engine.New(ctx, "wazero", o)
		return faultyEngine{e}, err
	})
}

func (e faultyEngine) Compile(ctx context.Context, wasm []byte) (engine.Module, error) {
	if bytes.Contains(wasm, panicMarker) {
		var a []int
		_ = a[len(wasm)] // an index out of range, as wazero's validator had
	}
	if ch := faults.blockCompile.Load(); ch != nil {
		<-*ch
	}
	m, err := e.Engine.Compile(ctx, wasm)
	if err != nil {
		return nil, err
	}
	return faultyModule{m}, nil
}

type faultyModule struct{ engine.Module }

func (m faultyModule) Instantiate(ctx context.Context, cfg engine.InstanceConfig) (engine.Instance, error) {
	in, err := m.Module.Instantiate(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return faultyInstance{in}, nil
}

func (m faultyModule) Close(ctx context.Context) error {
	faults.closed.Add(1)
	return m.Module.Close(ctx)
}

type faultyInstance struct{ engine.Instance }

// Global keeps the wrapped instance's fuel counter reachable.
func (i faultyInstance) Global(name string) engine.Global {
	if gi, ok := i.Instance.(engine.GlobalInstance); ok {
		return gi.Global(name)
	}
	return nil
}

func (i faultyInstance) Func(name string) engine.Func {
	f := i.Instance.Func(name)
	if f == nil {
		return nil
	}
	return faultyFunc{f}
}

type faultyFunc struct{ engine.Func }

func (f faultyFunc) Call(ctx context.Context, stack []uint64) error {
	if faults.panicCall.Load() {
		panic(errors.New("engine bug in call"))
	}
	return f.Func.Call(ctx, stack)
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func faultyRuntime(t *testing.T, limits Limits) (*Runtime, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	rt, err := New(context.Background(), Config{Engine: "test-faulty", Limits: limits, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rt.compiling.Wait()
		_ = rt.Close(context.Background())
	})
	return rt, logs
}

func TestEnginePanicIsRecovered(t *testing.T) {
	ctx := context.Background()
	rt, logs := faultyRuntime(t, Limits{})
	ok, err := os.ReadFile("../tests/testdata/modules/ok.wasm")
	if err != nil {
		t.Fatal(err)
	}
	// A custom section carrying the marker: valid wasm, so the pre-validation passes it on.
	name := string(panicMarker)
	bad := append(append([]byte(nil), ok...), append([]byte{0, byte(1 + len(name)), byte(len(name))}, name...)...)

	_, err = rt.LoadBytes(ctx, "bad.wasm", bad)
	var le *LoadError
	if !errors.As(err, &le) || le.Stage != "compile" || !errors.Is(err, ErrEnginePanic) {
		t.Fatalf("load of a module that panics the compiler: %v", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "bad.wasm: compile: engine panic: compile: runtime error: index out of range") {
		t.Fatalf("error %q", msg)
	}
	if l := logs.String(); !strings.Contains(l, "engine panic recovered") || !strings.Contains(l, "path=bad.wasm") {
		t.Fatalf("panic not logged: %s", l)
	}

	// The runtime serves on: the good module loads and answers.
	m, err := rt.LoadBytes(ctx, "ok.wasm", ok)
	if err != nil {
		t.Fatalf("good module after a panic: %v", err)
	}
	defer m.Close(ctx)
	req, err := router.ParseRequest([]byte(`{"slot":"s","kind":{"subprocess":{"mode":{"command":{"command":"true"}}}},"timeout":5}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Supports(ctx, req); err != nil {
		t.Fatalf("supports before the call panic: %v", err)
	}
	faults.panicCall.Store(true)
	_, err = m.Supports(ctx, req)
	faults.panicCall.Store(false)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Export != "supports" || !errors.Is(err, ErrEnginePanic) || FaultKind(err) != FaultEnginePanic {
		t.Fatalf("call that panics the engine: %v", err)
	}
	if !strings.Contains(err.Error(), "ok.wasm") || !strings.Contains(err.Error(), "engine panic: call: engine bug in call") {
		t.Fatalf("call error %q", err)
	}
	// The panicked instance is retired; the next call gets a sound one.
	for i := 0; i < 3; i++ {
		if _, err := m.Supports(ctx, req); err != nil {
			t.Fatalf("supports after the call panic: %v", err)
		}
	}
}

func TestCompileBudget(t *testing.T) {
	ctx := context.Background()
	rt, _ := faultyRuntime(t, Limits{CompileTimeout: 50 * time.Millisecond})
	release := make(chan struct{})
	faults.blockCompile.Store(&release)
	closedBefore := faults.closed.Load()

	start := time.Now()
	_, err := rt.Load(ctx, "../tests/testdata/modules/ok.wasm")
	if !errors.Is(err, ErrCompileTimeout) || !strings.Contains(err.Error(), "compile: compile time budget exceeded: compilation took longer than the 50ms budget") {
		t.Fatalf("slow compile: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("returned after %v, want about the 50ms budget", d)
	}

	// A canceled context (SIGINT in the CLI) stops waiting at once too.
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	rt.limits.CompileTimeout = time.Hour
	_, err = rt.Load(cctx, "../tests/testdata/modules/ok.wasm")
	if !errors.Is(err, ErrCanceled) {
		t.Fatalf("canceled compile: %v", err)
	}

	// The abandoned compilations finish and their modules are closed, not leaked.
	faults.blockCompile.Store(nil)
	close(release)
	rt.compiling.Wait()
	if n := faults.closed.Load() - closedBefore; n != 2 {
		t.Fatalf("%d abandoned modules closed, want 2", n)
	}
	// And the runtime loads normally afterwards.
	rt.limits.CompileTimeout = DefaultCompileTimeout
	m, err := rt.Load(ctx, "../tests/testdata/modules/ok.wasm")
	if err != nil {
		t.Fatal(err)
	}
	_ = m.Close(ctx)
}
