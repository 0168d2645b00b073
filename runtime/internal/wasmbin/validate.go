package wasmbin

// Control frame kinds on the validator's stack.
const (
	frameFunc byte = iota
	frameBlock
	frameLoop
	frameIf
	frameElse
)

// validateBody walks function i's instructions: it checks every index immediate against the
// module, label depths against the open frames, nesting against the limit, and that the
// body's final end is its last byte.
func (p *parser) validateBody(b []byte, i uint32) error {
	m := p.m
	c := &m.Codes[i]
	fn := m.ImportedFuncs + i
	ft := m.Types[m.Functions[i]]
	numLocals := uint64(len(ft.Params)) + c.NumLocals
	it := c.Instructions()
	r := &it.r // for errors: same base as the instructions
	// The stack of frame kinds; it grows one byte per open frame, at most MaxNestingDepth.
	frames := []byte{frameFunc}
	fail := func(kind error, off int, format string, args ...any) error {
		e := r.errf(kind, 0, format, args...)
		e.Offset = off
		e.Msg = "function " + itoa(fn) + ": " + e.Msg
		return e
	}
	inRange := func(in *Instr, v uint32, n uint64, what string) error {
		if uint64(v) >= n {
			return fail(ErrInvalid, in.Offset, "%s %d out of range (%d)", what, v, n)
		}
		return nil
	}
	for it.Next() {
		if len(frames) == 0 {
			return fail(ErrMalformed, it.in.Offset, "instructions after the function's final end")
		}
		in := &it.in
		var err error
		switch in.Op {
		case OpBlock, OpLoop, OpIf:
			if in.BlockType >= 0 && uint64(in.BlockType) >= uint64(len(m.Types)) {
				return fail(ErrInvalid, in.Offset, "block type index %d out of range (%d types)", in.BlockType, len(m.Types))
			}
			if uint32(len(frames)) >= p.lim.MaxNestingDepth {
				return fail(ErrLimit, in.Offset, "control structures nested over %d deep (the limit)", p.lim.MaxNestingDepth)
			}
			kind := frameBlock
			if in.Op == OpLoop {
				kind = frameLoop
			} else if in.Op == OpIf {
				kind = frameIf
			}
			frames = append(frames, kind)
		case OpElse:
			if frames[len(frames)-1] != frameIf {
				return fail(ErrMalformed, in.Offset, "else without a matching if")
			}
			frames[len(frames)-1] = frameElse
		case OpEnd:
			frames = frames[:len(frames)-1]
		case OpBr, OpBrIf:
			err = inRange(in, in.Index, uint64(len(frames)), "branch depth")
		case OpBrTable:
			for _, l := range in.Labels {
				if err = inRange(in, l, uint64(len(frames)), "br_table depth"); err != nil {
					break
				}
			}
			if err == nil {
				err = inRange(in, in.Index, uint64(len(frames)), "br_table default depth")
			}
		case OpCall, OpReturnCall, OpRefFunc:
			err = inRange(in, in.Index, uint64(m.NumFuncs()), "function index")
		case OpCallIndirect, OpReturnCallIndirect:
			if err = inRange(in, in.Index, uint64(len(m.Types)), "type index"); err == nil {
				err = inRange(in, in.Index2, uint64(m.NumTables()), "table index")
			}
		case OpLocalGet, OpLocalSet, OpLocalTee:
			err = inRange(in, in.Index, numLocals, "local index")
		case OpGlobalGet, OpGlobalSet:
			err = inRange(in, in.Index, uint64(m.NumGlobals()), "global index")
		case OpTableGet, OpTableSet, OpTableGrow, OpTableSize, OpTableFill:
			err = inRange(in, in.Index, uint64(m.NumTables()), "table index")
		case OpTableCopy:
			if err = inRange(in, in.Index, uint64(m.NumTables()), "table index"); err == nil {
				err = inRange(in, in.Index2, uint64(m.NumTables()), "table index")
			}
		case OpTableInit:
			if err = inRange(in, in.Index, uint64(len(m.Elements)), "element segment index"); err == nil {
				err = inRange(in, in.Index2, uint64(m.NumTables()), "table index")
			}
		case OpElemDrop:
			err = inRange(in, in.Index, uint64(len(m.Elements)), "element segment index")
		case OpMemoryInit, OpDataDrop:
			if !m.HasDataCount {
				return fail(ErrInvalid, in.Offset, "memory.init and data.drop need a datacount section")
			}
			err = inRange(in, in.Index, uint64(m.DataCount), "data segment index")
			if err == nil && in.Op == OpMemoryInit {
				err = inRange(in, in.Index2, uint64(m.NumMemories()), "memory index")
			}
		case OpMemorySize, OpMemoryGrow, OpMemoryFill:
			err = inRange(in, in.Index, uint64(m.NumMemories()), "memory index")
		case OpMemoryCopy:
			if err = inRange(in, in.Index, uint64(m.NumMemories()), "memory index"); err == nil {
				err = inRange(in, in.Index2, uint64(m.NumMemories()), "memory index")
			}
		case OpSelectT:
			if len(in.Types) != 1 {
				return fail(ErrInvalid, in.Offset, "select with %d types (exactly 1 allowed)", len(in.Types))
			}
		default:
			if isMemoryAccess(in.Op) {
				err = inRange(in, in.Index, uint64(m.NumMemories()), "memory index")
			}
		}
		if err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		if e, ok := err.(*Error); ok {
			e.Msg = "function " + itoa(fn) + ": " + e.Msg
		}
		return err
	}
	if len(frames) != 0 {
		return fail(ErrMalformed, c.End, "body ends with %d control structures still open", len(frames))
	}
	return nil
}

// isMemoryAccess reports whether op takes a memarg.
func isMemoryAccess(op Opcode) bool {
	if op.Prefix() == 0 {
		return op >= 0x28 && op <= 0x3e
	}
	if op.Prefix() == 0xfd {
		s := op.Sub()
		return s <= 11 || (s >= 84 && s <= 93)
	}
	return false
}

func itoa(v uint32) string {
	var buf [10]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(buf[i:])
		}
	}
}
