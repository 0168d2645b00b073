package wasmbin

import "fmt"

// SectionID is a section's id byte.
type SectionID byte

// Section ids, in the order the spec numbers them.
const (
	SectionCustom    SectionID = 0
	SectionType      SectionID = 1
	SectionImport    SectionID = 2
	SectionFunction  SectionID = 3
	SectionTable     SectionID = 4
	SectionMemory    SectionID = 5
	SectionGlobal    SectionID = 6
	SectionExport    SectionID = 7
	SectionStart     SectionID = 8
	SectionElement   SectionID = 9
	SectionCode      SectionID = 10
	SectionData      SectionID = 11
	SectionDataCount SectionID = 12
)

var sectionNames = [...]string{"custom", "type", "import", "function", "table", "memory", "global",
	"export", "start", "element", "code", "data", "datacount"}

// String returns the section's name as the spec spells it ("type", "datacount").
func (id SectionID) String() string {
	if int(id) < len(sectionNames) {
		return sectionNames[id]
	}
	return fmt.Sprintf("section(%d)", byte(id))
}

// order is the position a known section must keep: datacount sits between element and code.
func (id SectionID) order() int {
	switch {
	case id == SectionDataCount:
		return int(SectionElement) + 1
	case id >= SectionCode:
		return int(id) + 1
	default:
		return int(id)
	}
}

// ValType is a value type byte.
type ValType byte

// Value types.
const (
	ValI32       ValType = 0x7f
	ValI64       ValType = 0x7e
	ValF32       ValType = 0x7d
	ValF64       ValType = 0x7c
	ValV128      ValType = 0x7b
	ValFuncRef   ValType = 0x70
	ValExternRef ValType = 0x6f
)

// String returns the type as the text format spells it.
func (t ValType) String() string {
	switch t {
	case ValI32:
		return "i32"
	case ValI64:
		return "i64"
	case ValF32:
		return "f32"
	case ValF64:
		return "f64"
	case ValV128:
		return "v128"
	case ValFuncRef:
		return "funcref"
	case ValExternRef:
		return "externref"
	}
	return fmt.Sprintf("valtype(0x%02x)", byte(t))
}

func (t ValType) valid() bool {
	switch t {
	case ValI32, ValI64, ValF32, ValF64, ValV128, ValFuncRef, ValExternRef:
		return true
	}
	return false
}

func (t ValType) isRef() bool { return t == ValFuncRef || t == ValExternRef }

// ExternKind is the kind byte of an import or export.
type ExternKind byte

// Import and export kinds.
const (
	ExternFunc   ExternKind = 0
	ExternTable  ExternKind = 1
	ExternMemory ExternKind = 2
	ExternGlobal ExternKind = 3
)

