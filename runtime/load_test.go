package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
	tmp := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(tmp, "fifo.wasm")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(tmp, "zero.wasm")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "dir.wasm")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	big := write("big.wasm", append([]byte("\x00asm\x01\x00\x00\x00"), make([]byte, 1<<16)...))
	header := "\x00asm\x01\x00\x00\x00"
	lyingImports := write("imports.wasm", []byte(header+"\x02\x04\x80\x80\x80\x01"))
	// One type () -> (), one function whose body declares 2^32-1 i32 locals.
	lyingLocals := write("locals.wasm", []byte(header+"\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x0a\x0a\x01\x08\x01\xff\xff\xff\xff\x0f\x7f\x0b"))
	// call_indirect naming type 5 of 1, with a table: what panicked inside wazero's validator.
	badCallIndirect := write("callind.wasm", []byte(header+"\x01\x04\x01\x60\x00\x00\x03\x02\x01\x00\x04\x04\x01\x70\x00\x01\x0a\x09\x01\x07\x00\x41\x00\x11\x05\x00\x0b"))
	hugeTable := write("table.wasm", []byte(header+"\x04\x06\x01\x70\x00\xa0\x8d\x06"))
	tests := []struct {
		path  string
		stage string
		is    error
		want  string // in the message
	}{
		{notWasm, "read", runtime.ErrNotWasm, `starts with "#!/b"`},
		{component, "read", runtime.ErrComponent, "wasm components are not supported yet; build a core module"},
		{truncated, "validate", runtime.ErrInvalidModule, "code section declares 125 bytes but only 63 remain"},
		{fifo, "read", runtime.ErrNotRegular, "not a regular file: FIFO"},
		{zero, "read", runtime.ErrNotRegular, "not a regular file: character device"},
		{dir, "read", runtime.ErrNotRegular, "not a regular file: directory"},
		{big, "read", runtime.ErrModuleTooLarge, "over the 65536-byte module size cap"},
		{lyingImports, "validate", runtime.ErrModuleLimit, "2097152 imports, over the limit of 100000"},
		{lyingLocals, "validate", runtime.ErrModuleLimit, "4294967295 parameters and locals, over the limit of 50000"},
		{badCallIndirect, "validate", runtime.ErrInvalidModule, "type index 5 out of range (1)"},
		{hugeTable, "validate", runtime.ErrModuleLimit, "minimum of 100000 elements, over the cap of 65536"},
		{filepath.Join(t.TempDir(), "absent.wasm"), "read", os.ErrNotExist, "no such file"},
		{fixture("missing-build"), "abi", runtime.ErrMissingExport, "no build export (want func (i32) -> (i32))"},
		{fixture("mistyped"), "abi", runtime.ErrExportType, "export build has type (i32) -> (), want (i32) -> (i32)"},
		{fixture("abi-v2"), "abi", runtime.ErrABIVersion, "speaks solti ABI v2"},
		{fixture("no-marker"), "abi", runtime.ErrNotRunner, "no solti_abi_v1 export"},
		{fixture("forbidden-import"), "abi", runtime.ErrForbiddenImport, "env.now"},
		{fixture("bad-name"), "name", runtime.ErrBadName, `"bad name!"`},
		{fixture("bad-describe"), "describe", runtime.ErrBadDescription, "Not A Kind"},
	}
	rt := newRuntime(t, runtime.Config{Limits: runtime.Limits{MaxModuleBytes: 1 << 16}})
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
