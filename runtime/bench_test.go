package runtime_test

// Benchmarks of the figures the runtime promises, each beside a native Go floor measured in
// the same run so that ratios can be taken (see BENCHMARKS.md at the repository root):
//
//	BenchmarkSupports, BenchmarkBuild    one call on a 1 KiB task spec, deadline off and on
//	BenchmarkSupportsParallel            the same through the instance pool, b.RunParallel
//	BenchmarkCompileGo                   go-transform.wasm: cold, warm cache, new process
//
// Instantiation needs unexported access: see bench_internal_test.go.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

const (
	watEchoPath     = "../examples/runners/wat-echo.wasm"
	goTransformPath = "../examples/runners/go-transform.wasm"

	// benchSpecSize is the size of the benchmark task specs' canonical JSON.
	benchSpecSize = 1024
)

// benchOps are the transform ops of the benchmark specs (go-transform checks them in build).
var benchOps = []string{"squash", "trim", "upper"}

// benchRequest returns a request of extension kind `kind` whose canonical JSON is exactly
// benchSpecSize bytes: {"text": padding, "ops": benchOps} as the extension spec (what
// go-transform accepts; wat-echo echoes anything), a 5 s timeout and three labels.
func benchRequest(tb testing.TB, kind string) *router.Request {
	tb.Helper()
	mk := func(textLen int) *router.Request {
		const words = "solti-wasm  routes each task   to the first runner that supports it "
		text := strings.Repeat(words, textLen/len(words)+1)[:textLen]
		ext, err := json.Marshal(map[string]any{"text": text, "ops": benchOps})
		if err != nil {
			tb.Fatal(err)
		}
		spec := fmt.Sprintf(`{"slot":"bench","kind":{"extension":{"type":%q,"spec":%s}},"timeout":5000,`+
			`"labels":{"app":"bench","team":"runtime","tier":"routing-hot-path"}}`, kind, ext)
		req, err := router.ParseRequest([]byte(spec))
		if err != nil {
			tb.Fatal(err)
		}
		return req
	}
	base := canonicalLen(tb, mk(0))
	req := mk(benchSpecSize - base)
	if n := canonicalLen(tb, req); n != benchSpecSize {
		tb.Fatalf("bench spec is %d bytes canonical, want %d", n, benchSpecSize)
	}
	return req
}

func canonicalLen(tb testing.TB, req *router.Request) int {
	tb.Helper()
	b, err := req.JSON()
	if err != nil {
		tb.Fatal(err)
	}
	return len(b)
}

// TestBenchSpecSize logs the benchmark spec (go test -run BenchSpecSize -v ./runtime/).
func TestBenchSpecSize(t *testing.T) {
	for _, kind := range []string{"echo", "transform"} {
		b, _ := benchRequest(t, kind).JSON()
		t.Logf("kind %q: canonical task spec %d bytes: %.160s...", kind, len(b), b)
	}
}

// --- native floors -------------------------------------------------------------------------

// nativeEcho is wat-echo written as a native router.Runner: supports checks the kind, build
// returns a guest plan whose payload is the extension spec (shared, not copied: the floor).
type nativeEcho struct{}

func (nativeEcho) Name() string { return "native-echo" }

func (nativeEcho) Supports(_ context.Context, req *router.Request) (bool, error) {
	return req.Spec.Kind.Name() == "echo", nil
}

func (nativeEcho) Build(_ context.Context, req *router.Request, _ router.BuildArgs) (*abi.Plan, error) {
	ext := req.Spec.Kind.Extension
	if ext == nil || ext.Type != "echo" {
		return nil, &router.UnsupportedKindError{Runner: "native-echo", Kind: req.Spec.Kind.Name()}
	}
	payload := ext.Spec
	if payload == nil {
		payload = json.RawMessage("null")
	}
	return &abi.Plan{Guest: &abi.GuestPlan{Payload: payload}}, nil
}

// nativeTransform is go-transform's build written as a native router.Runner: the same strict
// decode of the extension spec, the same checks, the same re-encoded payload.
type nativeTransform struct{}

type transformSpec struct {
	Text *string  `json:"text"`
	Ops  []string `json:"ops"`
}

