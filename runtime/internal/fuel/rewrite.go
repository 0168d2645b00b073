package fuel

import (
	"slices"

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
	labels   []uint32 // br_table's targets, the default (index) not included
	// blockType is block's, loop's and if's
	blockType int64
	// exits: the instruction leaves the function (return, the body's final end, a br, br_if
	// or br_table with a target that is the function's own label), so the counter's local
	// copy must be stored back to the global before it.
	exits bool
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

// isCall reports whether op transfers control to another function (which reads the counter
// global at its entry, or is a host import that may charge it).
func isCall(op wasmbin.Opcode) bool {
	switch op {
	case wasmbin.OpCall, wasmbin.OpCallIndirect, wasmbin.OpReturnCall, wasmbin.OpReturnCallIndirect:
		return true
	}
	return false
}

// maxSaved bounds the locals a loop's refill path saves (saveLocals): enough for the loops
// compilers emit, and a bound on the code and globals it adds.
const maxSaved = 32

// decode returns body c's instructions, each branch marked when it leaves the function, and
// for each loop (by its instruction's index) the locals its body reads or writes, in the
// order of their first use, nested loops' included.
// The instructions are appended to buf[:0], which may be nil: the pass hands each body the
// previous body's slice, so that one buffer serves the whole module (a Go guest's 3.8 MB of
// code allocated ~100 MB of instr values, one slice per function, before it did).
func decode(c *wasmbin.Code, buf []instr) ([]instr, map[int][]uint32, error) {
	ins := buf[:0]
	if n := len(c.Expr)/2 + 1; cap(ins) < n {
		ins = make([]instr, 0, n)
	}
	depth := uint32(0) // open block, loop and if constructs; the function's label is at depth
	var loops []int    // the open loops' instruction indices, innermost last
	var kinds []bool   // for each open construct: is it a loop
	refs := map[int][]uint32{}
	it := c.Instructions()
	for it.Next() {
		in := it.Instr()
		x := instr{op: in.Op, off: in.Offset - c.ExprOffset, end: in.End - c.ExprOffset, index: in.Index}
		switch in.Op {
		case wasmbin.OpBlock, wasmbin.OpLoop, wasmbin.OpIf:
			x.blockType = in.BlockType
			depth++
			kinds = append(kinds, in.Op == wasmbin.OpLoop)
			if in.Op == wasmbin.OpLoop {
				loops = append(loops, len(ins))
				refs[len(ins)] = nil
			}
		case wasmbin.OpLocalGet, wasmbin.OpLocalSet, wasmbin.OpLocalTee:
			if len(loops) > 0 {
				j := loops[len(loops)-1]
				if !slices.Contains(refs[j], in.Index) && len(refs[j]) < maxSaved {
					refs[j] = append(refs[j], in.Index)
				}
			}
		case wasmbin.OpEnd:
			x.exits = depth == 0 // the body's own end
			if len(kinds) > 0 {
				if kinds[len(kinds)-1] { // a loop closes: its locals are its parent loop's too
					j := loops[len(loops)-1]
					loops = loops[:len(loops)-1]
					if len(loops) > 0 {
						k := loops[len(loops)-1]
						for _, l := range refs[j] {
							if !slices.Contains(refs[k], l) && len(refs[k]) < maxSaved {
								refs[k] = append(refs[k], l)
							}
						}
					}
				}
				kinds = kinds[:len(kinds)-1]
			}
			depth-- // wraps after the body's end, which is its last instruction
		case wasmbin.OpReturn:
			x.exits = true
		case wasmbin.OpBr, wasmbin.OpBrIf:
			x.exits = in.Index == depth
		case wasmbin.OpBrTable:
			x.labels = append([]uint32(nil), in.Labels...)
			x.exits = in.Index == depth
			for _, l := range in.Labels {
				x.exits = x.exits || l == depth
			}
		}
		ins = append(ins, x)
	}
	return ins, refs, it.Err()
}

// body returns defined function i instrumented. The counter lives in a local of the function
// (an i64 appended to its locals) while the function runs, so that engines that keep globals
// in memory (wazero) keep it in a register in loops: the local is loaded from the global at
// entry and after every call, and stored back before every call and every exit; every call
// goes through the global, so a callee and a host import see and charge the right value.
// Each straight-line block charges the local where it begins; function entry and loop
// headers test it; length-charged operations charge their operand (through a scratch i32
// local) and test; function indices are renumbered.
func (p *pass) body(i uint32) (wasmbin.Code, error) {
	c := &p.m.Codes[i]
	ins, refs, err := decode(c, p.ins)
	if err != nil {
		return wasmbin.Code{}, err
	}
	p.ins = ins
	// Each block's cost, stored at its first instruction.
	if cap(p.seg) < len(ins) {
		p.seg = make([]uint64, len(ins))
	}
	seg := p.seg[:len(ins)]
	clear(seg)
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
	// Appended locals: the counter's copy (i64), then a scratch i32 for length charges.
	e := emitter{p: p, local: uint32(params + c.NumLocals), params: p.m.Types[p.m.Functions[i]].Params, locals: c.Locals}
	scratch := e.local + 1
	usesScratch := false
	e.out = make([]byte, 0, len(c.Expr)+len(c.Expr)/2+48)
	// Function entry: the local starts as the global, charged with the first block and tested.
	e.op(wasmbin.OpGlobalGet, p.counter)
	e.chargeTest(seg[0], false)
	charge, test := false, false
	var open []bool // the constructs open at this point: true for a loop wrapped for its refill
	for j, in := range ins {
		if charge {
			switch {
			case test && open[len(open)-1]:
				e.chargeTestCold(seg[j])
			case test:
				e.chargeTest(seg[j], true)
			default:
				e.charge(seg[j])
			}
			charge, test = false, false
		}
		if lengthCharged(in.op) && e.lengthCharge(in.op, scratch) {
			usesScratch = true
		}
		if in.exits || isCall(in.op) {
			e.store()
		}
		switch in.op {
		case wasmbin.OpCall, wasmbin.OpReturnCall, wasmbin.OpRefFunc:
			e.op(in.op, p.fn(in.index))
		case wasmbin.OpBr, wasmbin.OpBrIf:
			e.op(in.op, relabel(open, in.index))
		case wasmbin.OpBrTable:
			e.out = append(e.out, byte(in.op))
			e.out = wasmbin.AppendUleb128(e.out, uint64(len(in.labels)))
			for _, l := range in.labels {
				e.out = wasmbin.AppendUleb128(e.out, uint64(relabel(open, l)))
			}
			e.out = wasmbin.AppendUleb128(e.out, uint64(relabel(open, in.index)))
		case wasmbin.OpLoop:
			wrap := p.wrappable(in.blockType)
			if wrap {
				e.wrapLoop(c.Expr[in.off+1 : in.end])
				e.saves = append(e.saves, saveSet(refs[j], e.saves))
			}
			e.out = append(e.out, c.Expr[in.off:in.end]...)
			open = append(open, wrap)
		case wasmbin.OpBlock, wasmbin.OpIf:
			e.out = append(e.out, c.Expr[in.off:in.end]...)
			open = append(open, false)
		case wasmbin.OpEnd:
			e.out = append(e.out, byte(in.op))
			if len(open) > 0 {
				if open[len(open)-1] {
					e.unwrapLoop(seg[e.headerAt[len(e.headerAt)-1]], e.saves[len(e.saves)-1])
					e.headerAt = e.headerAt[:len(e.headerAt)-1]
					e.saves = e.saves[:len(e.saves)-1]
				}
				open = open[:len(open)-1]
			}
		default:
			e.out = append(e.out, c.Expr[in.off:in.end]...)
		}
		if in.op == wasmbin.OpCall || in.op == wasmbin.OpCallIndirect {
			e.load()
		}
		if in.op == wasmbin.OpLoop && open[len(open)-1] {
			e.headerAt = append(e.headerAt, j+1)
		}
		if endsBlock(in.op) {
			charge, test = true, in.op == wasmbin.OpLoop
		}
	}
	locals := append(append(make([]wasmbin.LocalEntry, 0, len(c.Locals)+2), c.Locals...), wasmbin.LocalEntry{Count: 1, Type: wasmbin.ValI64})
	if usesScratch {
		locals = append(locals, wasmbin.LocalEntry{Count: 1, Type: wasmbin.ValI32})
	}
	return wasmbin.Code{Locals: locals, Expr: e.out}, nil
}

// emitter appends the pass's code for one function, whose counter copy is local.
type emitter struct {
	p     *pass
	out   []byte
	local uint32
	// headerAt holds, for each wrapped loop open, the index of its header's first
	// instruction: seg at it is what the header charges, which the refill path refunds.
	headerAt []int
	// saves holds, for each wrapped loop open, the locals its refill path saves.
	saves [][]uint32
	// The function's parameter types and declared locals, for the types of saved locals.
	params []wasmbin.ValType
	locals []wasmbin.LocalEntry
}

// saveSet is the locals a wrapped loop's refill path saves: those its body uses, then those
// of the loops around it (enclosing, innermost last), at most maxSaved.
func saveSet(own []uint32, enclosing [][]uint32) []uint32 {
	out := slices.Clone(own)
	for k := len(enclosing) - 1; k >= 0; k-- {
		for _, l := range enclosing[k] {
			if len(out) < maxSaved && !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	return out
}

// localType is the type of local x of the function.
func (e *emitter) localType(x uint32) wasmbin.ValType {
	if x < uint32(len(e.params)) {
		return e.params[x]
	}
	x -= uint32(len(e.params))
	for _, l := range e.locals {
		if x < l.Count {
			return l.Type
		}
		x -= l.Count
	}
	return 0 // unreachable in a valid body
}

func (e *emitter) op(op wasmbin.Opcode, idx uint32) {
	e.out = append(e.out, byte(op))
	e.out = wasmbin.AppendUleb128(e.out, uint64(idx))
}

func (e *emitter) i64(v int64) {
	e.out = append(e.out, byte(wasmbin.OpI64Const))
	e.out = wasmbin.AppendSleb128(e.out, v)
}

// load appends local = counter.
func (e *emitter) load() {
	e.op(wasmbin.OpGlobalGet, e.p.counter)
	e.op(wasmbin.OpLocalSet, e.local)
}

// store appends counter = local.
func (e *emitter) store() {
	e.op(wasmbin.OpLocalGet, e.local)
	e.op(wasmbin.OpGlobalSet, e.p.counter)
}

// charge appends local -= cost, or nothing for a free block.
func (e *emitter) charge(cost uint64) {
	if cost == 0 {
		return
	}
	e.op(wasmbin.OpLocalGet, e.local)
	e.i64(int64(cost))
	e.out = append(e.out, byte(wasmbin.OpI64Sub))
	e.op(wasmbin.OpLocalSet, e.local)
}

// chargeTest appends local -= cost (cost may be 0) and the test, at loop headers; at
// function entry (fromLocal false) the counter's value is on the stack already, and the
// local is set from it.
func (e *emitter) chargeTest(cost uint64, fromLocal bool) {
	if fromLocal {
		e.op(wasmbin.OpLocalGet, e.local)
	}
	if cost > 0 {
		e.i64(int64(cost))
		e.out = append(e.out, byte(wasmbin.OpI64Sub))
	}
	if cost > 0 || !fromLocal {
		e.op(wasmbin.OpLocalTee, e.local)
	}
	e.testTop()
}

// Loops are wrapped so that the refill call is outside them: a call inside a loop makes
// wazero's register allocator keep the loop's values in memory across the whole loop, and an
// inline refill makes the hot path jump over it on every iteration. A wrapped loop is
//
//	block $exit (the loop's type)
//	  loop $retry
//	    block $cold
//	      loop (the original)
//	        local -= header cost; br_if $cold when negative
//	        ...the loop's body...
//	      end
//	      br $exit
//	    end
//	    the refill; local += header cost (the retry charges it again); br $retry
//	  end
//	  unreachable
//	end
//
// Re-entering the original loop from the top is what a branch to its header does, so the
// loop runs as before and the fuel it uses is the same. Branches inside that target a label
// outside it pass three more labels (relabel). Loops with parameters would need them carried
// through $retry: they keep the inline test.
const wrapLabels = 3

// wrappable reports whether a loop of block type bt can be wrapped: it takes no parameters.
func (p *pass) wrappable(bt int64) bool {
	return bt < 0 || len(p.m.Types[bt].Params) == 0
}

// relabel returns a branch's label depth l, counted in the original code with the
// constructs open as open, in the rewritten code: each wrapped loop between the branch and
// its target adds the wrapper's labels.
func relabel(open []bool, l uint32) uint32 {
	out := l
	for k := len(open) - 1; k >= 0 && k > len(open)-1-int(l); k-- {
		if open[k] {
			out += wrapLabels
		}
	}
	return out
}

// wrapLoop appends the wrapper's head, before a loop whose block type is encoded as bt.
func (e *emitter) wrapLoop(bt []byte) {
	e.out = append(e.out, byte(wasmbin.OpBlock))
	e.out = append(e.out, bt...)
	e.out = append(e.out, byte(wasmbin.OpLoop), 0x40, byte(wasmbin.OpBlock), 0x40)
}

// unwrapLoop appends the wrapper's tail, after a wrapped loop's end; cost is what its header
// charges, saved the locals to keep in globals across the refill call.
//
// The saving is for the register allocator, not for the semantics (storing a local and
// loading it back changes nothing): a value that lives across a call is kept in memory by
// wazero's allocator at every definition, so without it each loop iteration would store
// the loop's locals. Reloaded from globals after the call, the locals start new values
// there, and the loop's own stay in registers.
func (e *emitter) unwrapLoop(cost uint64, saved []uint32) {
	e.op(wasmbin.OpBr, 2) // $exit, with the loop's results
	e.out = append(e.out, byte(wasmbin.OpEnd))
	slots := make([]uint32, len(saved))
	used := map[wasmbin.ValType]int{}
	for k, x := range saved {
		t := e.localType(x)
		slots[k] = e.p.saveGlobal(t, used[t])
		used[t]++
		e.op(wasmbin.OpLocalGet, x)
		e.op(wasmbin.OpGlobalSet, slots[k])
	}
	e.refill()
	if cost > 0 {
		e.op(wasmbin.OpLocalGet, e.local)
		e.i64(int64(cost))
		e.out = append(e.out, byte(wasmbin.OpI64Add))
		e.op(wasmbin.OpLocalSet, e.local)
	}
	for k, x := range saved {
		e.op(wasmbin.OpGlobalGet, slots[k])
		e.op(wasmbin.OpLocalSet, x)
	}
	e.op(wasmbin.OpBr, 0) // $retry
	e.out = append(e.out, byte(wasmbin.OpEnd), byte(wasmbin.OpUnreachable), byte(wasmbin.OpEnd))
}

// chargeTestCold appends a wrapped loop's header: local -= cost, and a branch to the refill
// path ($cold, the wrapper's label just outside the loop) when it is negative.
func (e *emitter) chargeTestCold(cost uint64) {
	e.op(wasmbin.OpLocalGet, e.local)
	if cost > 0 {
		e.i64(int64(cost))
		e.out = append(e.out, byte(wasmbin.OpI64Sub), byte(wasmbin.OpLocalTee))
		e.out = wasmbin.AppendUleb128(e.out, uint64(e.local))
	}
	e.out = append(e.out, byte(wasmbin.OpI64Const), 0, opI64LtS)
	e.op(wasmbin.OpBrIf, 1)
}

// refill appends the refill path: the counter is stored before the import (so that a call
// the host stops there reports the fuel it used exactly) and after (so that the global and
// the host's account agree again).
func (e *emitter) refill() {
	e.store()
	e.op(wasmbin.OpLocalGet, e.local)
	e.op(wasmbin.OpCall, e.p.refill)
	e.op(wasmbin.OpLocalTee, e.local)
	e.op(wasmbin.OpGlobalSet, e.p.counter)
}

// testTop appends, the local's value being on the stack: if it is negative, the refill.
func (e *emitter) testTop() {
	e.out = append(e.out, byte(wasmbin.OpI64Const), 0, opI64LtS, byte(wasmbin.OpIf), 0x40)
	e.refill()
	e.out = append(e.out, byte(wasmbin.OpEnd))
}

// lengthCharge appends, before op, a charge by the i32 operand on top of the stack (kept
// there through the scratch local) and a test; false when op's table charges nothing by
// length.
func (e *emitter) lengthCharge(op wasmbin.Opcode, scratch uint32) bool {
	var mul uint64
	var shift uint8
	switch op {
	case wasmbin.OpMemoryGrow:
		if mul = uint64(e.p.costs.GrowPage); mul == 0 {
			return false
		}
	case wasmbin.OpTableGrow, wasmbin.OpTableFill, wasmbin.OpTableCopy, wasmbin.OpTableInit:
		shift = e.p.costs.TableElemShift
	default:
		shift = e.p.costs.BulkByteShift
	}
	e.op(wasmbin.OpLocalTee, scratch)
	e.op(wasmbin.OpLocalGet, e.local)
	e.op(wasmbin.OpLocalGet, scratch)
	e.out = append(e.out, opI64ExtendI32)
	switch {
	case mul > 1:
		e.i64(int64(mul))
		e.out = append(e.out, byte(wasmbin.OpI64Mul))
	case shift > 0:
		e.i64(int64(shift))
		e.out = append(e.out, opI64ShrU)
	}
	e.out = append(e.out, byte(wasmbin.OpI64Sub), byte(wasmbin.OpLocalTee))
	e.out = wasmbin.AppendUleb128(e.out, uint64(e.local))
	e.testTop()
	return true
}

// saveGlobal returns the index of the k-th scratch global of type t, which refill paths
// save locals in, adding it to the globals the pass appends after the counter.
func (p *pass) saveGlobal(t wasmbin.ValType, k int) uint32 {
	for len(p.saved[t]) <= k {
		p.saved[t] = append(p.saved[t], p.counter+1+uint32(len(p.savedTypes)))
		p.savedTypes = append(p.savedTypes, t)
	}
	return p.saved[t][k]
}

// zeroInit is the constant expression of a scratch global of type t: its zero, or null.
func zeroInit(t wasmbin.ValType) []byte {
	switch t {
	case wasmbin.ValI32:
		return []byte{byte(wasmbin.OpI32Const), 0, byte(wasmbin.OpEnd)}
	case wasmbin.ValI64:
		return []byte{byte(wasmbin.OpI64Const), 0, byte(wasmbin.OpEnd)}
	case wasmbin.ValF32:
		return []byte{byte(wasmbin.OpF32Const), 0, 0, 0, 0, byte(wasmbin.OpEnd)}
	case wasmbin.ValF64:
		return []byte{byte(wasmbin.OpF64Const), 0, 0, 0, 0, 0, 0, 0, 0, byte(wasmbin.OpEnd)}
	case wasmbin.ValV128:
		return append(append([]byte{0xfd, 12}, make([]byte, 16)...), byte(wasmbin.OpEnd))
	}
	return []byte{byte(wasmbin.OpRefNull), byte(t), byte(wasmbin.OpEnd)}
}
