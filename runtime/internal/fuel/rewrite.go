package fuel

import (
	"github.com/solti-wasm/solti-wasm/runtime/internal/wasmbin"
)

// Opcodes the emitted code uses that wasmbin does not name.
const (
	opI64LtS       = 0x53
	opI64ShrU      = 0x88
	opI64ExtendI32 = 0xad // i64.extend_i32_u
)

// instr is the part of a decoded instruction the rewriting needs.
type instr struct {
	op       wasmbin.Opcode
	off, end int // relative to the body's first instruction
	index    uint32
}

// cost is op's static cost: control markers are free, calls cost Instr plus Call, grows
// Instr plus Grow.
func (p *pass) cost(op wasmbin.Opcode) uint64 {
	switch op {
	case wasmbin.OpBlock, wasmbin.OpLoop, wasmbin.OpElse, wasmbin.OpEnd, wasmbin.OpNop:
		return 0
	case wasmbin.OpCall, wasmbin.OpCallIndirect, wasmbin.OpReturnCall, wasmbin.OpReturnCallIndirect:
		return uint64(p.costs.Instr) + uint64(p.costs.Call)
	case wasmbin.OpMemoryGrow, wasmbin.OpTableGrow:
		return uint64(p.costs.Instr) + uint64(p.costs.Grow)
	}
	return uint64(p.costs.Instr)
}

// endsBlock reports whether a charged block ends after op: control flow may enter the next
// instruction from elsewhere (after block, loop, if, else, end), or never reaches it (br,
// br_table, return, unreachable). br_if does not end one: the code after it is entered only
// from it, so its cost is charged with the code before, in advance. That overcharges an exit
// taken by the br_if by what follows it, deterministically, and leaves the usual loop (a test
// that exits, a body, a branch back) one charge per iteration instead of two.
func endsBlock(op wasmbin.Opcode) bool {
	switch op {
	case wasmbin.OpBlock, wasmbin.OpLoop, wasmbin.OpIf, wasmbin.OpElse, wasmbin.OpEnd,
		wasmbin.OpBr, wasmbin.OpBrTable, wasmbin.OpReturn, wasmbin.OpUnreachable,
		wasmbin.OpReturnCall, wasmbin.OpReturnCallIndirect:
		return true
	}
	return false
}

// lengthCharged reports whether op is charged by the i32 operand on top of the stack: a
// length (memory.fill/copy/init, table.fill/copy/init) or a delta (memory.grow, table.grow).
func lengthCharged(op wasmbin.Opcode) bool {
	switch op {
	case wasmbin.OpMemoryGrow, wasmbin.OpMemoryFill, wasmbin.OpMemoryCopy, wasmbin.OpMemoryInit,
		wasmbin.OpTableGrow, wasmbin.OpTableFill, wasmbin.OpTableCopy, wasmbin.OpTableInit:
		return true
	}
	return false
}

// body returns defined function i instrumented: each straight-line block charges its cost
// where it begins, function entry and loop headers test the counter, length-charged
// operations charge their operand (through a scratch i32 local appended to the locals), and
// function indices are renumbered.
func (p *pass) body(i uint32) (wasmbin.Code, error) {
	c := &p.m.Codes[i]
	ins := make([]instr, 0, len(c.Expr)/2+1)
	it := c.Instructions()
	for it.Next() {
		in := it.Instr()
		ins = append(ins, instr{op: in.Op, off: in.Offset - c.ExprOffset, end: in.End - c.ExprOffset, index: in.Index})
	}
	if err := it.Err(); err != nil {
		return wasmbin.Code{}, err
	}
	// Each block's cost, stored at its first instruction.
	seg := make([]uint64, len(ins))
	start := 0
	for j, in := range ins {
		seg[start] += p.cost(in.op)
		if endsBlock(in.op) {
			start = j + 1
			if start == len(ins) {
				break
			}
		}
	}
	params := uint64(len(p.m.Types[p.m.Functions[i]].Params))
	// Scratch locals, appended: an i32 for length charges, an i64 for charge-and-test.
	scratch := uint32(params + c.NumLocals)
	scratch64 := scratch + 1
	usesScratch, usesScratch64 := false, false
	out := make([]byte, 0, len(c.Expr)+len(c.Expr)/2+32)
	charge, test := true, true // function entry
	for j, in := range ins {
		if charge {
			switch {
			case test && seg[j] > 0:
				out, usesScratch64 = p.appendChargeTest(out, seg[j], scratch64), true
			case test:
				out = p.appendTest(out)
			default:
				out = p.appendCharge(out, seg[j])
			}
			charge, test = false, false
		}
		if lengthCharged(in.op) {
			if b := p.appendLengthCharge(out, in.op, scratch); b != nil {
				out, usesScratch = b, true
			}
		}
		switch in.op {
		case wasmbin.OpCall, wasmbin.OpReturnCall, wasmbin.OpRefFunc:
			out = append(out, byte(in.op))
			out = wasmbin.AppendUleb128(out, uint64(p.fn(in.index)))
		default:
			out = append(out, c.Expr[in.off:in.end]...)
		}
		if endsBlock(in.op) {
			charge, test = true, in.op == wasmbin.OpLoop
		}
	}
	locals := c.Locals
	if usesScratch || usesScratch64 {
		locals = append(append([]wasmbin.LocalEntry(nil), c.Locals...), wasmbin.LocalEntry{Count: 1, Type: wasmbin.ValI32})
	}
	if usesScratch64 {
		locals = append(locals, wasmbin.LocalEntry{Count: 1, Type: wasmbin.ValI64})
	}
	return wasmbin.Code{Locals: locals, Expr: out}, nil
}