var transformOps = map[string]bool{"upper": true, "lower": true, "trim": true, "squash": true, "reverse": true, "sortwords": true}

func (nativeTransform) Name() string { return "native-transform" }

func (nativeTransform) Supports(_ context.Context, req *router.Request) (bool, error) {
	return req.Spec.Kind.Name() == "transform", nil
}

func (nativeTransform) Build(_ context.Context, req *router.Request, _ router.BuildArgs) (*abi.Plan, error) {
	ext := req.Spec.Kind.Extension
	if ext == nil || ext.Type != "transform" {
		return nil, &router.UnsupportedKindError{Runner: "native-transform", Kind: req.Spec.Kind.Name()}
	}
	var spec transformSpec
	dec := json.NewDecoder(bytes.NewReader(ext.Spec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return nil, &router.InvalidSpecError{Msg: err.Error(), Err: err}
	}
	if spec.Text == nil {
		return nil, &router.MissingFieldError{Field: "kind.extension.spec.text"}
	}
	for i, op := range spec.Ops {
		if !transformOps[op] {
			return nil, &router.InvalidSpecError{Msg: fmt.Sprintf("ops[%d]: unknown op %q", i, op)}
		}
	}
	payload, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	return &abi.Plan{Guest: &abi.GuestPlan{Payload: payload}}, nil
}

// --- shared modules ------------------------------------------------------------------------

// Loading go-transform compiles 4 MB of wasm (about a second here), so every benchmark shares
// the modules it loads: one runtime per (deadline, instances) configuration, kept open for
// the life of the test binary.
type modKey struct {
	path      string
	deadline  bool
	instances int
}

var shared struct {
	mu   sync.Mutex
	rts  map[modKey]*runtime.Runtime
	mods map[modKey]*runtime.Module
}

func sharedModule(tb testing.TB, path string, deadline bool, instances int) *runtime.Module {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	k := modKey{path, deadline, instances}
	if m := shared.mods[k]; m != nil {
		return m
	}
	if shared.mods == nil {
		shared.rts, shared.mods = map[modKey]*runtime.Runtime{}, map[modKey]*runtime.Module{}
	}
	rk := modKey{"", deadline, instances}
	rt := shared.rts[rk]
	if rt == nil {
		limits := runtime.Limits{MaxInstances: instances}
		if !deadline {
			limits.CallTimeout = runtime.NoCallTimeout
		}
		var err error
		if rt, err = runtime.New(context.Background(), runtime.Config{Limits: limits}); err != nil {
			tb.Fatal(err)
		}
		shared.rts[rk] = rt
	}
	m, err := rt.Load(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	shared.mods[k] = m
	return m
}

// benchCase is one runner under test with the request it supports.
type benchCase struct {
	name     string
	path     string // "" for the native runners
	native   router.Runner
	kind     string
	deadline bool
}

func (c benchCase) runner(tb testing.TB, instances int) router.Runner {
	if c.native != nil {
		return c.native
	}
	return sharedModule(tb, c.path, c.deadline, instances)
}

// benchCases: the native floors first, then each module with the deadline off and on.
func benchCases() []benchCase {
	cs := []benchCase{
		{name: "native-echo", native: nativeEcho{}, kind: "echo"},
		{name: "native-transform", native: nativeTransform{}, kind: "transform"},
	}
	for _, m := range []struct{ name, path, kind string }{
		{"wat-echo", watEchoPath, "echo"},
		{"go-transform", goTransformPath, "transform"},
	} {
		for _, d := range []bool{false, true} {
			cs = append(cs, benchCase{name: m.name + "/deadline=" + onOff(d), path: m.path, kind: m.kind, deadline: d})
		}
	}
	return cs
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

var (
	sinkBool bool
	sinkPlan *abi.Plan
)

// --- supports and build --------------------------------------------------------------------

func BenchmarkSupports(b *testing.B) {
	b.Logf("task spec: %d bytes of canonical JSON", canonicalLen(b, benchRequest(b, "echo")))
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			rn := c.runner(b, 0)
			req := benchRequest(b, c.kind)
			ctx := context.Background()
			if ok, err := rn.Supports(ctx, req); !ok || err != nil {
				b.Fatalf("supports = %v, %v", ok, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				ok, err := rn.Supports(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				sinkBool = ok
			}
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			rn := c.runner(b, 0)
			req := benchRequest(b, c.kind)
			ctx := context.Background()
			args := router.BuildArgs{RunID: router.RunID{ID: rn.Name() + "-bench-1", Seq: 1}, Metrics: router.NoopMetrics{}}
			plan, err := rn.Build(ctx, req, args)
			if err != nil {
				b.Fatal(err)
			}
			if plan.Type() != abi.PlanGuest || len(plan.Guest.Payload) < benchSpecSize/2 {
				b.Fatalf("plan %+v: want a guest plan carrying the extension spec", plan)
			}
			// Before the Go SDK yielded at the end of each export, a Go guest's heap stopped
			// being collected after ~36,000 builds on one instance and build ~42,000 hit the
			// memory cap (see TestGoGuestHeapStaysBounded); the pool then replaces the
			// instance. Such failures are counted (failed-builds) rather than stop the run.
			fails := 0
			b.ReportAllocs()
			for b.Loop() {
				plan, err := rn.Build(ctx, req, args)
				if err != nil {
					if !errors.Is(err, runtime.ErrMemoryLimit) {
						b.Fatal(err)
					}
					if fails++; fails == 1 {
						b.Logf("build failed (the instance is replaced): %.200s", err)
					}
					continue
				}
				sinkPlan = plan
			}
			b.ReportMetric(float64(fails), "failed-builds")
		})
	}
}

// BenchmarkParsePlan isolates the host's decoding of a build's output, a guest plan carrying
// the 1 KiB task spec as its payload (wat-echo returns the ~0.9 KiB extension spec):
// abi.ParsePlan as Module.Build calls it (its fast path: one validating pass over the payload
// with the strict parser's rules, then a copy), json.Unmarshal (the lenient decoder guests use)
// and a floor (encoding/json's validating pass plus a copy of the payload).
func BenchmarkParsePlan(b *testing.B) {
	payload, _ := benchRequest(b, "echo").JSON()
	out := append(append([]byte(`{"guest":{"payload":`), payload...), "}}"...)
	b.Run("floor-valid+copy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(out) {
				b.Fatal("invalid")
			}
			p := out[len(`{"guest":{"payload":`) : len(out)-2]
			sinkPlan = &abi.Plan{Guest: &abi.GuestPlan{Payload: bytes.Clone(p)}}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p abi.Plan
			if err := json.Unmarshal(out, &p); err != nil {
				b.Fatal(err)
			}
			sinkPlan = &p
		}
	})
	b.Run("abi.ParsePlan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := abi.ParsePlan(out)
			if err != nil {
				b.Fatal(err)
			}
			sinkPlan = p
		}
	})
}

