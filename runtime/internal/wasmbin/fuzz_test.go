package wasmbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// FuzzCheck feeds Check arbitrary bytes, seeded with the example modules and the hand-made
// hostile ones of TestRefuses. It checks that Check never panics and only returns *Error
// values, that whatever Check accepts re-encodes to itself and survives wazero's own decoder
// and validator without a panic, and that a table clamp keeps an accepted module valid.
func FuzzCheck(f *testing.F) {
	for _, path := range exampleModules(f) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		// The Go runners (3.5 MB) would make every iteration slow; TestExamplesParseAndRoundTrip
		// covers them.
		if len(b) <= 200_000 {
			f.Add(b)
		}
	}
	for _, b := range [][]byte{
		oneFunc(nested(20)),
		oneFunc([]byte{0, 0x41, 0, 0x11, 0, 0, 0x0b}),
		mod(sec(SectionImport, u(1<<28))),
		oneFunc(cat(u(1), u(1<<32-1), []byte{0x7f, 0x0b})),
		mod(sec(SectionCustom, AppendName(nil, "name"), []byte{1, 5}, u(1<<30), []byte{0, 0})),
	} {
		f.Add(b)
	}
	ctx := context.Background()
	cfg := wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b, Limits{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind == nil {
				t.Fatalf("error %v is not an *Error with a kind", err)
			}
			return
		}
		if err := compileNoPanic(ctx, cfg, b); err != nil {
			t.Fatal(err)
		}
		if _, err := ClampTables(m, 1000); err == nil {
			out := m.Encode()
			if err := Check(out, Limits{}); err != nil {
				t.Fatalf("clamped module fails Check: %v", err)
			}
			if err := compileNoPanic(ctx, cfg, out); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// compileNoPanic compiles b with wazero and reports a panic as an error; wazero refusing the
// module is fine (it validates operand types, which Check leaves to it).
func compileNoPanic(ctx context.Context, cfg wazero.RuntimeConfig, b []byte) (err error) {
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	defer rt.Close(ctx)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("wazero panicked on a module Check accepts: %v", p)
		}
	}()
	_, _ = rt.CompileModule(ctx, b)
	return nil
}
