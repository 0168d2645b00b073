package runtime

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/internal/testengine"
)

// diffCall is one export call of the engine differential test.
type diffCall struct {
	id    exportID
	input string
}

// diffCalls drive every conformance runner and example through its exports with inputs of
// the conformance contract (tests/conformance/README.md) and inputs the examples refuse:
// every outcome (success, guest error, trap) comes up on some module.
var diffCalls = func() []diffCall {
	spec := func(ext, labels string) string {
		return `{"slot":"conf","kind":{"extension":{"type":"conformance","spec":` + ext + `}},"timeout":5000,"labels":` + labels + `}`
	}
	build := func(ext string) string {
		return `{"runId":"conformance-x-conf-7","runner":"conformance-x","env":{"A":"grüß \"☃\""},"spec":` + spec(ext, `{}`) + `}`
	}
	long := strings.Repeat("héllo \\u2028 \\\"q\\\" ", 3000)
	return []diffCall{
		{fnName, ""}, {fnDescribe, ""},
		{fnSupports, spec(`{"op":"echo"}`, `{}`)},
		{fnSupports, spec(`{}`, `{"conformance":"refuse"}`)},
		{fnSupports, spec(`{}`, `{"conformance":"error"}`)},
		{fnSupports, `{"slot":"s1","kind":{"extension":{"type":"echo","spec":{"text":"hi"}}},"timeout":1000}`},
		{fnSupports, `{"slot":"s1","kind":{"subprocess":{"command":["true"]}},"timeout":1000}`},
		{fnBuild, build(`{"op":"echo","text":"` + long + `","value":{"n":[1,2.5,null]}}`)},
		{fnBuild, build(`{"op":"error","code":"invalid_spec","message":"nein ✗"}`)},
		{fnBuild, build(`{"op":"log"}`)},
		{fnBuild, build(`{"op":"badplan"}`)},
		{fnBuild, build(`{"op":"nope"}`)},
		{fnBuild, build(`{"text":"no op"}`)},
		{fnBuild, `{"runId":"x-s1-1","runner":"x","spec":{"slot":"s1","kind":{"extension":{"type":"echo","spec":{"text":"hi"}}},"timeout":1000}}`},
		{fnRun, `{"runId":"r-6","attempt":1,"payload":{"emit":true}}`},
		{fnRun, `{"runId":"r-7","attempt":2,"env":{"K":"v"},"payload":{"emit":true,"fail":"disk ✗"}}`},
		{fnRun, `{"runId":"r-8","attempt":1,"payload":{"text":"hi"}}`},
		{fnRun, `{"runId":"r-9","attempt":1}`},
		{fnBuild, build(`{"op":"trap"}`)},
		{fnRun, `not json`},
	}
}()

// DifferentialModules are the glob patterns of the modules TestFuelDifferentialEngine runs:
// every conformance runner and example. Exported for TestMain (package runtime_test), which
// warms the shared test cache with them.
var DifferentialModules = []string{"../tests/conformance/runners/*.wasm", "../examples/runners/*.wasm"}

// diffOutcome is what one call did, as the host sees it.
type diffOutcome struct {
	ret    int32
	err    string
	output string
	lines  []RunLine
	fuel   int64
}

