package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/runtime"
)

const fixtures = "../tests/testdata/modules"

func fixture(name string) string { return filepath.Join(fixtures, name+".wasm") }

func newRuntime(t testing.TB, cfg runtime.Config) *runtime.Runtime {
	t.Helper()
	rt, err := runtime.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	return rt
}

func TestLoadErrors(t *testing.T) {
	notWasm := filepath.Join(t.TempDir(), "notes.wasm")
	if err := os.WriteFile(notWasm, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	component := filepath.Join(t.TempDir(), "component.wasm")
	if err := os.WriteFile(component, []byte("\x00asm\x0d\x00\x01\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(t.TempDir(), "truncated.wasm")
	ok, _ := os.ReadFile(fixture("ok"))
	if err := os.WriteFile(truncated, ok[:len(ok)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path  string
		stage string
		is    error
		want  string // in the message
	}{
		{notWasm, "read", runtime.ErrNotWasm, `starts with "#!/b"`},
		{component, "read", runtime.ErrInvalidModule, "not a core wasm module"},
		{truncated, "validate", runtime.ErrInvalidModule, "invalid wasm module"},
		{filepath.Join(t.TempDir(), "absent.wasm"), "read", os.ErrNotExist, "no such file"},
		{fixture("missing-build"), "abi", runtime.ErrMissingExport, "no build export (want func (i32) -> (i32))"},
		{fixture("mistyped"), "abi", runtime.ErrExportType, "export build has type (i32) -> (), want (i32) -> (i32)"},
		{fixture("abi-v2"), "abi", runtime.ErrABIVersion, "speaks solti ABI v2"},
		{fixture("no-marker"), "abi", runtime.ErrNotRunner, "no solti_abi_v1 export"},
		{fixture("forbidden-import"), "abi", runtime.ErrForbiddenImport, "env.now"},
		{fixture("bad-name"), "name", runtime.ErrBadName, `"bad name!"`},
		{fixture("bad-describe"), "describe", runtime.ErrBadDescription, "Not A Kind"},
	}
	rt := newRuntime(t, runtime.Config{})
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			m, err := rt.Load(context.Background(), tt.path)
			if err == nil {
				m.Close(context.Background())
				t.Fatal("loaded, want an error")
			}
			var le *runtime.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T %v is not a *LoadError", err, err)
			}
			if le.Path != tt.path || le.Stage != tt.stage {
				t.Errorf("path, stage = %q, %q; want %q, %q", le.Path, le.Stage, tt.path, tt.stage)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), tt.path+": ") {
				t.Errorf("error %q: want it to start with the path and contain %q", err, tt.want)
			}
		})
	}
}
