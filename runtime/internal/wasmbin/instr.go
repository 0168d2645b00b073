package wasmbin

import (
	"encoding/binary"
	"fmt"
)

// Opcode identifies an instruction. A one-byte opcode is its byte; a prefixed one (0xFC, 0xFD,
// 0xFE) is prefix<<24 | its LEB128 sub-opcode, see [Prefixed].
type Opcode uint32

// Prefixed returns the Opcode of sub-opcode sub under prefix (0xFC, 0xFD or 0xFE).
func Prefixed(prefix byte, sub uint32) Opcode { return Opcode(uint32(prefix)<<24 | sub) }

// Prefix returns the opcode's prefix byte, or 0 for a one-byte opcode.
func (o Opcode) Prefix() byte { return byte(o >> 24) }

// Sub returns a prefixed opcode's sub-opcode, or the opcode byte itself.
func (o Opcode) Sub() uint32 { return uint32(o) & 0xffffff }

// String returns the opcode in hex, "0x10" or "0xfc 8".
func (o Opcode) String() string {
	if o.Prefix() != 0 {
		return fmt.Sprintf("0x%02x %d", o.Prefix(), o.Sub())
	}
	return fmt.Sprintf("0x%02x", uint32(o))
}

// Opcodes with immediates or control-flow meaning, and those constant expressions use.
// Every other opcode of the supported proposals is decoded too; it needs no name here.
const (
	OpUnreachable        Opcode = 0x00
	OpNop                Opcode = 0x01
	OpBlock              Opcode = 0x02
	OpLoop               Opcode = 0x03
	OpIf                 Opcode = 0x04
	OpElse               Opcode = 0x05
	OpEnd                Opcode = 0x0b
	OpBr                 Opcode = 0x0c
	OpBrIf               Opcode = 0x0d
	OpBrTable            Opcode = 0x0e
	OpReturn             Opcode = 0x0f
	OpCall               Opcode = 0x10
	OpCallIndirect       Opcode = 0x11
	OpReturnCall         Opcode = 0x12
	OpReturnCallIndirect Opcode = 0x13
	OpDrop               Opcode = 0x1a
	OpSelect             Opcode = 0x1b
	OpSelectT            Opcode = 0x1c
	OpLocalGet           Opcode = 0x20
	OpLocalSet           Opcode = 0x21
	OpLocalTee           Opcode = 0x22
	OpGlobalGet          Opcode = 0x23
	OpGlobalSet          Opcode = 0x24
	OpTableGet           Opcode = 0x25
	OpTableSet           Opcode = 0x26
	OpMemorySize         Opcode = 0x3f
	OpMemoryGrow         Opcode = 0x40
	OpI32Const           Opcode = 0x41
	OpI64Const           Opcode = 0x42
	OpF32Const           Opcode = 0x43
	OpF64Const           Opcode = 0x44
	OpI32Add             Opcode = 0x6a
	OpI32Sub             Opcode = 0x6b
	OpI32Mul             Opcode = 0x6c
	OpI64Add             Opcode = 0x7c
	OpI64Sub             Opcode = 0x7d
	OpI64Mul             Opcode = 0x7e
	OpRefNull            Opcode = 0xd0
	OpRefIsNull          Opcode = 0xd1
	OpRefFunc            Opcode = 0xd2

	OpMemoryInit Opcode = 0xfc<<24 | 8
	OpDataDrop   Opcode = 0xfc<<24 | 9
	OpMemoryCopy Opcode = 0xfc<<24 | 10
	OpMemoryFill Opcode = 0xfc<<24 | 11
	OpTableInit  Opcode = 0xfc<<24 | 12
	OpElemDrop   Opcode = 0xfc<<24 | 13
	OpTableCopy  Opcode = 0xfc<<24 | 14
	OpTableGrow  Opcode = 0xfc<<24 | 15
	OpTableSize  Opcode = 0xfc<<24 | 16
	OpTableFill  Opcode = 0xfc<<24 | 17
	OpV128Const  Opcode = 0xfd<<24 | 12
)

// Block types that are not a type index, as Instr.BlockType holds them (the s33 values).
const (
	BlockEmpty int64 = -64 // 0x40: no parameters, no results
)