// TestFuelDifferentialEngine runs every conformance runner and example on the engine the
// test binary selected (SOLTI_TEST_ENGINE: wazero by default, wasmtime with -tags wasmtime),
// through the product's own call path, twice: compiled as is, and instrumented by the fuel
// pass with unlimited fuel. Each call must agree exactly: result, output bytes, log records
// and emitted lines, and the error (a trap's message without the stack trace, whose function
// indices the pass shifts). The instrumented calls must also report fuel, the same on a
// second pair of fresh instances.
func TestFuelDifferentialEngine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The shared test cache, which TestMain warms outside the race detector.
	rt, err := New(ctx, Config{CacheDir: testcache.Dir(), Limits: Limits{CallTimeout: NoCallTimeout, CallFuel: UnlimitedFuel,
		RunFuel: UnlimitedFuel, CompileTimeout: 10 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(ctx) })
	var mods []string
	for _, pat := range DifferentialModules {
		m, _ := filepath.Glob(pat)
		mods = append(mods, m...)
	}
	if len(mods) < 12 {
		t.Fatalf("found only %d modules", len(mods))
	}
	engineName := testengine.Name()
	if engineName == "" {
		engineName = "wazero"
	}
	for _, path := range mods {
		name := strings.TrimSuffix(filepath.Base(filepath.Dir(path)), "s") + "/" + strings.TrimSuffix(filepath.Base(path), ".wasm")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := rt.Load(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close(ctx)
			var first []diffOutcome
			for round := 0; round < 2; round++ {
				plain, fueled := diffInstance(t, m, false), diffInstance(t, m, true)
				var got []diffOutcome
				for i, c := range diffCalls {
					if !m.has[c.id] {
						continue
					}
					want, have := diffRun(ctx, m, plain, c), diffRun(ctx, m, fueled, c)
					if want.err != have.err || want.ret != have.ret || want.output != have.output || !slices.Equal(want.lines, have.lines) {
						t.Errorf("%s call %d (%s): instrumented %s\n  original %s", engineName, i, exportNames[c.id], have, want)
					}
					if have.fuel <= 0 {
						t.Errorf("%s call %d (%s): the instrumented call reports %d fuel units", engineName, i, exportNames[c.id], have.fuel)
					}
					got = append(got, have)
					if plain.broken || fueled.broken { // a trap: both go on with fresh instances
						plain.close(ctx)
						fueled.close(ctx)
						plain, fueled = diffInstance(t, m, false), diffInstance(t, m, true)
					}
				}
				plain.close(ctx)
				fueled.close(ctx)
				if round == 0 {
					first = got
					continue
				}
				if engineName != "wazero" && readsClockOrRandom(m) {
					// wazero gives WASI guests a fake clock and a seeded random source, the
					// wasmtime engine the real ones: a Go guest's runtime reads both (map seeds,
					// timers), so its work, and its fuel, vary from instance to instance.
					t.Logf("%s: fuel not compared between instances: the guest reads WASI's clock or random", engineName)
					break
				}
				for i := range got {
					if got[i].fuel != first[i].fuel {
						t.Errorf("%s: call %d used %d fuel units, then %d", engineName, i, first[i].fuel, got[i].fuel)
					}
				}
			}
			t.Logf("%s: %d calls agree", engineName, len(first))
		})
	}
}

// diffInstance is a fresh instance of m's code: as compiled from its file, or metered.
func diffInstance(t *testing.T, m *Module, metered bool) *instance {
	t.Helper()
	ctx := context.Background()
	code := m.compiled
	if metered {
		var err error
		if code, err = m.runCode(ctx); err != nil {
			t.Fatal(err)
		}
	}
	in, err := m.instantiate(ctx, code, metered)
	if err != nil {
		t.Fatalf("instantiate (metered %v): %v", metered, err)
	}
	return in
}

// diffRun makes call c on in, recording its outcome.
func diffRun(ctx context.Context, m *Module, in *instance, c diffCall) diffOutcome {
	var o diffOutcome
	in.st.sink = func(l RunLine) { o.lines = append(o.lines, l) }
	ret, err := m.call(ctx, in, c.id, []byte(c.input), 0)
	in.st.sink = nil
	o.ret, o.output, o.fuel = ret, string(in.st.output), in.st.fuelUsed
	if err != nil {
		o.err = withoutTrace(err.Error())
	}
	return o
}

// withoutTrace is an error's text without the wasm stack trace (wazero's "wasm stack
// trace:" and wasmtime's "wasm backtrace:" blocks and their indented lines).
func withoutTrace(s string) string {
	var keep []string
	inTrace := false
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(strings.TrimSpace(l), "wasm stack trace:") || strings.HasPrefix(strings.TrimSpace(l), "wasm backtrace:"):
			inTrace = true
		case inTrace && (strings.HasPrefix(l, "\t") || strings.HasPrefix(l, " ")):
		default:
			inTrace = false
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func (o diffOutcome) String() string {
	return fmt.Sprintf("ret %d, err %q, output %.120q, lines %v", o.ret, o.err, o.output, o.lines)
}

// readsClockOrRandom reports whether m imports WASI's clocks or random source.
func readsClockOrRandom(m *Module) bool {
	for _, im := range m.compiled.Imports() {
		if im.Module == "wasi_snapshot_preview1" && (im.Name == "random_get" || strings.HasPrefix(im.Name, "clock_")) {
			return true
		}
	}
	return false
}