// BenchmarkSupportsParallel calls supports from GOMAXPROCS goroutines through the module's
// pool, once with one instance (calls queue for it) and once with GOMAXPROCS instances.
func BenchmarkSupportsParallel(b *testing.B) {
	for _, c := range benchCases() {
		instances := []int{0} // 0: the default, GOMAXPROCS
		if c.native == nil {
			instances = []int{1, 0}
		}
		for _, n := range instances {
			name := c.name
			switch {
			case c.native != nil:
			case n == 1:
				name += "/instances=1"
			default:
				name += "/instances=GOMAXPROCS"
			}
			b.Run(name, func(b *testing.B) {
				rn := c.runner(b, n)
				req := benchRequest(b, c.kind)
				ctx := context.Background()
				if _, err := req.JSON(); err != nil { // encode once, outside the timing
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if ok, err := rn.Supports(ctx, req); !ok || err != nil {
							b.Errorf("supports = %v, %v", ok, err)
							return
						}
					}
				})
			})
		}
	}
}

// --- compile -------------------------------------------------------------------------------

// BenchmarkCompileGo loads go-transform.wasm (Runtime.Load: compile or cache hit, ABI check,
// first instance with _initialize, name and describe), with the default limits. ns/op is
// the whole New+Load+Close; ms/compile is ModuleInfo.CompileTime alone.
//
//	read+hash          the floor any loader pays: os.ReadFile and sha256 of the 4 MB module
//	cold               a new Runtime without CacheDir every iteration: a full compile
//	warm-fresh-runtime a new Runtime on a populated CacheDir every iteration, in this process
//	                   (a new wazero cache object: the code comes from disk, not memory)
//	warm-new-process   re-executes this test binary (TestHelperProcess) per iteration; the
//	                   child times New+Load itself (ms/load, ms/compile); ns/op is the wall
//	                   time of the whole child process
//	new-process-noop   the same child doing nothing: the process floor of the line above
func BenchmarkCompileGo(b *testing.B) {
	ctx := context.Background()
	b.Run("read+hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			wasm, err := os.ReadFile(goTransformPath)
			if err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256(wasm)
			sinkBool = sum[0] == 0
		}
	})
	load := func(b *testing.B, cacheDir string) (compile time.Duration) {
		rt, err := runtime.New(ctx, runtime.Config{CacheDir: cacheDir})
		if err != nil {
			b.Fatal(err)
		}
		m, err := rt.Load(ctx, goTransformPath)
		if err != nil {
			b.Fatal(err)
		}
		compile = m.Info().CompileTime
		if err := rt.Close(ctx); err != nil {
			b.Fatal(err)
		}
		return compile
	}
	b.Run("cold", func(b *testing.B) {
		var compile time.Duration
		b.ReportAllocs()
		for b.Loop() {
			compile += load(b, "")
		}
		b.ReportMetric(msPerOp(compile, b.N), "ms/compile")
	})
	dir := b.TempDir()
	load(b, dir) // populate the cache
	b.Run("warm-fresh-runtime", func(b *testing.B) {
		var compile time.Duration
		b.ReportAllocs()
		for b.Loop() {
			compile += load(b, dir)
		}
		b.ReportMetric(msPerOp(compile, b.N), "ms/compile")
	})
	b.Run("warm-new-process", func(b *testing.B) {
		var child childTimes
		b.ReportAllocs()
		for b.Loop() {
			child.add(runChild(b, "load", dir))
		}
		b.ReportMetric(msPerOp(child.load, b.N), "ms/load")
		b.ReportMetric(msPerOp(child.compile, b.N), "ms/compile")
	})
	b.Run("new-process-noop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			runChild(b, "noop", "")
		}
	})
}

