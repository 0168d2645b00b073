// Package fuel instruments WebAssembly modules so that they count what they execute.
//
// [Instrument] rewrites a module (decoded and re-encoded with wasmbin) so that it charges a
// counter, a mutable i64 global the pass adds and exports as [GlobalExport], with the static
// cost of each straight-line block where that block begins, and with the length of every
// memory.grow, bulk-memory and table operation just before it runs. The counter is the fuel
// left in the current slice: it is tested only at function entry and at loop headers (and
// after a length charge), and when it is negative the guest calls the host import
// [ImportModule].[ImportName], of type (i64) -> (i64): it passes the counter and stores the
// result as the new counter. The host grants another slice there, or traps. Every loop
// iteration and every call passes a test, so no code runs unboundedly between two of them.
//
// While a function runs, the counter lives in a local of that function (pass version 2): the
// global is read at entry and after every call, and written before every call, every exit
// (return, the body's end, a branch to the function's label) and around the refill import.
// The global therefore holds the exact counter whenever another function, a host import or
// the host after a call that returned reads it. Engines that keep globals in memory (wazero)
// then keep the counter in a register in a loop, instead of a store and a load per iteration.
// Loops are wrapped so that the refill call sits outside them (see wrapLoop in rewrite.go).
//
// A call that traps (unreachable, an out-of-bounds access, a division by zero) leaves the
// global as the trapping function last wrote it: the fuel it reports is what was charged up
// to that function's last call, refill or entry, less than one slice (plus one block) short of
// what it charged, and the same on every run. A call the host stops at a refill reports
// exactly what it charged.
//
// The pass never changes what a module computes: it adds one import (renumbering function
// indices in code, constant expressions, element segments, exports, the start function and the
// name section), one global, one export, one or two locals per function, and a custom section
// naming the pass version and the cost table, so that the instrumented bytes, and with them
// any compilation cache keyed on the bytes, differ whenever either changes.
package fuel

import (
	"errors"
	"fmt"
	"strings"

	"github.com/solti-wasm/solti-wasm/runtime/internal/wasmbin"
)

// Reserved names. A module that already uses any of them is refused ([ErrReserved]).
const (
	// ImportModule and ImportName name the refill import: (i64) -> (i64), counter in, new
	// counter out.
	ImportModule = "solti_fuel"
	ImportName   = "refill"
	// GlobalExport is the export name of the counter global.
	GlobalExport = "solti_fuel"
	// SectionName is the custom section recording the pass version and the cost table.
	SectionName = "solti_fuel"
)

// PassVersion is the version of the rewriting; it is part of the custom section the pass
// adds, so a change of the pass changes the bytes it produces. Version 2 keeps the counter in
// a local of each function and moves the refill call out of loops; the fuel a call that
// returns uses is the same as with version 1.
const PassVersion = 2

// Costs is the cost table, in fuel units. A unit is about one simple instruction (an i32.add,
// a local.get): what a compiled engine executes in roughly a nanosecond. Control markers
// (block, loop, else, end, nop) are free; every other instruction costs Instr, calls add Call
// on top of the callee's own cost, and operations whose work grows with an operand (the
// length of memory.fill/copy/init and table.fill/copy/init, the delta of memory.grow and
// table.grow) add a charge by that operand.
type Costs struct {
	// Instr is the cost of one instruction that is not a control marker. At least 1: a loop
	// whose body cost nothing would never run out.
	Instr uint32
	// Call is added for call, call_indirect, return_call and return_call_indirect.
	Call uint32
	// Grow is added for memory.grow and table.grow, which call into the engine even for a
	// delta of 0: wazero's compiler takes about 250 ns for one (TestFuelStopsHogs' grow loop).
	Grow uint32
	// GrowPage is charged per 64 KiB page memory.grow asks for (whether or not it succeeds).
	GrowPage uint32
	// BulkByteShift: memory.fill, memory.copy and memory.init charge len >> BulkByteShift
	// (6: one unit per 64 bytes). At most 63.
	BulkByteShift uint8
	// TableElemShift: table.grow, table.fill, table.copy and table.init charge
	// n >> TableElemShift. At most 63.
	TableElemShift uint8
}

// DefaultCosts is cost table version 1: Instr 1, Call 2, Grow 200, GrowPage 1024 (a page is
// 64 KiB, which at one unit per 64 bytes is 1,024 units: the zeroing it costs),
// BulkByteShift 6 (one unit per 64 bytes moved or set), TableElemShift 3 (one unit per 8
// elements).
func DefaultCosts() Costs {
	return Costs{Instr: 1, Call: 2, Grow: 200, GrowPage: 1024, BulkByteShift: 6, TableElemShift: 3}
}

