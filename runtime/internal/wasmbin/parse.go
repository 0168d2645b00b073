package wasmbin

import "bytes"

var (
	magic         = []byte{0x00, 0x61, 0x73, 0x6d}
	versionCore   = []byte{0x01, 0x00, 0x00, 0x00}
	headerSize    = 8
	componentMark = []byte{0x0d, 0x00, 0x01, 0x00} // version 0x0d, layer 1: a component
)

// Check reports whether b is a core module within lim, returning an *Error when it is not.
// It decodes the whole module, every function body included, and allocates no more than a
// small multiple of len(b).
func Check(b []byte, lim Limits) error {
	_, err := Parse(b, lim)
	return err
}

// IsComponent reports whether b starts with a component's header (layer 1), whatever follows.
func IsComponent(b []byte) bool {
	return len(b) >= headerSize && bytes.Equal(b[:4], magic) && bytes.Equal(b[4:8], componentMark)
}

// Parse decodes and pre-validates the module b within lim. The returned Module aliases b.
func Parse(b []byte, lim Limits) (*Module, error) {
	p := &parser{lim: lim.withDefaults(), m: &Module{}}
	if err := p.parse(b); err != nil {
		return nil, err
	}
	return p.m, nil
}

type parser struct {
	lim Limits
	m   *Module
}