// Instr is one decoded instruction. Which immediates are meaningful depends on Op:
//
//   - block, loop, if: BlockType
//   - br, br_if: Index (label depth); br_table: Labels and Index (the default)
//   - call, return_call, ref.func: Index (function); call_indirect, return_call_indirect:
//     Index (type), Index2 (table)
//   - local.*, global.*: Index; table.get/set/grow/size/fill: Index (table)
//   - loads, stores, SIMD loads/stores: Align, MemOffset, Index (memory); *_lane adds Lane
//   - memory.size, memory.grow, memory.fill: Index (memory); memory.copy: Index, Index2
//   - memory.init: Index (data), Index2 (memory); data.drop: Index (data)
//   - table.init: Index (element), Index2 (table); elem.drop: Index; table.copy: Index, Index2
//   - i32/i64.const: Const (the value sign-extended to 64 bits); f32/f64.const: Const (bits)
//   - v128.const, i8x16.shuffle: V128; extract/replace_lane: Lane
//   - ref.null: RefType; select t*: Types
type Instr struct {
	Op Opcode
	// Offset is the instruction's first byte and End one past its last, both absolute
	// offsets into the bytes the reader was given.
	Offset, End int

	BlockType int64
	Index     uint32
	Index2    uint32
	Labels    []uint32 // aliases the reader's buffer: valid until the next call to Next
	Align     uint32
	MemOffset uint64
	Const     uint64
	V128      [16]byte
	Lane      byte
	RefType   ValType
	Types     []ValType // aliases the reader's buffer: valid until the next call to Next
}

// InstrReader walks instructions one at a time. It decodes and bounds-checks immediates but
// knows nothing of the module: index checks are the caller's (Check does them).
type InstrReader struct {
	r      reader
	in     Instr
	err    error
	labels []uint32
	types  []ValType
}

// Instructions returns a reader over code, whose first byte is at offset base of the module
// (offsets in instructions and errors are base-relative, that is, absolute in the module).
// For a parsed function body use Code.Instructions.
func Instructions(code []byte, base int) *InstrReader {
	return &InstrReader{r: reader{b: code, end: len(code), base: base, section: "code"}}
}

// Instructions returns a reader over the body's instructions.
func (c *Code) Instructions() *InstrReader { return Instructions(c.Expr, c.ExprOffset) }

// Instr returns the instruction the last Next decoded.
func (it *InstrReader) Instr() *Instr { return &it.in }

// Err returns the error that stopped Next, or nil at a clean end.
func (it *InstrReader) Err() error { return it.err }

// Offset returns the absolute offset of the next instruction.
func (it *InstrReader) Offset() int { return it.r.base + it.r.pos }

type immKind byte

const (
	immUnknown immKind = iota
	immNone
	immBlock
	immLabel
	immBrTable
	immIndex
	immIndex2
	immMemarg
	immMem
	immI32
	immI64
	immF32
	immF64
	immRefType
	immSelectT
	immPrefix
)

var oneByte = func() (t [256]immKind) {
	set := func(lo, hi int, k immKind) {
		for i := lo; i <= hi; i++ {
			t[i] = k
		}
	}
	set(0x00, 0x01, immNone)
	set(0x02, 0x04, immBlock)
	set(0x05, 0x05, immNone)
	set(0x0b, 0x0b, immNone)
	set(0x0c, 0x0d, immLabel)
	set(0x0e, 0x0e, immBrTable)
	set(0x0f, 0x0f, immNone)
	set(0x10, 0x10, immIndex)
	set(0x11, 0x11, immIndex2)
	set(0x12, 0x12, immIndex)
	set(0x13, 0x13, immIndex2)
	set(0x1a, 0x1b, immNone)
	set(0x1c, 0x1c, immSelectT)
	set(0x20, 0x26, immIndex)
	set(0x28, 0x3e, immMemarg)
	set(0x3f, 0x40, immMem)
	set(0x41, 0x41, immI32)
	set(0x42, 0x42, immI64)
	set(0x43, 0x43, immF32)
	set(0x44, 0x44, immF64)
	set(0x45, 0xc4, immNone) // numeric, sign extension
	set(0xd0, 0xd0, immRefType)
	set(0xd1, 0xd1, immNone)
	set(0xd2, 0xd2, immIndex)
	set(0xfc, 0xfe, immPrefix)
	return
}()

// simdGaps are the sub-opcodes below 0x100 that the SIMD proposal leaves unassigned.
var simdGaps = map[uint32]bool{0x9a: true, 0xa2: true, 0xa5: true, 0xa6: true, 0xaf: true,
	0xb0: true, 0xb2: true, 0xb3: true, 0xb4: true, 0xbb: true, 0xc2: true, 0xc5: true,
	0xc6: true, 0xcf: true, 0xd0: true, 0xd2: true, 0xd3: true, 0xd4: true, 0xe2: true, 0xee: true}

func (it *InstrReader) fail(err error) bool {
	it.err = err
	it.r.pos = it.r.end
	return false
}