// String is the cost table as the custom section records it.
func (c Costs) String() string {
	return fmt.Sprintf("instr=%d call=%d grow=%d grow-page=%d bulk-byte-shift=%d table-elem-shift=%d",
		c.Instr, c.Call, c.Grow, c.GrowPage, c.BulkByteShift, c.TableElemShift)
}

func (c Costs) check() error {
	var bad []string
	if c.Instr == 0 {
		bad = append(bad, "Instr must be at least 1")
	}
	if c.BulkByteShift > 63 {
		bad = append(bad, fmt.Sprintf("BulkByteShift %d is over 63", c.BulkByteShift))
	}
	if c.TableElemShift > 63 {
		bad = append(bad, fmt.Sprintf("TableElemShift %d is over 63", c.TableElemShift))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrCosts, strings.Join(bad, "; "))
	}
	return nil
}

// Errors Instrument returns; a module the pre-validator refuses comes back as its
// *wasmbin.Error (errors.Is with wasmbin.ErrMalformed and the like).
var (
	// ErrReserved is a module that already uses a name the pass reserves.
	ErrReserved = errors.New("module uses a name reserved for fuel metering")
	// ErrCosts is a cost table Instrument cannot use.
	ErrCosts = errors.New("invalid fuel cost table")
)

// Section returns the payload text of the custom section Instrument adds for costs.
func Section(c Costs) string {
	return fmt.Sprintf("solti fuel pass %d; costs %s", PassVersion, c)
}

// Instrument returns wasm instrumented with costs (see the package documentation). wasm is
// decoded with wasmbin's default limits; the input is not modified.
func Instrument(wasm []byte, costs Costs) ([]byte, error) {
	if err := costs.check(); err != nil {
		return nil, err
	}
	m, err := wasmbin.Parse(wasm, wasmbin.Limits{})
	if err != nil {
		return nil, err
	}
	if err := checkReserved(m); err != nil {
		return nil, err
	}
	p := &pass{m: m, costs: costs, firstDefined: m.ImportedFuncs, counter: m.NumGlobals(), saved: map[wasmbin.ValType][]uint32{}}

	// The refill import's type: reuse an identical one when the module has it.
	refillType := uint32(len(m.Types))
	for i, t := range m.Types {
		if len(t.Params) == 1 && t.Params[0] == wasmbin.ValI64 && len(t.Results) == 1 && t.Results[0] == wasmbin.ValI64 {
			refillType = uint32(i)
			break
		}
	}
	if refillType == uint32(len(m.Types)) {
		types := append(append([]wasmbin.FuncType(nil), m.Types...), wasmbin.FuncType{
			Params: []wasmbin.ValType{wasmbin.ValI64}, Results: []wasmbin.ValType{wasmbin.ValI64}})
		m.SetSection(wasmbin.SectionType, wasmbin.EncodeTypes(types))
	}
	// Appended after the other imports, the refill function takes index ImportedFuncs: every
	// defined function moves up by one.
	imports := append(append([]wasmbin.Import(nil), m.Imports...), wasmbin.Import{
		Module: ImportModule, Name: ImportName, Kind: wasmbin.ExternFunc, TypeIndex: refillType})
	m.SetSection(wasmbin.SectionImport, wasmbin.EncodeImports(imports))
	p.refill = m.ImportedFuncs

	exports := make([]wasmbin.Export, 0, len(m.Exports)+1)
	for _, e := range m.Exports {
		if e.Kind == wasmbin.ExternFunc {
			e.Index = p.fn(e.Index)
		}
		exports = append(exports, e)
	}
	exports = append(exports, wasmbin.Export{Name: GlobalExport, Kind: wasmbin.ExternGlobal, Index: p.counter})
	m.SetSection(wasmbin.SectionExport, wasmbin.EncodeExports(exports))

	if m.HasStart {
		m.SetSection(wasmbin.SectionStart, wasmbin.EncodeStart(p.fn(m.Start)))
	}
	if len(m.Elements) > 0 {
		elems := make([]wasmbin.Element, len(m.Elements))
		for i, e := range m.Elements {
			if e.Mode == wasmbin.ModeActive {
				if e.OffsetExpr.Bytes, err = p.constExpr(e.OffsetExpr); err != nil {
					return nil, err
				}
			}
			if e.FuncIndices != nil {
				fs := make([]uint32, len(e.FuncIndices))
				for j, f := range e.FuncIndices {
					fs[j] = p.fn(f)
				}
				e.FuncIndices = fs
			}
			if e.Exprs != nil {
				xs := make([]wasmbin.ConstExpr, len(e.Exprs))
				for j, x := range e.Exprs {
					if xs[j].Bytes, err = p.constExpr(x); err != nil {
						return nil, err
					}
				}
				e.Exprs = xs
			}
			elems[i] = e
		}
		m.SetSection(wasmbin.SectionElement, wasmbin.EncodeElements(elems))
	}
	if len(m.Codes) > 0 {
		codes := make([]wasmbin.Code, len(m.Codes))
		for i := range m.Codes {
			if codes[i], err = p.body(uint32(i)); err != nil {
				return nil, err
			}
		}
		m.SetSection(wasmbin.SectionCode, wasmbin.EncodeCodes(codes))
	}
	globals := make([]wasmbin.Global, 0, len(m.Globals)+1)
	for _, g := range m.Globals {
		g.Init.Bytes, err = p.constExpr(g.Init)
		if err != nil {
			return nil, err
		}
		globals = append(globals, g)
	}
	// The counter starts at zero: the first test (at the first function entry, the start
	// function's included) asks the host for a slice.
	globals = append(globals, wasmbin.Global{
		Type: wasmbin.GlobalType{Type: wasmbin.ValI64, Mutable: true},
		Init: wasmbin.ConstExpr{Bytes: []byte{byte(wasmbin.OpI64Const), 0, byte(wasmbin.OpEnd)}}})
	// Then the scratch globals the bodies' refill paths save locals in (one per type and
	// slot, shared by all functions).
	for _, t := range p.savedTypes {
		globals = append(globals, wasmbin.Global{Type: wasmbin.GlobalType{Type: t, Mutable: true}, Init: wasmbin.ConstExpr{Bytes: zeroInit(t)}})
	}
	m.SetSection(wasmbin.SectionGlobal, wasmbin.EncodeGlobals(globals))

	// DWARF addresses code by its byte offsets in the code section, which the charges just
	// moved: kept, it would map a trap to the wrong file:line, which is worse than none. The
	// name section survives, renumbered, so traces keep their function names.
	kept := m.Sections[:0]
	for _, s := range m.Sections {
		if s.ID != wasmbin.SectionCustom || !strings.HasPrefix(s.Name, ".debug_") {
			kept = append(kept, s)
		}
	}
	m.Sections = kept
	for i := range m.Sections {
		if s := &m.Sections[i]; s.ID == wasmbin.SectionCustom && s.Name == "name" {
			if s.Payload, err = p.names(s.Payload); err != nil {
				return nil, err
			}
		}
	}
	custom := wasmbin.AppendName(nil, SectionName)
	custom = append(custom, Section(costs)...)
	m.Sections = append(m.Sections, wasmbin.Section{ID: wasmbin.SectionCustom, Name: SectionName, Offset: -1, PayloadOffset: -1, Payload: custom})
	return m.Encode(), nil
}