func (p *parser) parse(b []byte) error {
	hr := &reader{b: b, end: len(b), section: "header"}
	if len(b) < headerSize {
		if len(b) >= 4 && !bytes.Equal(b[:4], magic) {
			return hr.errf(ErrMalformed, 0, "not a WebAssembly binary (no \\0asm magic)")
		}
		return hr.errf(ErrMalformed, 0, "file of %d bytes is shorter than the 8-byte header", len(b))
	}
	if !bytes.Equal(b[:4], magic) {
		return hr.errf(ErrMalformed, 0, "not a WebAssembly binary (no \\0asm magic)")
	}
	if bytes.Equal(b[4:8], componentMark) {
		return &Error{Section: "header", Offset: 4, Kind: ErrComponent, Msg: ErrComponent.Error()}
	}
	if !bytes.Equal(b[4:8], versionCore) {
		return hr.errf(ErrMalformed, 4, "unknown binary version % x (a core module has 01 00 00 00)", b[4:8])
	}
	r := &reader{b: b, pos: headerSize, end: len(b), section: "module"}
	lastOrder := 0
	for r.pos < r.end {
		start := r.pos
		r.section = "module"
		id, _ := r.byte("section id")
		if id > byte(SectionDataCount) {
			return r.errf(ErrMalformed, start, "unknown section id %d", id)
		}
		sizeAt := r.pos
		size, err := r.u32("section size")
		if err != nil {
			return err
		}
		if uint64(size) > uint64(r.remaining()) {
			return r.errf(ErrMalformed, start, "%s section declares %d bytes but only %d remain", SectionID(id), size, r.remaining())
		}
		sid := SectionID(id)
		sec := Section{ID: sid, Offset: start, PayloadOffset: r.pos, Payload: b[r.pos : r.pos+int(size) : r.pos+int(size)],
			rawSize: b[sizeAt:r.pos:r.pos]}
		sr := &reader{b: b, pos: r.pos, end: r.pos + int(size), section: sid.String()}
		r.pos += int(size)
		if sid != SectionCustom {
			if sid.order() <= lastOrder {
				return sr.errf(ErrMalformed, start, "%s section out of order or repeated", sid)
			}
			lastOrder = sid.order()
		}
		switch sid {
		case SectionCustom:
			err = p.custom(sr, &sec)
		case SectionType:
			err = p.types(sr)
		case SectionImport:
			err = p.imports(sr)
		case SectionFunction:
			err = p.functions(sr)
		case SectionTable:
			err = p.tables(sr)
		case SectionMemory:
			err = p.memories(sr)
		case SectionGlobal:
			err = p.globals(sr)
		case SectionExport:
			err = p.exports(sr)
		case SectionStart:
			err = p.start(sr)
		case SectionElement:
			err = p.elements(sr)
		case SectionDataCount:
			err = p.dataCount(sr)
		case SectionCode:
			err = p.codes(sr)
		case SectionData:
			err = p.data(sr)
		}
		if err != nil {
			return err
		}
		if sr.pos != sr.end {
			return sr.errf(ErrMalformed, sr.pos, "%d bytes left over at the end of the %s section", sr.end-sr.pos, sid)
		}
		p.m.Sections = append(p.m.Sections, sec)
	}
	m := p.m
	end := &reader{b: b, pos: len(b), end: len(b), section: "module"}
	if len(m.Functions) != len(m.Codes) {
		return end.errf(ErrMalformed, len(b), "function section declares %d functions but the code section has %d bodies", len(m.Functions), len(m.Codes))
	}
	if m.HasDataCount && m.DataCount != uint32(len(m.Data)) {
		return end.errf(ErrMalformed, len(b), "datacount section says %d segments but the data section has %d", m.DataCount, len(m.Data))
	}
	for i := range m.Codes {
		if err := p.validateBody(b, uint32(i)); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) custom(r *reader, sec *Section) error {
	name, err := r.name("custom section name", p.lim.MaxStringLength)
	if err != nil {
		return err
	}
	sec.Name = name
	r.section = "custom:" + name
	if name == "name" && p.m.Names == nil {
		return p.names(r)
	}
	r.pos = r.end
	return nil
}

func (p *parser) types(r *reader) error {
	n, err := r.count("types", 3, p.lim.MaxTypes)
	if err != nil {
		return err
	}
	p.m.Types = make([]FuncType, 0, n)
	for i := uint32(0); i < n; i++ {
		start := r.pos
		form, err := r.byte("type form")
		if err != nil {
			return err
		}
		if form != 0x60 {
			return r.errf(ErrMalformed, start, "type %d: form 0x%02x is not a function type (0x60)", i, form)
		}
		params, err := p.valTypes(r, "params", p.lim.MaxParams)
		if err != nil {
			return err
		}
		results, err := p.valTypes(r, "results", p.lim.MaxResults)
		if err != nil {
			return err
		}
		p.m.Types = append(p.m.Types, FuncType{Params: params, Results: results})
	}
	return nil
}

func (p *parser) valTypes(r *reader, what string, limit uint32) ([]ValType, error) {
	n, err := r.count(what, 1, limit)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	ts := make([]ValType, n)
	for i := range ts {
		if ts[i], err = p.valType(r); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

func (p *parser) valType(r *reader) (ValType, error) {
	start := r.pos
	c, err := r.byte("value type")
	if err != nil {
		return 0, err
	}
	t := ValType(c)
	if !t.valid() {
		return 0, r.errf(ErrMalformed, start, "unknown value type 0x%02x", c)
	}
	return t, nil
}

func (p *parser) refType(r *reader) (ValType, error) {
	start := r.pos
	t, err := p.valType(r)
	if err != nil {
		return 0, err
	}
	if !t.isRef() {
		return 0, r.errf(ErrMalformed, start, "%v is not a reference type", t)
	}
	return t, nil
}

func (p *parser) typeIndex(r *reader, what string) (uint32, error) {
	start := r.pos
	ti, err := r.u32(what)
	if err != nil {
		return 0, err
	}
	if ti >= uint32(len(p.m.Types)) {
		return 0, r.errf(ErrInvalid, start, "%s %d out of range (%d types)", what, ti, len(p.m.Types))
	}
	return ti, nil
}

func (p *parser) imports(r *reader) error {
	n, err := r.count("imports", 4, p.lim.MaxImports)
	if err != nil {
		return err
	}
	m := p.m
	m.Imports = make([]Import, 0, n)
	for i := uint32(0); i < n; i++ {
		im := Import{Offset: r.pos}
		if im.Module, err = r.name("import module name", p.lim.MaxStringLength); err != nil {
			return err
		}
		if im.Name, err = r.name("import name", p.lim.MaxStringLength); err != nil {
			return err
		}
		kstart := r.pos
		k, err := r.byte("import kind")
		if err != nil {
			return err
		}
		im.Kind = ExternKind(k)
		switch im.Kind {
		case ExternFunc:
			if im.TypeIndex, err = p.typeIndex(r, "import type index"); err != nil {
				return err
			}
			m.ImportedFuncs++
		case ExternTable:
			if im.Table, err = p.tableType(r); err != nil {
				return err
			}
			m.ImportedTables++
		case ExternMemory:
			if im.Memory, err = p.memoryType(r); err != nil {
				return err
			}
			m.ImportedMemories++
		case ExternGlobal:
			if im.Global, err = p.globalType(r); err != nil {
				return err
			}
			m.ImportedGlobals++
		default:
			return r.errf(ErrMalformed, kstart, "import %d: unknown kind 0x%02x", i, k)
		}
		m.Imports = append(m.Imports, im)
	}
	return p.checkSpaces(r)
}

// checkSpaces enforces the limits on index spaces, which imports and definitions share.
func (p *parser) checkSpaces(r *reader) error {
	m := p.m
	check := func(what string, n uint64, limit uint32) error {
		if n > uint64(limit) {
			return r.errf(ErrLimit, r.pos, "%d %s, over the limit of %d", n, what, limit)
		}
		return nil
	}
	if err := check("functions", uint64(m.ImportedFuncs)+uint64(len(m.Functions)), p.lim.MaxFunctions); err != nil {
		return err
	}
	if err := check("tables", uint64(m.ImportedTables)+uint64(len(m.Tables)), p.lim.MaxTables); err != nil {
		return err
	}
	if err := check("memories", uint64(m.ImportedMemories)+uint64(len(m.Memories)), p.lim.MaxMemories); err != nil {
		return err
	}
	return check("globals", uint64(m.ImportedGlobals)+uint64(len(m.Globals)), p.lim.MaxGlobals)
}

func (p *parser) limits(r *reader, what string, maxAllowed uint32, allowShared bool) (min, max uint32, hasMax bool, err error) {
	start := r.pos
	flags, err := r.byte(what + " limits flags")
	if err != nil {
		return 0, 0, false, err
	}
	switch {
	case flags&0x04 != 0 && flags <= 0x07:
		return 0, 0, false, r.errf(ErrUnsupported, start, "64-bit %s (memory64) is not supported", what)
	case flags&0x02 != 0 && flags <= 0x03 && allowShared:
		return 0, 0, false, r.errf(ErrUnsupported, start, "shared %s (threads) is not supported", what)
	case flags > 0x01:
		return 0, 0, false, r.errf(ErrMalformed, start, "unknown %s limits flags 0x%02x", what, flags)
	}
	mstart := r.pos
	if min, err = r.u32(what + " minimum"); err != nil {
		return
	}
	if min > maxAllowed {
		return 0, 0, false, r.errf(ErrLimit, mstart, "%s minimum %d is over the limit of %d", what, min, maxAllowed)
	}
	if flags&0x01 != 0 {
		hasMax = true
		xstart := r.pos
		if max, err = r.u32(what + " maximum"); err != nil {
			return
		}
		if max > maxAllowed {
			return 0, 0, false, r.errf(ErrLimit, xstart, "%s maximum %d is over the limit of %d", what, max, maxAllowed)
		}
		if max < min {
			return 0, 0, false, r.errf(ErrInvalid, xstart, "%s maximum %d is below its minimum %d", what, max, min)
		}
	}
	return min, max, hasMax, nil
}

func (p *parser) tableType(r *reader) (TableType, error) {
	et, err := p.refType(r)
	if err != nil {
		return TableType{}, err
	}
	min, max, hasMax, err := p.limits(r, "table", p.lim.MaxTableSize, false)
	return TableType{Elem: et, Min: min, Max: max, HasMax: hasMax}, err
}

func (p *parser) memoryType(r *reader) (MemoryType, error) {
	min, max, hasMax, err := p.limits(r, "memory", p.lim.MaxMemoryPages, true)
	return MemoryType{Min: min, Max: max, HasMax: hasMax}, err
}

func (p *parser) globalType(r *reader) (GlobalType, error) {
	t, err := p.valType(r)
	if err != nil {
		return GlobalType{}, err
	}
	start := r.pos
	mut, err := r.byte("global mutability")
	if err != nil {
		return GlobalType{}, err
	}
	if mut > 1 {
		return GlobalType{}, r.errf(ErrMalformed, start, "global mutability 0x%02x is neither 0 nor 1", mut)
	}
	return GlobalType{Type: t, Mutable: mut == 1}, nil
}

func (p *parser) functions(r *reader) error {
	n, err := r.count("functions", 1, p.lim.MaxFunctions)
	if err != nil {
		return err
	}
	p.m.Functions = make([]uint32, 0, n)
	for i := uint32(0); i < n; i++ {
		ti, err := p.typeIndex(r, "function type index")
		if err != nil {
			return err
		}
		p.m.Functions = append(p.m.Functions, ti)
	}
	return p.checkSpaces(r)
}

func (p *parser) tables(r *reader) error {
	n, err := r.count("tables", 3, p.lim.MaxTables)
	if err != nil {
		return err
	}
	p.m.Tables = make([]TableType, 0, n)
	for i := uint32(0); i < n; i++ {
		t, err := p.tableType(r)
		if err != nil {
			return err
		}
		p.m.Tables = append(p.m.Tables, t)
	}
	return p.checkSpaces(r)
}

func (p *parser) memories(r *reader) error {
	n, err := r.count("memories", 2, p.lim.MaxMemories)
	if err != nil {
		return err
	}
	p.m.Memories = make([]MemoryType, 0, n)
	for i := uint32(0); i < n; i++ {
		t, err := p.memoryType(r)
		if err != nil {
			return err
		}
		p.m.Memories = append(p.m.Memories, t)
	}
	return p.checkSpaces(r)
}

func (p *parser) globals(r *reader) error {
	n, err := r.count("globals", 4, p.lim.MaxGlobals)
	if err != nil {
		return err
	}
	p.m.Globals = make([]Global, 0, n)
	for i := uint32(0); i < n; i++ {
		t, err := p.globalType(r)
		if err != nil {
			return err
		}
		// A global's initializer may read imported globals and, with extended constants,
		// globals defined before it.
		init, err := p.constExpr(r, p.m.ImportedGlobals+i)
		if err != nil {
			return err
		}
		p.m.Globals = append(p.m.Globals, Global{Type: t, Init: init})
	}
	return p.checkSpaces(r)
}

func (p *parser) exports(r *reader) error {
	n, err := r.count("exports", 3, p.lim.MaxExports)
	if err != nil {
		return err
	}
	m := p.m
	m.Exports = make([]Export, 0, n)
	seen := make(map[string]struct{}, n)
	for i := uint32(0); i < n; i++ {
		start := r.pos
		name, err := r.name("export name", p.lim.MaxStringLength)
		if err != nil {
			return err
		}
		if _, dup := seen[name]; dup {
			return r.errf(ErrInvalid, start, "export name %q is used twice", name)
		}
		seen[name] = struct{}{}
		kstart := r.pos
		k, err := r.byte("export kind")
		if err != nil {
			return err
		}
		istart := r.pos
		idx, err := r.u32("export index")
		if err != nil {
			return err
		}
		var space uint32
		switch ExternKind(k) {
		case ExternFunc:
			space = m.NumFuncs()
		case ExternTable:
			space = m.NumTables()
		case ExternMemory:
			space = m.NumMemories()
		case ExternGlobal:
			space = m.NumGlobals()
		default:
			return r.errf(ErrMalformed, kstart, "export %q: unknown kind 0x%02x", name, k)
		}
		if idx >= space {
			return r.errf(ErrInvalid, istart, "export %q: %v index %d out of range (%d)", name, ExternKind(k), idx, space)
		}
		m.Exports = append(m.Exports, Export{Name: name, Kind: ExternKind(k), Index: idx})
	}
	return nil
}

func (p *parser) funcIndex(r *reader, what string) (uint32, error) {
	start := r.pos
	f, err := r.u32(what)
	if err != nil {
		return 0, err
	}
	if f >= p.m.NumFuncs() {
		return 0, r.errf(ErrInvalid, start, "%s %d out of range (%d functions)", what, f, p.m.NumFuncs())
	}
	return f, nil
}

func (p *parser) start(r *reader) error {
	f, err := p.funcIndex(r, "start function index")
	if err != nil {
		return err
	}
	p.m.Start, p.m.HasStart = f, true
	return nil
}

func (p *parser) tableIndex(r *reader, what string) (uint32, error) {
	start := r.pos
	t, err := r.u32(what)
	if err != nil {
		return 0, err
	}
	if t >= p.m.NumTables() {
		return 0, r.errf(ErrInvalid, start, "%s %d out of range (%d tables)", what, t, p.m.NumTables())
	}
	return t, nil
}

func (p *parser) elements(r *reader) error {
	n, err := r.count("element segments", 1, p.lim.MaxElementSegments)
	if err != nil {
		return err
	}
	m := p.m
	m.Elements = make([]Element, 0, n)
	for i := uint32(0); i < n; i++ {
		start := r.pos
		flags, err := r.u32("element segment flags")
		if err != nil {
			return err
		}
		if flags > 7 {
			return r.errf(ErrMalformed, start, "element segment %d: unknown flags %d", i, flags)
		}
		e := Element{Flags: flags, Type: ValFuncRef, Offset: start}
		switch {
		case flags&1 == 0:
			e.Mode = ModeActive
		case flags&2 == 0:
			e.Mode = ModePassive
		default:
			e.Mode = ModeDeclarative
		}
		if e.Mode == ModeActive {
			if flags&2 != 0 {
				if e.Table, err = p.tableIndex(r, "element segment table index"); err != nil {
					return err
				}
			} else if m.NumTables() == 0 {
				return r.errf(ErrInvalid, start, "element segment %d: active segment but the module has no table", i)
			}
			if e.OffsetExpr, err = p.constExpr(r, m.NumGlobals()); err != nil {
				return err
			}
		}
		exprs := flags&4 != 0
		// Flags 0 and 4 have no element kind or type; the others carry one.
		if flags&3 != 0 {
			kstart := r.pos
			if exprs {
				if e.Type, err = p.refType(r); err != nil {
					return err
				}
			} else {
				kind, err := r.byte("element kind")
				if err != nil {
					return err
				}
				if kind != 0 {
					return r.errf(ErrMalformed, kstart, "element segment %d: unknown element kind 0x%02x", i, kind)
				}
			}
		}
		if exprs {
			cnt, err := r.count("element expressions", 2, 0)
			if err != nil {
				return err
			}
			e.Exprs = make([]ConstExpr, 0, cnt)
			for j := uint32(0); j < cnt; j++ {
				x, err := p.constExpr(r, m.NumGlobals())
				if err != nil {
					return err
				}
				e.Exprs = append(e.Exprs, x)
			}
		} else {
			cnt, err := r.count("element function indices", 1, 0)
			if err != nil {
				return err
			}
			e.FuncIndices = make([]uint32, 0, cnt)
			for j := uint32(0); j < cnt; j++ {
				f, err := p.funcIndex(r, "element function index")
				if err != nil {
					return err
				}
				e.FuncIndices = append(e.FuncIndices, f)
			}
		}
		m.Elements = append(m.Elements, e)
	}
	return nil
}

func (p *parser) dataCount(r *reader) error {
	start := r.pos
	n, err := r.u32("data count")
	if err != nil {
		return err
	}
	if n > p.lim.MaxDataSegments {
		return r.errf(ErrLimit, start, "%d data segments, over the limit of %d", n, p.lim.MaxDataSegments)
	}
	p.m.DataCount, p.m.HasDataCount = n, true
	return nil
}

func (p *parser) codes(r *reader) error {
	n, err := r.count("function bodies", 2, p.lim.MaxFunctions)
	if err != nil {
		return err
	}
	m := p.m
	if n != uint32(len(m.Functions)) {
		return r.errf(ErrMalformed, r.pos, "code section has %d bodies but the function section declares %d functions", n, len(m.Functions))
	}
	m.Codes = make([]Code, 0, n)
	for i := uint32(0); i < n; i++ {
		c := Code{Offset: r.pos}
		size, err := r.u32("function body size")
		if err != nil {
			return err
		}
		if size > p.lim.MaxFunctionBodySize {
			return r.errf(ErrLimit, c.Offset, "function %d: body of %d bytes is over the limit of %d", m.ImportedFuncs+i, size, p.lim.MaxFunctionBodySize)
		}
		if uint64(size) > uint64(r.remaining()) {
			return r.errf(ErrMalformed, c.Offset, "function %d: body of %d bytes runs past the section (%d bytes left)", m.ImportedFuncs+i, size, r.remaining())
		}
		c.BodyOffset = r.pos
		c.End = r.pos + int(size)
		br := &reader{b: r.b, pos: r.pos, end: c.End, section: "code"}
		r.pos = c.End
		entries, err := br.count("local entries", 2, 0)
		if err != nil {
			return err
		}
		params := uint64(len(m.Types[m.Functions[i]].Params))
		total := params
		if entries > 0 {
			c.Locals = make([]LocalEntry, 0, entries)
		}
		for j := uint32(0); j < entries; j++ {
			lstart := br.pos
			cnt, err := br.u32("local count")
			if err != nil {
				return err
			}
			t, err := p.valType(br)
			if err != nil {
				return err
			}
			// The sum is uint64 and every addend a uint32, so it cannot overflow before the check.
			total += uint64(cnt)
			if total > uint64(p.lim.MaxLocals) {
				return br.errf(ErrLimit, lstart, "function %d: %d parameters and locals, over the limit of %d", m.ImportedFuncs+i, total, p.lim.MaxLocals)
			}
			c.Locals = append(c.Locals, LocalEntry{Count: cnt, Type: t})
		}
		c.NumLocals = total - params
		c.ExprOffset = br.pos
		c.Expr = r.b[br.pos:c.End:c.End]
		if len(c.Expr) == 0 {
			return br.errf(ErrMalformed, br.pos, "function %d: body has no instructions (not even end)", m.ImportedFuncs+i)
		}
		m.Codes = append(m.Codes, c)
	}
	return nil
}

func (p *parser) data(r *reader) error {
	n, err := r.count("data segments", 1, p.lim.MaxDataSegments)
	if err != nil {
		return err
	}
	m := p.m
	m.Data = make([]Data, 0, n)
	for i := uint32(0); i < n; i++ {
		start := r.pos
		flags, err := r.u32("data segment flags")
		if err != nil {
			return err
		}
		d := Data{Flags: flags, Offset: start}
		switch flags {
		case 0, 2:
			d.Mode = ModeActive
			if flags == 2 {
				mstart := r.pos
				if d.Memory, err = r.u32("data segment memory index"); err != nil {
					return err
				}
				if d.Memory >= m.NumMemories() {
					return r.errf(ErrInvalid, mstart, "data segment %d: memory index %d out of range (%d memories)", i, d.Memory, m.NumMemories())
				}
			} else if m.NumMemories() == 0 {
				return r.errf(ErrInvalid, start, "data segment %d: active segment but the module has no memory", i)
			}
			if d.OffsetExpr, err = p.constExpr(r, m.NumGlobals()); err != nil {
				return err
			}
		case 1:
			d.Mode = ModePassive
		default:
			return r.errf(ErrMalformed, start, "data segment %d: unknown flags %d", i, flags)
		}
		size, err := r.u32("data segment size")
		if err != nil {
			return err
		}
		if d.Init, err = r.bytes(uint64(size), "data segment"); err != nil {
			return err
		}
		m.Data = append(m.Data, d)
	}
	return nil
}

// constExpr reads a constant expression up to and including its end. globals is how many
// globals it may read.
func (p *parser) constExpr(r *reader, globals uint32) (ConstExpr, error) {
	start := r.pos
	it := &InstrReader{r: reader{b: r.b, pos: r.pos, end: r.end, section: r.section}}
	for it.Next() {
		in := it.Instr()
		switch in.Op {
		case OpEnd:
			r.pos = it.r.pos
			return ConstExpr{Offset: start, Bytes: r.b[start:r.pos:r.pos]}, nil
		case OpI32Const, OpI64Const, OpF32Const, OpF64Const, OpRefNull, OpV128Const,
			OpI32Add, OpI32Sub, OpI32Mul, OpI64Add, OpI64Sub, OpI64Mul:
		case OpGlobalGet:
			if in.Index >= globals {
				return ConstExpr{}, r.errf(ErrInvalid, in.Offset, "constant expression reads global %d, but only %d are visible", in.Index, globals)
			}
		case OpRefFunc:
			if in.Index >= p.m.NumFuncs() {
				return ConstExpr{}, r.errf(ErrInvalid, in.Offset, "ref.func %d out of range (%d functions)", in.Index, p.m.NumFuncs())
			}
		default:
			return ConstExpr{}, r.errf(ErrInvalid, in.Offset, "opcode %v is not allowed in a constant expression", in.Op)
		}
	}
	if err := it.Err(); err != nil {
		return ConstExpr{}, err
	}
	return ConstExpr{}, r.errf(ErrMalformed, start, "constant expression has no end")
}
