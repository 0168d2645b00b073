package wasmbin

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// exampleModules returns the repository's example and fixture modules.
func exampleModules(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"../../../examples/runners/*.wasm", "../../../tests/testdata/modules/*.wasm"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d example modules", len(out))
	}
	return out
}

func TestExamplesParseAndRoundTrip(t *testing.T) {
	for _, path := range exampleModules(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(b, Limits{})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := m.Encode(); !bytes.Equal(got, b) { // Go pads section sizes; Encode keeps them
				t.Fatalf("Encode differs from the input (%d vs %d bytes)", len(got), len(b))
			}
			// Re-encoding every decoded section from its fields reproduces the payloads.
			for _, s := range m.Sections {
				var enc []byte
				switch s.ID {
				case SectionType:
					enc = EncodeTypes(m.Types)
				case SectionImport:
					enc = EncodeImports(m.Imports)
				case SectionFunction:
					enc = EncodeFunctions(m.Functions)
				case SectionTable:
					enc = EncodeTables(m.Tables)
				case SectionMemory:
					enc = EncodeMemories(m.Memories)
				case SectionGlobal:
					enc = EncodeGlobals(m.Globals)
				case SectionExport:
					enc = EncodeExports(m.Exports)
				case SectionStart:
					enc = EncodeStart(m.Start)
				case SectionElement:
					enc = EncodeElements(m.Elements)
				case SectionDataCount:
					enc = EncodeDataCount(m.DataCount)
				case SectionCode:
					enc = EncodeCodes(m.Codes)
				case SectionData:
					enc = EncodeData(m.Data)
				default:
					continue
				}
				if !bytes.Equal(enc, s.Payload) {
					t.Errorf("%v section: re-encoded payload differs (%d vs %d bytes)", s.ID, len(enc), len(s.Payload))
				}
			}
			// The instruction reader tiles every body exactly, ending with end.
			for i := range m.Codes {
				c := &m.Codes[i]
				it := c.Instructions()
				next, last := c.ExprOffset, Opcode(0)
				for it.Next() {
					in := it.Instr()
					if in.Offset != next || in.End <= in.Offset {
						t.Fatalf("function %d: instruction at %d..%d, expected to start at %d", i, in.Offset, in.End, next)
					}
					next, last = in.End, in.Op
				}
				if it.Err() != nil || next != c.End || last != OpEnd {
					t.Fatalf("function %d: walk stopped at %d of %d (last %v): %v", i, next, c.End, last, it.Err())
				}
			}
		})
	}
}

func TestLEB128(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 127, 128, 16383, 16384, math.MaxUint32, math.MaxUint64} {
		b := AppendUleb128(nil, v)
		got, n, err := DecodeUleb128(b, 64)
		if err != nil || got != v || n != len(b) {
			t.Errorf("u64 %d: got %d, %d bytes, %v", v, got, n, err)
		}
		if v <= math.MaxUint32 {
			if got, _, err := DecodeUleb128(b, 32); err != nil || got != v {
				t.Errorf("u32 %d: got %d, %v", v, got, err)
			}
		} else if _, _, err := DecodeUleb128(b, 32); err == nil {
			t.Errorf("u32 accepted %d", v)
		}
	}
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		b := AppendSleb128(nil, v)
		got, n, err := DecodeSleb128(b, 64)
		if err != nil || got != v || n != len(b) {
			t.Errorf("s64 %d: got %d, %d bytes, %v", v, got, n, err)
		}
		fits := v >= math.MinInt32 && v <= math.MaxInt32
		if got, _, err := DecodeSleb128(b, 32); fits != (err == nil) || (fits && got != v) {
			t.Errorf("s32 %d: got %d, %v", v, got, err)
		}
	}
	bad := []struct {
		b    []byte
		bits int
		want error
	}{
		{[]byte{0x80}, 32, errLEBTruncated},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 32, errLEBTooLong},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x1f}, 32, errLEBOverflow}, // 2^33-1
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x4f}, 32, errLEBOverflow}, // s32: unused bits not the sign
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}, 64, errLEBOverflow},
	}
	for _, c := range bad {
		var err error
		if c.b[len(c.b)-1] == 0x4f {
			_, _, err = DecodeSleb128(c.b, c.bits)
		} else {
			_, _, err = DecodeUleb128(c.b, c.bits)
		}
		if !errors.Is(err, c.want) {
			t.Errorf("% x: got %v, want %v", c.b, err, c.want)
		}
	}
}

