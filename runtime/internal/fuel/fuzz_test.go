package fuel

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/solti-wasm/solti-wasm/runtime/internal/wasmbin"
)

// FuzzInstrument runs the pass on mutated modules, seeded with the example and conformance
// runners, and checks the differential property: whatever the pre-validator accepts (and does
// not use a reserved name) instruments without error into a module wazero compiles whenever
// it compiles the original; and running both (instantiation, then every exported function
// with zero arguments, in name order) gives the same results, traps and final memory whenever
// the original finishes within its time budget and the instrumented one within its fuel.
func FuzzInstrument(f *testing.F) {
	for _, path := range exampleModules(f) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 200_000 { // the Go runners would make every iteration slow
			f.Add(b)
		}
	}
	// A start function that traps: wazero names it by index, which the pass moves up by one.
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x08\x01\x00\x0a\x05\x01\x03\x00\x00\x0b"))
	ctx := context.Background()
	plainRT := fuzzRuntime(f, true)
	fuelRT := fuzzRuntime(f, false)
	f.Fuzz(func(t *testing.T, b []byte) {
		pm, err := wasmbin.Parse(b, wasmbin.Limits{})
		if err != nil {
			return
		}
		hasMemory := pm.NumMemories() > 0
		out, err := Instrument(b, DefaultCosts())
		if errors.Is(err, ErrReserved) {
			return
		}
		if err != nil {
			t.Fatalf("Instrument refused a module the pre-validator accepts: %v", err)
		}
		pc, err := plainRT.CompileModule(ctx, b)
		if err != nil {
			return // wazero refuses the original (operand types): nothing to compare
		}
		defer pc.Close(ctx)
		fc, err := fuelRT.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("the original compiles, the instrumented module does not: %v", err)
		}
		defer fc.Close(ctx)
		want, finished := runAll(plainRT, pc, nil, hasMemory)
		if !finished {
			return
		}
		got, finished := runAll(fuelRT, fc, &meter{budget: 20_000_000, slice: 100_000}, hasMemory)
		if !finished {
			return
		}
		got = renumber(got, pm.ImportedFuncs)
		if !slices.Equal(got, want) {
			t.Fatalf("outcomes differ:\ninstrumented %q\noriginal     %q", got, want)
		}
	})
}

// funcIndex is how wazero names a function by index in an error ("start function[84]").
var funcIndex = regexp.MustCompile(`function\[(\d+)\]`)

// linkError is how wazero reports an import that does not resolve.
var linkError = regexp.MustCompile(`^module\[.*\] not instantiated$|^".*" is not exported in module ".*"$|^import (func|table|memory|global)\[`)

// renumber maps the function indices in the instrumented module's outcomes back to the
// original's: the refill import takes index firstDefined, so every defined function's index
// is one more than it was.
func renumber(outcomes []string, firstDefined uint32) []string {
	out := make([]string, len(outcomes))
	for i, o := range outcomes {
		out[i] = funcIndex.ReplaceAllStringFunc(o, func(m string) string {
			n, err := strconv.ParseUint(m[len("function["):len(m)-1], 10, 32)
			if err != nil || uint32(n) <= firstDefined {
				return m
			}
			return fmt.Sprintf("function[%d]", n-1)
		})
	}
	return out
}

// fuzzRuntime is a wazero runtime with stub solti imports and WASI; the original modules run
// with close-on-context-done, to bound them by time.
func fuzzRuntime(f testing.TB, interruptible bool) wazero.Runtime {
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2).WithCloseOnContextDone(interruptible).
		WithMemoryLimitPages(256)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	f.Cleanup(func() { _ = rt.Close(ctx) })
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	noop := api.GoFunc(func(context.Context, []uint64) {})
	_, err := rt.NewHostModuleBuilder("solti").
		NewFunctionBuilder().WithGoFunction(noop, []api.ValueType{i32}, nil).Export("input").
		NewFunctionBuilder().WithGoFunction(noop, []api.ValueType{i32, i32}, nil).Export("output").
		NewFunctionBuilder().WithGoFunction(noop, []api.ValueType{i32, i32, i32}, nil).Export("log").
		NewFunctionBuilder().WithGoFunction(noop, []api.ValueType{i32, i32, i32}, nil).Export("emit").
		Instantiate(ctx)
	if err == nil {
		_, err = rt.NewHostModuleBuilder(ImportModule).
			NewFunctionBuilder().WithGoFunction(api.GoFunc(func(ctx context.Context, s []uint64) {
			m, _ := ctx.Value(meterKey{}).(*meter)
			if m == nil || ctx.Err() != nil { // no account, or out of time: stop
				panic(errExhausted)
			}
			next, err := m.refill(int64(s[0]))
			if err != nil {
				panic(err)
			}
			s[0] = uint64(next)
		}), []api.ValueType{i64}, []api.ValueType{i64}).Export(ImportName).
			Instantiate(ctx)
	}
	if err == nil {
		_, err = wasi_snapshot_preview1.Instantiate(ctx, rt)
	}
	if err != nil {
		f.Fatal(err)
	}
	return rt
}

// runAll instantiates c and calls its exported functions with zero arguments, in name
// order, recording each outcome and, when the module has a memory, its final hash (wazero's
// Memory of a module without one is not usable). finished is false when the time budget
// (original) or the fuel budget (m, instrumented) ran out.
func runAll(rt wazero.Runtime, c wazero.CompiledModule, m *meter, hasMemory bool) (outcomes []string, finished bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if m != nil {
		ctx = context.WithValue(ctx, meterKey{}, m)
	}
	stopped := func(err error) bool {
		return errors.Is(err, errExhausted) || ctx.Err() != nil
	}
	mod, err := rt.InstantiateModule(ctx, c, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		if stopped(err) {
			return nil, false
		}
		msg := firstLine(err)
		if linkError.MatchString(msg) {
			// wazero resolves imports module by module in map order, so which unresolved import
			// it names varies from run to run: compare only that linking failed.
			msg = "an import does not resolve"
		}
		return []string{"instantiate: " + msg}, true
	}
	defer mod.Close(context.Background())
	names := make([]string, 0, len(c.ExportedFunctions()))
	for name := range c.ExportedFunctions() {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fn := mod.ExportedFunction(name)
		res, err := fn.Call(ctx, make([]uint64, len(fn.Definition().ParamTypes()))...)
		switch {
		case err != nil && stopped(err):
			return nil, false
		case err != nil:
			outcomes = append(outcomes, name+": "+firstLine(err))
			// wazero closes nothing on a trap; carry on with the same instance.
		default:
			outcomes = append(outcomes, fmt.Sprintf("%s = %v", name, res))
		}
	}
	if mem := mod.Memory(); hasMemory && mem != nil {
		b, _ := mem.Read(0, mem.Size())
		outcomes = append(outcomes, fmt.Sprintf("memory %d bytes, sha256 %x", len(b), sha256.Sum256(b)))
	}
	return outcomes, true
}
