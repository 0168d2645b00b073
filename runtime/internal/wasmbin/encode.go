package wasmbin

// Encode returns the module binary: the header and every section of m.Sections in order, each
// framed with its id and payload size. A module parsed and encoded unchanged is byte-identical
// to the input: a section whose payload keeps its length keeps its size's original encoding.
func (m *Module) Encode() []byte {
	n := headerSize
	for _, s := range m.Sections {
		n += 1 + 5 + len(s.Payload)
	}
	out := make([]byte, 0, n)
	out = append(out, magic...)
	out = append(out, versionCore...)
	for _, s := range m.Sections {
		out = append(out, byte(s.ID))
		if v, _, err := DecodeUleb128(s.rawSize, 32); err == nil && s.rawSize != nil && v == uint64(len(s.Payload)) {
			out = append(out, s.rawSize...)
		} else {
			out = AppendUleb128(out, uint64(len(s.Payload)))
		}
		out = append(out, s.Payload...)
	}
	return out
}

// SetSection replaces the payload of the (non-custom) section id, or inserts a section with
// it where the spec's order puts it. The decoded fields of m are not updated.
func (m *Module) SetSection(id SectionID, payload []byte) {
	for i := range m.Sections {
		if m.Sections[i].ID == id {
			m.Sections[i].Payload = payload
			return
		}
	}
	at := len(m.Sections)
	for i, s := range m.Sections {
		if s.ID != SectionCustom && s.ID.order() > id.order() {
			at = i
			break
		}
	}
	m.Sections = append(m.Sections, Section{})
	copy(m.Sections[at+1:], m.Sections[at:])
	m.Sections[at] = Section{ID: id, Offset: -1, PayloadOffset: -1, Payload: payload}
}