// Next decodes the next instruction; it returns false at the end of the code or on an error
// (see Err).
func (it *InstrReader) Next() bool {
	r := &it.r
	if it.err != nil || r.pos >= r.end {
		return false
	}
	start := r.pos
	it.in = Instr{Offset: r.base + start}
	in := &it.in
	c := r.b[r.pos]
	r.pos++
	in.Op = Opcode(c)
	var err error
	switch oneByte[c] {
	case immUnknown:
		return it.fail(r.errf(ErrMalformed, start, "unknown or unsupported opcode 0x%02x", c))
	case immNone:
	case immBlock:
		in.BlockType, err = r.sleb("block type", 33)
		if err == nil && in.BlockType < 0 && in.BlockType != BlockEmpty &&
			(in.BlockType < -64 || !ValType(in.BlockType&0x7f).valid()) {
			err = r.errf(ErrMalformed, start, "unknown block type %d", in.BlockType)
		}
	case immLabel, immIndex:
		in.Index, err = r.u32("immediate")
	case immIndex2:
		if in.Index, err = r.u32("type index"); err == nil {
			in.Index2, err = r.u32("table index")
		}
	case immBrTable:
		var n uint32
		if n, err = r.count("br_table labels", 1, 0); err != nil {
			break
		}
		it.labels = it.labels[:0]
		for i := uint32(0); i < n && err == nil; i++ {
			var l uint32
			l, err = r.u32("br_table label")
			it.labels = append(it.labels, l)
		}
		if err == nil {
			in.Index, err = r.u32("br_table default label")
		}
		in.Labels = it.labels
	case immMemarg:
		err = it.memarg()
	case immMem:
		in.Index, err = r.u32("memory index")
	case immI32:
		var v int64
		v, err = r.sleb("i32 constant", 32)
		in.Const = uint64(v)
	case immI64:
		var v int64
		v, err = r.sleb("i64 constant", 64)
		in.Const = uint64(v)
	case immF32:
		var b []byte
		if b, err = r.bytes(4, "f32 constant"); err == nil {
			in.Const = uint64(binary.LittleEndian.Uint32(b))
		}
	case immF64:
		var b []byte
		if b, err = r.bytes(8, "f64 constant"); err == nil {
			in.Const = binary.LittleEndian.Uint64(b)
		}
	case immRefType:
		var t byte
		if t, err = r.byte("reference type"); err == nil {
			in.RefType = ValType(t)
			if !in.RefType.isRef() {
				err = r.errf(ErrMalformed, start+1, "ref.null of 0x%02x, not a reference type", t)
			}
		}
	case immSelectT:
		var n uint32
		if n, err = r.count("select types", 1, 0); err != nil {
			break
		}
		it.types = it.types[:0]
		for i := uint32(0); i < n && err == nil; i++ {
			var t byte
			t, err = r.byte("select type")
			if err == nil && !ValType(t).valid() {
				err = r.errf(ErrMalformed, r.pos-1, "unknown value type 0x%02x", t)
			}
			it.types = append(it.types, ValType(t))
		}
		in.Types = it.types
	case immPrefix:
		err = it.prefixed(c)
	}
	if err != nil {
		return it.fail(err)
	}
	in.End = r.base + r.pos
	return true
}

func (it *InstrReader) memarg() error {
	r, in := &it.r, &it.in
	var err error
	if in.Align, err = r.u32("memarg alignment"); err != nil {
		return err
	}
	// Multi-memory: bit 6 of the alignment field says a memory index follows.
	if in.Align&0x40 != 0 {
		in.Align &^= 0x40
		if in.Index, err = r.u32("memarg memory index"); err != nil {
			return err
		}
	}
	var off uint64
	off, err = r.uleb("memarg offset", 32)
	in.MemOffset = off
	return err
}

func (it *InstrReader) prefixed(prefix byte) error {
	r, in := &it.r, &it.in
	start := r.pos - 1
	sub, err := r.u32("sub-opcode")
	if err != nil {
		return err
	}
	if sub >= 1<<24 {
		return r.errf(ErrMalformed, start, "unknown opcode 0x%02x %d", prefix, sub)
	}
	in.Op = Prefixed(prefix, sub)
	switch prefix {
	case 0xfc:
		switch {
		case sub <= 7: // saturating truncations
		case sub == 8, sub == 12, sub == 10, sub == 14:
			if in.Index, err = r.u32("index"); err == nil {
				in.Index2, err = r.u32("index")
			}
		case sub == 9, sub == 11, sub == 13, sub == 15, sub == 16, sub == 17:
			in.Index, err = r.u32("index")
		default:
			return r.errf(ErrMalformed, start, "unknown opcode 0xfc %d", sub)
		}
	case 0xfd:
		switch {
		case sub <= 11, sub == 92, sub == 93:
			err = it.memarg()
		case sub == 12, sub == 13:
			var b []byte
			if b, err = r.bytes(16, "v128 immediate"); err == nil {
				copy(in.V128[:], b)
			}
		case sub >= 21 && sub <= 34:
			in.Lane, err = r.byte("lane index")
		case sub >= 84 && sub <= 91:
			if err = it.memarg(); err == nil {
				in.Lane, err = r.byte("lane index")
			}
		case sub > 0xff || simdGaps[sub]:
			return r.errf(ErrMalformed, start, "unknown or unsupported SIMD opcode 0xfd %d", sub)
		}
	case 0xfe:
		return r.errf(ErrUnsupported, start, "threads (atomic instruction 0xfe %d) are not supported", sub)
	}
	return err
}