func checkReserved(m *wasmbin.Module) error {
	for _, im := range m.Imports {
		if im.Module == ImportModule {
			return fmt.Errorf("%w: import %s.%s (module %q is the host's)", ErrReserved, im.Module, im.Name, ImportModule)
		}
	}
	for _, e := range m.Exports {
		if e.Name == GlobalExport {
			return fmt.Errorf("%w: export %q", ErrReserved, e.Name)
		}
	}
	for _, s := range m.Sections {
		if s.ID == wasmbin.SectionCustom && s.Name == SectionName {
			return fmt.Errorf("%w: custom section %q (the module is instrumented already)", ErrReserved, s.Name)
		}
	}
	return nil
}

// pass holds what rewriting one module needs.
type pass struct {
	m            *wasmbin.Module
	costs        Costs
	firstDefined uint32 // the old index of the first defined function
	refill       uint32 // the refill import's function index
	counter      uint32 // the counter global's index
	// saved: the scratch globals of each type, by slot; savedTypes their types in index
	// order (they follow the counter).
	saved      map[wasmbin.ValType][]uint32
	savedTypes []wasmbin.ValType
	// ins and seg are body's scratch buffers, reused from one function to the next.
	ins []instr
	seg []uint64
}

// fn maps an old function index to its new one.
func (p *pass) fn(f uint32) uint32 {
	if f >= p.firstDefined {
		return f + 1
	}
	return f
}

// constExpr returns a constant expression's bytes with ref.func renumbered.
func (p *pass) constExpr(x wasmbin.ConstExpr) ([]byte, error) {
	out := make([]byte, 0, len(x.Bytes)+1)
	it := wasmbin.Instructions(x.Bytes, x.Offset)
	for it.Next() {
		in := it.Instr()
		if in.Op == wasmbin.OpRefFunc {
			out = append(out, byte(wasmbin.OpRefFunc))
			out = wasmbin.AppendUleb128(out, uint64(p.fn(in.Index)))
			continue
		}
		out = append(out, x.Bytes[in.Offset-x.Offset:in.End-x.Offset]...)
	}
	return out, it.Err()
}