// AppendName appends a length-prefixed name.
func AppendName(dst []byte, s string) []byte {
	dst = AppendUleb128(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendLimits(dst []byte, min, max uint32, hasMax bool) []byte {
	if hasMax {
		dst = append(dst, 0x01)
		dst = AppendUleb128(dst, uint64(min))
		return AppendUleb128(dst, uint64(max))
	}
	dst = append(dst, 0x00)
	return AppendUleb128(dst, uint64(min))
}

// EncodeTypes returns a type section payload.
func EncodeTypes(types []FuncType) []byte {
	out := AppendUleb128(nil, uint64(len(types)))
	for _, t := range types {
		out = append(out, 0x60)
		out = AppendUleb128(out, uint64(len(t.Params)))
		for _, v := range t.Params {
			out = append(out, byte(v))
		}
		out = AppendUleb128(out, uint64(len(t.Results)))
		for _, v := range t.Results {
			out = append(out, byte(v))
		}
	}
	return out
}

// EncodeImports returns an import section payload.
func EncodeImports(imports []Import) []byte {
	out := AppendUleb128(nil, uint64(len(imports)))
	for _, im := range imports {
		out = AppendName(out, im.Module)
		out = AppendName(out, im.Name)
		out = append(out, byte(im.Kind))
		switch im.Kind {
		case ExternFunc:
			out = AppendUleb128(out, uint64(im.TypeIndex))
		case ExternTable:
			out = append(out, byte(im.Table.Elem))
			out = appendLimits(out, im.Table.Min, im.Table.Max, im.Table.HasMax)
		case ExternMemory:
			out = appendLimits(out, im.Memory.Min, im.Memory.Max, im.Memory.HasMax)
		case ExternGlobal:
			out = appendGlobalType(out, im.Global)
		}
	}
	return out
}

func appendGlobalType(dst []byte, g GlobalType) []byte {
	mut := byte(0)
	if g.Mutable {
		mut = 1
	}
	return append(dst, byte(g.Type), mut)
}

// EncodeFunctions returns a function section payload (the type index of each defined function).
func EncodeFunctions(typeIndices []uint32) []byte {
	out := AppendUleb128(nil, uint64(len(typeIndices)))
	for _, t := range typeIndices {
		out = AppendUleb128(out, uint64(t))
	}
	return out
}

// EncodeTables returns a table section payload.
func EncodeTables(tables []TableType) []byte {
	out := AppendUleb128(nil, uint64(len(tables)))
	for _, t := range tables {
		out = append(out, byte(t.Elem))
		out = appendLimits(out, t.Min, t.Max, t.HasMax)
	}
	return out
}

// EncodeMemories returns a memory section payload.
func EncodeMemories(mems []MemoryType) []byte {
	out := AppendUleb128(nil, uint64(len(mems)))
	for _, t := range mems {
		out = appendLimits(out, t.Min, t.Max, t.HasMax)
	}
	return out
}

// EncodeGlobals returns a global section payload.
func EncodeGlobals(globals []Global) []byte {
	out := AppendUleb128(nil, uint64(len(globals)))
	for _, g := range globals {
		out = appendGlobalType(out, g.Type)
		out = append(out, g.Init.Bytes...)
	}
	return out
}

// EncodeExports returns an export section payload.
func EncodeExports(exports []Export) []byte {
	out := AppendUleb128(nil, uint64(len(exports)))
	for _, e := range exports {
		out = AppendName(out, e.Name)
		out = append(out, byte(e.Kind))
		out = AppendUleb128(out, uint64(e.Index))
	}
	return out
}

// EncodeStart returns a start section payload.
func EncodeStart(f uint32) []byte { return AppendUleb128(nil, uint64(f)) }

// EncodeDataCount returns a datacount section payload.
func EncodeDataCount(n uint32) []byte { return AppendUleb128(nil, uint64(n)) }

// EncodeElements returns an element section payload; each segment is written in the form its
// Flags name.
func EncodeElements(elems []Element) []byte {
	out := AppendUleb128(nil, uint64(len(elems)))
	for _, e := range elems {
		out = AppendUleb128(out, uint64(e.Flags))
		if e.Flags&1 == 0 { // active
			if e.Flags&2 != 0 {
				out = AppendUleb128(out, uint64(e.Table))
			}
			out = append(out, e.OffsetExpr.Bytes...)
		}
		exprs := e.Flags&4 != 0
		if e.Flags&3 != 0 {
			if exprs {
				out = append(out, byte(e.Type))
			} else {
				out = append(out, 0x00) // elemkind funcref
			}
		}
		if exprs {
			out = AppendUleb128(out, uint64(len(e.Exprs)))
			for _, x := range e.Exprs {
				out = append(out, x.Bytes...)
			}
		} else {
			out = AppendUleb128(out, uint64(len(e.FuncIndices)))
			for _, f := range e.FuncIndices {
				out = AppendUleb128(out, uint64(f))
			}
		}
	}
	return out
}

// EncodeCodes returns a code section payload: each body is its locals and Expr (which must
// end with the function's final end), framed with its size.
func EncodeCodes(codes []Code) []byte {
	// The payload's size, bounded from above (LEB128s of at most 5 bytes), so that out is
	// allocated once: a Go guest's code section is megabytes.
	n, longest := 5, 0
	for _, c := range codes {
		b := 5 + 10*len(c.Locals) + len(c.Expr)
		n += 5 + b
		longest = max(longest, b)
	}
	out := AppendUleb128(make([]byte, 0, n), uint64(len(codes)))
	body := make([]byte, 0, longest)
	for _, c := range codes {
		body = AppendCodeBody(body[:0], c.Locals, c.Expr)
		out = AppendUleb128(out, uint64(len(body)))
		out = append(out, body...)
	}
	return out
}

// AppendCodeBody appends one function body without its size prefix: the locals vector, then expr.
func AppendCodeBody(dst []byte, locals []LocalEntry, expr []byte) []byte {
	dst = AppendUleb128(dst, uint64(len(locals)))
	for _, l := range locals {
		dst = AppendUleb128(dst, uint64(l.Count))
		dst = append(dst, byte(l.Type))
	}
	return append(dst, expr...)
}

// EncodeData returns a data section payload.
func EncodeData(data []Data) []byte {
	out := AppendUleb128(nil, uint64(len(data)))
	for _, d := range data {
		out = AppendUleb128(out, uint64(d.Flags))
		if d.Mode == ModeActive {
			if d.Flags == 2 {
				out = AppendUleb128(out, uint64(d.Memory))
			}
			out = append(out, d.OffsetExpr.Bytes...)
		}
		out = AppendUleb128(out, uint64(len(d.Init)))
		out = append(out, d.Init...)
	}
	return out
}