// String returns the kind's name.
func (k ExternKind) String() string {
	switch k {
	case ExternFunc:
		return "func"
	case ExternTable:
		return "table"
	case ExternMemory:
		return "memory"
	case ExternGlobal:
		return "global"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// Section is one section as it appears in the binary.
type Section struct {
	ID SectionID
	// Name is a custom section's name; empty for the others.
	Name string
	// Offset is the offset of the id byte; PayloadOffset that of the payload's first byte
	// (for a custom section, the name's length prefix).
	Offset, PayloadOffset int
	// Payload is the section's content after the size, aliasing the parsed bytes. To rewrite
	// a section, replace Payload and call Module.Encode.
	Payload []byte

	// rawSize is the section size as the input encoded it (some toolchains pad it to five
	// bytes); Encode reuses it while the payload keeps its length, so offsets do not move.
	rawSize []byte
}

// FuncType is a function signature.
type FuncType struct {
	Params, Results []ValType
}

// TableType describes a table. Min and Max count elements.
type TableType struct {
	Elem   ValType
	Min    uint32
	Max    uint32
	HasMax bool
}

// MemoryType describes a memory. Min and Max count 64 KiB pages.
type MemoryType struct {
	Min    uint32
	Max    uint32
	HasMax bool
}

// GlobalType describes a global.
type GlobalType struct {
	Type    ValType
	Mutable bool
}

// Import is one entry of the import section. Which of the typed fields is meaningful
// depends on Kind.
type Import struct {
	Module, Name string
	Kind         ExternKind
	TypeIndex    uint32 // ExternFunc
	Table        TableType
	Memory       MemoryType
	Global       GlobalType
	// Offset is the offset of the entry's first byte.
	Offset int
}

// ConstExpr is a constant expression (a global's initializer, a segment's offset, an element
// expression), raw bytes including the final end opcode.
type ConstExpr struct {
	Offset int
	Bytes  []byte
}

// Global is a defined global.
type Global struct {
	Type GlobalType
	Init ConstExpr
}

// Export is one entry of the export section.
type Export struct {
	Name  string
	Kind  ExternKind
	Index uint32
}

// SegmentMode says how a data or element segment is used.
type SegmentMode byte

// Segment modes.
const (
	ModeActive      SegmentMode = iota // copied into a table or memory at instantiation
	ModePassive                        // used by memory.init or table.init
	ModeDeclarative                    // only declares functions referable by ref.func
)

// Element is one element segment. Exactly one of FuncIndices and Exprs is used, as Flags say:
// flags 0-3 hold function indices, 4-7 expressions.
type Element struct {
	// Flags is the segment's leading flags value (0-7), kept so the segment re-encodes as it was.
	Flags       uint32
	Mode        SegmentMode
	Table       uint32    // ModeActive
	OffsetExpr  ConstExpr // ModeActive
	Type        ValType   // the element type: funcref unless an expression form says otherwise
	FuncIndices []uint32
	Exprs       []ConstExpr
	Offset      int
}

// Data is one data segment.
type Data struct {
	Flags      uint32
	Mode       SegmentMode // ModeActive or ModePassive
	Memory     uint32      // ModeActive
	OffsetExpr ConstExpr   // ModeActive
	Init       []byte
	Offset     int
}

// LocalEntry is one run of locals of the same type in a function body.
type LocalEntry struct {
	Count uint32
	Type  ValType
}

// Code is one function body.
type Code struct {
	// Offset is that of the body's size prefix, BodyOffset that of the first byte after it,
	// and End one past the body's last byte.
	Offset, BodyOffset, End int
	Locals                  []LocalEntry
	// NumLocals is the sum of Locals' counts.
	NumLocals uint64
	// ExprOffset is the offset of the first instruction; Expr holds the instructions, the
	// final end included (Expr ends at End).
	ExprOffset int
	Expr       []byte
}

// NameAssoc is one entry of a name map.
type NameAssoc struct {
	Index uint32
	Name  string
}

// IndirectNames is the local names of one function.
type IndirectNames struct {
	Index uint32
	Names []NameAssoc
}

// Names is the decoded "name" custom section (module, function and local names; other
// subsections are checked for framing and skipped).
type Names struct {
	Module    string
	Functions []NameAssoc
	Locals    []IndirectNames
}

// Module is a parsed module.
type Module struct {
	// Sections holds every section in binary order, custom sections included.
	Sections []Section

	Types        []FuncType
	Imports      []Import
	Functions    []uint32 // type index of each defined function
	Tables       []TableType
	Memories     []MemoryType
	Globals      []Global
	Exports      []Export
	Start        uint32
	HasStart     bool
	Elements     []Element
	DataCount    uint32
	HasDataCount bool
	Codes        []Code
	Data         []Data
	Names        *Names

	// Imported counts per kind; a kind's index space starts with its imports.
	ImportedFuncs, ImportedTables, ImportedMemories, ImportedGlobals uint32
}

// NumFuncs is the size of the function index space (imported plus defined).
func (m *Module) NumFuncs() uint32 { return m.ImportedFuncs + uint32(len(m.Functions)) }

// NumGlobals is the size of the global index space.
func (m *Module) NumGlobals() uint32 { return m.ImportedGlobals + uint32(len(m.Globals)) }

// NumTables is the size of the table index space.
func (m *Module) NumTables() uint32 { return m.ImportedTables + uint32(len(m.Tables)) }

// NumMemories is the size of the memory index space.
func (m *Module) NumMemories() uint32 { return m.ImportedMemories + uint32(len(m.Memories)) }

// FuncType returns the signature of function index f, or false when f is out of range.
func (m *Module) FuncType(f uint32) (FuncType, bool) {
	var ti uint32
	switch {
	case f < m.ImportedFuncs:
		n := uint32(0)
		for _, im := range m.Imports {
			if im.Kind != ExternFunc {
				continue
			}
			if n == f {
				ti = im.TypeIndex
				break
			}
			n++
		}
	case f-m.ImportedFuncs < uint32(len(m.Functions)):
		ti = m.Functions[f-m.ImportedFuncs]
	default:
		return FuncType{}, false
	}
	if ti >= uint32(len(m.Types)) {
		return FuncType{}, false
	}
	return m.Types[ti], true
}