// TestRefuses covers each class of hostile input with the smallest module showing it.
func TestRefuses(t *testing.T) {
	lying := func(id SectionID) []byte { return sec(id, u(1<<28)) }
	cases := []struct {
		name string
		b    []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrMalformed, "shorter than the 8-byte header"},
		{"no magic", []byte("\x7fELF\x02\x01\x01\x00"), ErrMalformed, "no \\0asm magic"},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00"), ErrMalformed, "unknown binary version"},
		{"component", []byte("\x00asm\x0d\x00\x01\x00\x01\x02\x03"), ErrComponent, "components are not supported"},
		{"unknown section", mod([]byte{13, 0}), ErrMalformed, "unknown section id 13"},
		{"section past end", mod([]byte{1, 100, 0}), ErrMalformed, "declares 100 bytes"},
		{"sections out of order", mod(sec(SectionFunction, u(0)), sec(SectionType, u(0))), ErrMalformed, "out of order"},
		{"section left over", mod(sec(SectionType, u(0), []byte{0})), ErrMalformed, "left over"},
		{"lying types", mod(lying(SectionType)), ErrLimit, "268435456 types, over the limit"},
		{"lying types under limit", mod(sec(SectionType, u(900_000))), ErrMalformed, "declares 900000 types but only 0 bytes"},
		{"lying imports", mod(lying(SectionImport)), ErrLimit, "268435456 imports, over the limit"},
		{"lying imports under limit", mod(sec(SectionImport, u(50_000))), ErrMalformed, "declares 50000 imports but only 0 bytes"},
		{"lying functions", mod(lying(SectionFunction)), ErrLimit, "268435456 functions, over the limit"},
		{"lying functions under limit", mod(sec(SectionFunction, u(900_000))), ErrMalformed, "declares 900000 functions"},
		{"lying tables", mod(sec(SectionTable, u(1000))), ErrMalformed, "declares 1000 tables"},
		{"lying globals", mod(sec(SectionGlobal, u(900_000))), ErrMalformed, "declares 900000 globals"},
		{"lying exports", mod(sec(SectionExport, u(90_000))), ErrMalformed, "declares 90000 exports"},
		{"lying elements", mod(sec(SectionElement, u(9_000_000))), ErrMalformed, "declares 9000000 element segments"},
		{"lying data", mod(sec(SectionData, u(90_000))), ErrMalformed, "declares 90000 data segments"},
		{"lying code", mod(sec(SectionCode, u(900_000))), ErrMalformed, "declares 900000 function bodies"},
		{"lying params", mod(sec(SectionType, u(1), []byte{0x60}, u(900), []byte{0x7f})), ErrMalformed, "900 params"},
		{"too many params", mod(sec(SectionType, u(1), []byte{0x60}, u(1001))), ErrLimit, "1001 params, over the limit of 1000"},
		{"lying locals", oneFunc(cat(u(1), u(math.MaxUint32), []byte{0x7f, 0x0b})), ErrLimit, "4294967295 parameters and locals, over the limit of 50000"},
		{"locals summing over", oneFunc(cat(u(2), u(30_000), []byte{0x7f}, u(30_000), []byte{0x7e, 0x0b})), ErrLimit, "60000 parameters and locals"},
		{"lying local entries", oneFunc(cat(u(1000), []byte{0x0b})), ErrMalformed, "1000 local entries"},
		{"lying br_table", oneFunc(cat([]byte{0, 0x0e}, u(1<<20), []byte{0x0b})), ErrMalformed, "br_table labels"},
		{"lying name map", mod(sec(SectionCustom, AppendName(nil, "name"), []byte{1, 5}, u(1<<30), []byte{0, 0})), ErrMalformed, "function names"},
		{"lying local names", mod(sec(SectionCustom, AppendName(nil, "name"), []byte{2, 5}, u(1<<30), []byte{0, 0})), ErrMalformed, "local name maps"},
		{"lying custom name", mod(sec(SectionCustom, u(50))), ErrMalformed, "custom section name of 50 bytes"},
		{"lying data size", mod(sec(SectionMemory, u(1), []byte{0, 1}), sec(SectionData, u(1), u(0), []byte{0x41, 0, 0x0b}, u(1<<30))), ErrMalformed, "data segment of 1073741824 bytes"},
		{"body past section", mod(voidType, sec(SectionFunction, u(1), u(0)), sec(SectionCode, u(1), u(100), []byte{0, 0x0b})), ErrMalformed, "runs past"},
		{"body over limit", mod(voidType, sec(SectionFunction, u(1), u(0)), sec(SectionCode, u(1), u(8_000_000))), ErrLimit, "over the limit of 7654321"},
		{"function without body", mod(voidType, sec(SectionFunction, u(1), u(0))), ErrMalformed, "1 functions but the code section has 0"},
		{"function type out of range", mod(voidType, sec(SectionFunction, u(1), u(5))), ErrInvalid, "function type index 5 out of range"},
		{"import type out of range", mod(voidType, sec(SectionImport, u(1), AppendName(nil, "m"), AppendName(nil, "f"), []byte{0}, u(3))), ErrInvalid, "import type index 3"},
		{"call out of range", oneFunc([]byte{0, 0x10, 7, 0x0b}), ErrInvalid, "function index 7 out of range"},
		{"call_indirect type out of range", mod(voidType, sec(SectionFunction, u(1), u(0)), sec(SectionTable, u(1), []byte{0x70, 0, 1}),
			sec(SectionCode, u(1), u(6), []byte{0, 0x41, 0, 0x11, 9, 0}, []byte{})), ErrInvalid, "type index 9 out of range"},
		{"call_indirect without table", oneFunc([]byte{0, 0x41, 0, 0x11, 0, 0, 0x0b}), ErrInvalid, "table index 0 out of range"},
		{"block type out of range", oneFunc([]byte{0, 0x02, 0x05, 0x0b, 0x0b}), ErrInvalid, "block type index 5"},
		{"branch too deep", oneFunc([]byte{0, 0x0c, 1, 0x0b}), ErrInvalid, "branch depth 1 out of range"},
		{"local out of range", oneFunc([]byte{0, 0x20, 0, 0x0b}), ErrInvalid, "local index 0 out of range"},
		{"global out of range", oneFunc([]byte{0, 0x23, 0, 0x0b}), ErrInvalid, "global index 0"},
		{"memory out of range", oneFunc([]byte{0, 0x41, 0, 0x28, 2, 0, 0x1a, 0x0b}), ErrInvalid, "memory index 0"},
		{"memory.init without datacount", oneFunc([]byte{0, 0xfc, 8, 0, 0, 0x0b}), ErrInvalid, "need a datacount section"},
		{"missing end", oneFunc([]byte{0, 0x02, 0x40, 0x0b}), ErrMalformed, "still open"},
		{"code after end", oneFunc([]byte{0, 0x0b, 0x01}), ErrMalformed, "after the function's final end"},
		{"else without if", oneFunc([]byte{0, 0x05, 0x0b}), ErrMalformed, "else without"},
		{"unknown opcode", oneFunc([]byte{0, 0xff, 0x0b}), ErrMalformed, "unknown or unsupported opcode 0xff"},
		{"exceptions", oneFunc([]byte{0, 0x08, 0, 0x0b}), ErrMalformed, "opcode 0x08"},
		{"threads", oneFunc([]byte{0, 0xfe, 0x03, 0, 0x0b}), ErrUnsupported, "threads"},
		{"simd gap", oneFunc([]byte{0, 0xfd, 0x9a, 0x01, 0x0b}), ErrMalformed, "SIMD opcode 0xfd 154"},
		{"relaxed simd", oneFunc([]byte{0, 0xfd, 0x80, 0x02, 0x0b}), ErrMalformed, "SIMD opcode 0xfd 256"},
		{"truncated immediate", oneFunc([]byte{0, 0x41, 0x80}), ErrMalformed, "i32 constant"},
		{"deep nesting", oneFunc(nested(DefaultNestingDepth)), ErrLimit, "nested over 2048 deep"},
		{"table over limit", mod(sec(SectionTable, u(1), []byte{0x70, 0}, u(10_000_001))), ErrLimit, "table minimum 10000001 is over the limit"},
		{"memory over limit", mod(sec(SectionMemory, u(1), []byte{1, 0}, u(65537))), ErrLimit, "memory maximum 65537"},
		{"two memories", mod(sec(SectionMemory, u(2), []byte{0, 1, 0, 1})), ErrLimit, "2 memories, over the limit of 1"},
		{"memory64", mod(sec(SectionMemory, u(1), []byte{4, 1})), ErrUnsupported, "memory64"},
		{"shared memory", mod(sec(SectionMemory, u(1), []byte{3, 1, 1})), ErrUnsupported, "shared memory"},
		{"max below min", mod(sec(SectionMemory, u(1), []byte{1, 2, 1})), ErrInvalid, "below its minimum"},
		{"duplicate export", mod(voidType, sec(SectionFunction, u(1), u(0)), sec(SectionExport, u(2), AppendName(nil, "a"), []byte{0, 0}, AppendName(nil, "a"), []byte{0, 0})), ErrInvalid, `"a" is used twice`},
		{"export out of range", mod(sec(SectionExport, u(1), AppendName(nil, "m"), []byte{2, 0})), ErrInvalid, "memory index 0 out of range"},
		{"start out of range", mod(sec(SectionStart, u(0))), ErrInvalid, "start function index 0"},
		{"bad const expr", mod(sec(SectionGlobal, u(1), []byte{0x7f, 0, 0x01, 0x0b})), ErrInvalid, "not allowed in a constant expression"},
		{"datacount mismatch", mod(sec(SectionDataCount, u(2))), ErrMalformed, "datacount section says 2"},
		{"bad utf8 name", mod(sec(SectionExport, u(1), []byte{1, 0xff, 0, 0})), ErrMalformed, "not valid UTF-8"},
		{"name subsections out of order", mod(sec(SectionCustom, AppendName(nil, "name"), []byte{1, 1, 0}, []byte{0, 1, 0})), ErrMalformed, "out of order"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Check(c.b, Limits{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want an *Error", err, err)
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v\nwant %v containing %q", err, c.want, c.msg)
			}
			if e.Offset < 0 || e.Offset > len(c.b) {
				t.Fatalf("offset %d outside the %d-byte module", e.Offset, len(c.b))
			}
		})
	}
}