// appendCharge appends counter -= cost, or nothing for a free block.
func (p *pass) appendCharge(out []byte, cost uint64) []byte {
	if cost == 0 {
		return out
	}
	out = append(out, byte(wasmbin.OpGlobalGet))
	out = wasmbin.AppendUleb128(out, uint64(p.counter))
	out = append(out, byte(wasmbin.OpI64Const))
	out = wasmbin.AppendSleb128(out, int64(cost))
	out = append(out, byte(wasmbin.OpI64Sub), byte(wasmbin.OpGlobalSet))
	return wasmbin.AppendUleb128(out, uint64(p.counter))
}

// appendChargeTest appends counter -= cost and the test, reading the counter once through
// the scratch i64 local: the form at function entry and loop headers, where both happen.
func (p *pass) appendChargeTest(out []byte, cost uint64, scratch64 uint32) []byte {
	out = append(out, byte(wasmbin.OpGlobalGet))
	out = wasmbin.AppendUleb128(out, uint64(p.counter))
	out = append(out, byte(wasmbin.OpI64Const))
	out = wasmbin.AppendSleb128(out, int64(cost))
	out = append(out, byte(wasmbin.OpI64Sub), byte(wasmbin.OpLocalTee))
	out = wasmbin.AppendUleb128(out, uint64(scratch64))
	out = append(out, byte(wasmbin.OpGlobalSet))
	out = wasmbin.AppendUleb128(out, uint64(p.counter))
	out = append(out, byte(wasmbin.OpLocalGet))
	out = wasmbin.AppendUleb128(out, uint64(scratch64))
	out = append(out, byte(wasmbin.OpI64Const), 0, opI64LtS, byte(wasmbin.OpIf), 0x40, byte(wasmbin.OpLocalGet))
	out = wasmbin.AppendUleb128(out, uint64(scratch64))
	out = append(out, byte(wasmbin.OpCall))
	out = wasmbin.AppendUleb128(out, uint64(p.refill))
	out = append(out, byte(wasmbin.OpGlobalSet))
	out = wasmbin.AppendUleb128(out, uint64(p.counter))
	return append(out, byte(wasmbin.OpEnd))
}

// appendTest appends: if counter < 0 { counter = refill(counter) }.
func (p *pass) appendTest(out []byte) []byte {
	out = append(out, byte(wasmbin.OpGlobalGet))
	out = wasmbin.AppendUleb128(out, uint64(p.counter))
	out = append(out, byte(wasmbin.OpI64Const), 0, opI64LtS, byte(wasmbin.OpIf), 0x40, byte(wasmbin.OpGlobalGet))
	out = wasmbin.AppendUleb128(out, uint64(p.counter))
	out = append(out, byte(wasmbin.OpCall))
	out = wasmbin.AppendUleb128(out, uint64(p.refill))
	out = append(out, byte(wasmbin.OpGlobalSet))
	out = wasmbin.AppendUleb128(out, uint64(p.counter))
	return append(out, byte(wasmbin.OpEnd))
}

// appendLengthCharge appends, before op, a charge by the i32 operand on top of the stack
// (kept there through the scratch local) and a test; nil when op's table charges nothing by
// length.
func (p *pass) appendLengthCharge(out []byte, op wasmbin.Opcode, scratch uint32) []byte {
	var mul uint64
	var shift uint8
	switch op {
	case wasmbin.OpMemoryGrow:
		if mul = uint64(p.costs.GrowPage); mul == 0 {
			return nil
		}
	case wasmbin.OpTableGrow, wasmbin.OpTableFill, wasmbin.OpTableCopy, wasmbin.OpTableInit:
		shift = p.costs.TableElemShift
	default:
		shift = p.costs.BulkByteShift
	}
	out = append(out, byte(wasmbin.OpLocalTee))
	out = wasmbin.AppendUleb128(out, uint64(scratch))
	out = append(out, byte(wasmbin.OpGlobalGet))
	out = wasmbin.AppendUleb128(out, uint64(p.counter))
	out = append(out, byte(wasmbin.OpLocalGet))
	out = wasmbin.AppendUleb128(out, uint64(scratch))
	out = append(out, opI64ExtendI32)
	switch {
	case mul > 1:
		out = append(out, byte(wasmbin.OpI64Const))
		out = wasmbin.AppendSleb128(out, int64(mul))
		out = append(out, byte(wasmbin.OpI64Mul))
	case shift > 0:
		out = append(out, byte(wasmbin.OpI64Const))
		out = wasmbin.AppendSleb128(out, int64(shift))
		out = append(out, opI64ShrU)
	}
	out = append(out, byte(wasmbin.OpI64Sub), byte(wasmbin.OpGlobalSet))
	out = wasmbin.AppendUleb128(out, uint64(p.counter))
	return p.appendTest(out)
}