func msPerOp(d time.Duration, n int) float64 {
	return float64(d) / float64(time.Millisecond) / float64(max(n, 1))
}

const childEnv = "SOLTI_BENCH_CHILD" // "load DIR" or "noop"

type childTimes struct{ load, compile time.Duration }

func (c *childTimes) add(d childTimes) { c.load += d.load; c.compile += d.compile }

// runChild re-executes the test binary as TestHelperProcess and reads the times it prints.
func runChild(b *testing.B, mode, dir string) childTimes {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.TrimSpace(mode+" "+dir))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	var t childTimes
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "bench-child-load-ns":
				t.load = time.Duration(n)
			case "bench-child-compile-ns":
				t.compile = time.Duration(n)
			}
		}
	}
	if mode == "load" && t.load == 0 {
		b.Fatalf("child printed no times:\n%s", out)
	}
	return t
}

// TestHelperProcess is the child of BenchmarkCompileGo's new-process cases; it does nothing
// unless SOLTI_BENCH_CHILD is set.
func TestHelperProcess(t *testing.T) {
	mode, dir, _ := strings.Cut(os.Getenv(childEnv), " ")
	switch mode {
	case "":
		return
	case "noop":
		return
	case "load":
	default:
		t.Fatalf("%s=%q", childEnv, os.Getenv(childEnv))
	}
	ctx := context.Background()
	start := time.Now()
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.Load(ctx, goTransformPath)
	if err != nil {
		t.Fatal(err)
	}
	loaded := time.Since(start)
	fmt.Printf("bench-child-load-ns=%d\nbench-child-compile-ns=%d\n", loaded.Nanoseconds(), m.Info().CompileTime.Nanoseconds())
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