func TestAcceptsFeatures(t *testing.T) {
	ok := map[string][]byte{
		"nesting under limit": oneFunc(nested(DefaultNestingDepth - 1)),
		"simd":                oneFunc(cat([]byte{0, 0xfd, 12}, make([]byte, 16), []byte{0xfd, 0x15, 3, 0x1a, 0x0b})),
		"bulk memory":         mod(voidType, sec(SectionFunction, u(1), u(0)), sec(SectionMemory, u(1), []byte{0, 1}), sec(SectionDataCount, u(1)), sec(SectionCode, u(1), u(15), []byte{0, 0x41, 0, 0x41, 0, 0x41, 1, 0xfc, 8, 0, 0, 0xfc, 9, 0, 0x0b}), sec(SectionData, u(1), u(1), u(1), []byte{'x'})),
		"sign extension":      oneFunc([]byte{0, 0x41, 1, 0xc0, 0x1a, 0x0b}),
		"sat trunc":           oneFunc([]byte{0, 0x43, 0, 0, 0, 0, 0xfc, 0, 0x1a, 0x0b}),
		"typed select":        oneFunc([]byte{0, 0x41, 1, 0x41, 2, 0x41, 0, 0x1c, 1, 0x7f, 0x1a, 0x0b}),
		"tail call":           oneFunc([]byte{0, 0x12, 0, 0x0b}),
		"ref types":           oneFunc([]byte{0, 0xd0, 0x70, 0xd1, 0x1a, 0xd2, 0, 0x1a, 0x0b}),
		"empty":               mod(),
	}
	// Block type 1 is () -> (i32 i32).
	ok["multi-value block"] = mod(sec(SectionType, u(2), []byte{0x60, 0, 0}, []byte{0x60, 0, 2, 0x7f, 0x7f}), sec(SectionFunction, u(1), u(0)),
		sec(SectionCode, u(1), u(11), []byte{0, 0x02, 1, 0x41, 1, 0x41, 2, 0x0b, 0x1a, 0x1a, 0x0b}))
	for name, b := range ok {
		if err := Check(b, Limits{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLimitsConfigurable(t *testing.T) {
	b := oneFunc(nested(10))
	if err := Check(b, Limits{MaxNestingDepth: 10}); !errors.Is(err, ErrLimit) {
		t.Fatalf("depth 10 at limit 10: %v", err)
	}
	if err := Check(b, Limits{MaxNestingDepth: 12}); err != nil {
		t.Fatalf("depth 10 at limit 12: %v", err)
	}
	if err := Check(oneFunc(cat(u(1), u(5), []byte{0x7f, 0x0b})), Limits{MaxLocals: 4}); !errors.Is(err, ErrLimit) {
		t.Fatalf("5 locals at limit 4: %v", err)
	}
	if got := DefaultLimits().withDefaults(); got != DefaultLimits() {
		t.Fatal("defaults are not a fixed point")
	}
}

func TestClampTables(t *testing.T) {
	ctx := context.Background()
	// One funcref table (min 1) and an export grow(n) that runs table.grow.
	build := func(max []byte) []byte {
		lim := []byte{0, 1}
		if max != nil {
			lim = cat([]byte{1, 1}, max)
		}
		return mod(
			sec(SectionType, u(1), []byte{0x60, 1, 0x7f, 1, 0x7f}),
			sec(SectionFunction, u(1), u(0)),
			sec(SectionTable, u(1), []byte{0x70}, lim),
			sec(SectionExport, u(1), AppendName(nil, "grow"), []byte{0, 0}),
			sec(SectionCode, u(1), u(9), []byte{0, 0xd0, 0x70, 0x20, 0, 0xfc, 15, 0, 0x0b}),
		)
	}
	for _, tc := range []struct {
		name string
		max  []byte
	}{{"no max", nil}, {"max over cap", u(5_000_000)}, {"max under cap", u(50)}} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse(build(tc.max), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			changed, err := ClampTables(m, 100)
			if err != nil {
				t.Fatal(err)
			}
			want := uint32(100)
			if tc.max != nil && len(tc.max) == 1 {
				want = 50
			}
			if changed != (want == 100) || m.Tables[0].Max != want || !m.Tables[0].HasMax {
				t.Fatalf("changed %v, table %+v", changed, m.Tables[0])
			}
			out := m.Encode()
			if err := Check(out, Limits{}); err != nil {
				t.Fatalf("clamped module: %v", err)
			}
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(api.CoreFeaturesV2))
			defer rt.Close(ctx)
			inst, err := rt.Instantiate(ctx, out)
			if err != nil {
				t.Fatal(err)
			}
			grow := inst.ExportedFunction("grow")
			call := func(n uint32) int32 {
				r, err := grow.Call(ctx, uint64(n))
				if err != nil {
					t.Fatal(err)
				}
				return int32(r[0])
			}
			if got := call(want - 1); got != 1 { // 1 -> want: the old size
				t.Fatalf("grow to the cap returned %d", got)
			}
			if got := call(1); got != -1 {
				t.Fatalf("grow past the cap returned %d, want -1", got)
			}
			if got := call(1 << 28); got != -1 {
				t.Fatalf("grow by 2^28 returned %d, want -1", got)
			}
		})
	}
	m, err := Parse(mod(sec(SectionTable, u(1), []byte{0x70, 0}, u(101))), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ClampTables(m, 100); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "minimum of 101 elements, over the cap of 100") {
		t.Fatalf("min over cap: %v", err)
	}
}

func TestSetSectionInsertsInOrder(t *testing.T) {
	m, err := Parse(mod(voidType, sec(SectionCustom, AppendName(nil, "x")), sec(SectionFunction, u(1), u(0)), sec(SectionCode, u(1), u(2), []byte{0, 0x0b})), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m.SetSection(SectionGlobal, EncodeGlobals([]Global{{Type: GlobalType{Type: ValI64, Mutable: true}, Init: ConstExpr{Bytes: []byte{0x42, 0, 0x0b}}}}))
	m.SetSection(SectionDataCount, EncodeDataCount(0))
	var ids []SectionID
	for _, s := range m.Sections {
		ids = append(ids, s.ID)
	}
	want := []SectionID{SectionType, SectionCustom, SectionFunction, SectionGlobal, SectionDataCount, SectionCode}
	if !slicesEqual(ids, want) {
		t.Fatalf("sections %v, want %v", ids, want)
	}
	m2, err := Parse(m.Encode(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m2.Globals) != 1 || m2.Globals[0].Type.Type != ValI64 || !m2.HasDataCount {
		t.Fatalf("re-parsed: %+v", m2)
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestNestingDepthCompileCost measures what the nesting limit protects against: compiling one
// function nested at the default limit with wazero's compiler, against a tenth of it. It fails
// when the cost at the limit is out of proportion (over 3 s even on a loaded machine), which
// would mean DefaultNestingDepth needs lowering.
func TestNestingDepthCompileCost(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles deeply nested functions; skipped with -short")
	}
	ctx := context.Background()
	cost := func(depth int) time.Duration {
		b := oneFunc(nested(depth))
		if err := Check(b, Limits{}); err != nil {
			t.Fatalf("depth %d: %v", depth, err)
		}
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
		defer rt.Close(ctx)
		start := time.Now()
		if _, err := rt.CompileModule(ctx, b); err != nil {
			t.Fatalf("depth %d: %v", depth, err)
		}
		return time.Since(start)
	}
	small, limit := cost((DefaultNestingDepth-1)/10), cost(DefaultNestingDepth-1)
	t.Logf("compile at depth %d: %v; at depth %d: %v", (DefaultNestingDepth-1)/10, small, DefaultNestingDepth-1, limit)
	if limit > 3*time.Second {
		t.Fatalf("a function nested %d deep takes %v to compile", DefaultNestingDepth-1, limit)
	}
}

// BenchmarkCheck measures the pre-validation's throughput on the largest example module.
func BenchmarkCheck(b *testing.B) {
	wasm, err := os.ReadFile("../../../examples/runners/go-transform.wasm")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(wasm)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(wasm, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEveryLimit sets each count limit just below a small module's count and expects ErrLimit
// naming it: every documented limit is enforced, not only the defaults the other tests reach.
func TestEveryLimit(t *testing.T) {
	imp := func(name string, kind byte, desc ...byte) []byte {
		return cat(AppendName(nil, "m"), AppendName(nil, name), []byte{kind}, desc)
	}
	twoFuncs := mod(voidType, sec(SectionFunction, u(2), u(0), u(0)), sec(SectionCode, u(2), u(2), []byte{0, 0x0b}, u(2), []byte{0, 0x0b}))
	cases := []struct {
		name string
		lim  Limits
		b    []byte
		msg  string
	}{
		{"types", Limits{MaxTypes: 1}, mod(sec(SectionType, u(2), []byte{0x60, 0, 0, 0x60, 0, 0})), "2 types, over the limit of 1"},
		{"functions", Limits{MaxFunctions: 1}, twoFuncs, "2 functions, over the limit of 1"},
		{"imported functions count", Limits{MaxFunctions: 1}, mod(voidType, sec(SectionImport, u(1), imp("f", 0, 0)), sec(SectionFunction, u(1), u(0)), sec(SectionCode, u(1), u(2), []byte{0, 0x0b})), "2 functions, over the limit of 1"},
		{"imports", Limits{MaxImports: 1}, mod(voidType, sec(SectionImport, u(2), imp("a", 0, 0), imp("b", 0, 0))), "2 imports, over the limit of 1"},
		{"exports", Limits{MaxExports: 1}, mod(voidType, sec(SectionFunction, u(1), u(0)), sec(SectionExport, u(2), AppendName(nil, "a"), []byte{0, 0}, AppendName(nil, "b"), []byte{0, 0}), sec(SectionCode, u(1), u(2), []byte{0, 0x0b})), "2 exports, over the limit of 1"},
		{"globals", Limits{MaxGlobals: 1}, mod(sec(SectionGlobal, u(2), []byte{0x7f, 0, 0x41, 0, 0x0b, 0x7f, 0, 0x41, 0, 0x0b})), "2 globals, over the limit of 1"},
		{"data segments", Limits{MaxDataSegments: 1}, mod(sec(SectionData, u(2), u(1), u(0), u(1), u(0))), "2 data segments, over the limit of 1"},
		{"datacount", Limits{MaxDataSegments: 1}, mod(sec(SectionDataCount, u(2)), sec(SectionData, u(2), u(1), u(0), u(1), u(0))), "2 data segments, over the limit of 1"},
		{"tables", Limits{MaxTables: 1}, mod(sec(SectionTable, u(2), []byte{0x70, 0, 0, 0x70, 0, 0})), "2 tables, over the limit of 1"},
		{"memories", Limits{MaxMemories: 1}, mod(sec(SectionImport, u(1), imp("mem", 2, 0, 1)), sec(SectionMemory, u(1), []byte{0, 1})), "2 memories, over the limit of 1"},
		{"table size", Limits{MaxTableSize: 10}, mod(sec(SectionTable, u(1), []byte{0x70, 1, 1, 11})), "table maximum 11 is over the limit of 10"},
		{"element segments", Limits{MaxElementSegments: 1}, mod(sec(SectionElement, u(2), u(1), []byte{0}, u(0), u(1), []byte{0}, u(0))), "2 element segments, over the limit of 1"},
		{"body size", Limits{MaxFunctionBodySize: 3}, oneFunc([]byte{0, 0x01, 0x01, 0x0b}), "body of 4 bytes is over the limit of 3"},
		{"locals with params", Limits{MaxLocals: 3}, mod(sec(SectionType, u(1), []byte{0x60, 2, 0x7f, 0x7f, 0}), sec(SectionFunction, u(1), u(0)), sec(SectionCode, u(1), u(4), []byte{1, 2, 0x7f, 0x0b})), "4 parameters and locals, over the limit of 3"},
		{"params", Limits{MaxParams: 1}, mod(sec(SectionType, u(1), []byte{0x60, 2, 0x7f, 0x7f, 0})), "2 params, over the limit of 1"},
		{"results", Limits{MaxResults: 1}, mod(sec(SectionType, u(1), []byte{0x60, 0, 2, 0x7f, 0x7f})), "2 results, over the limit of 1"},
		{"memory pages", Limits{MaxMemoryPages: 2}, mod(sec(SectionMemory, u(1), []byte{0, 3})), "memory minimum 3 is over the limit of 2"},
		{"string length", Limits{MaxStringLength: 3}, mod(sec(SectionCustom, AppendName(nil, "long"))), "custom section name is 4 bytes, over the limit of 3"},
		{"nesting", Limits{MaxNestingDepth: 2}, oneFunc(nested(2)), "nested over 2 deep"},
		{"name entries", Limits{MaxNameEntries: 2}, mod(sec(SectionCustom, AppendName(nil, "name"), []byte{1, 10}, u(3), u(0), AppendName(nil, "a"), u(1), AppendName(nil, "b"), u(2), AppendName(nil, "c"))), "over 2 entries (the limit)"},
		{"local name entries", Limits{MaxNameEntries: 2}, mod(sec(SectionCustom, AppendName(nil, "name"), []byte{2, 9}, u(1), u(0), u(2), u(0), AppendName(nil, "a"), u(1), AppendName(nil, "b"))), "over 2 entries (the limit)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Limits the module passes: the defaults, but for memories, whose default is the 1.
			base := Limits{}
			if c.name == "memories" {
				base.MaxMemories = 2
			}
			if err := Check(c.b, base); err != nil {
				t.Fatalf("under the default limits: %v", err)
			}
			err := Check(c.b, c.lim)
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want ErrLimit with %q", err, c.msg)
			}
		})
	}
}

// BenchmarkCompileLargestBody compiles, with wazero's compiler, one function body of the
// largest size the limits accept (MaxFunctionBodySize, i32.const/drop pairs): what one body
// may cost the host in compile time and memory (see -benchmem).
func BenchmarkCompileLargestBody(b *testing.B) {
	n := (int(DefaultLimits().MaxFunctionBodySize) - 2) / 3
	body := append([]byte{0}, bytes.Repeat([]byte{0x41, 0, 0x1a}, n)...)
	wasm := oneFunc(append(body, 0x0b))
	if err := Check(wasm, Limits{}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
		if _, err := rt.CompileModule(ctx, wasm); err != nil {
			b.Fatal(err)
		}
		_ = rt.Close(ctx)
	}
}
