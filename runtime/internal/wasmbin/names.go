package wasmbin

// names decodes the "name" custom section: subsections in increasing id order, each at most
// once, with every map's count checked against the bytes left and all maps together capped by
// MaxNameEntries.
func (p *parser) names(r *reader) error {
	n := &Names{}
	entries := uint64(0)
	last := -1
	addEntries := func(start int, k uint32) error {
		entries += uint64(k)
		if entries > uint64(p.lim.MaxNameEntries) {
			return r.errf(ErrLimit, start, "name section holds over %d entries (the limit)", p.lim.MaxNameEntries)
		}
		return nil
	}
	nameMap := func(sr *reader, what string) ([]NameAssoc, error) {
		start := sr.pos
		k, err := sr.count(what, 2, 0)
		if err != nil {
			return nil, err
		}
		if err := addEntries(start, k); err != nil {
			return nil, err
		}
		out := make([]NameAssoc, 0, k)
		for i := uint32(0); i < k; i++ {
			idx, err := sr.u32(what + " index")
			if err != nil {
				return nil, err
			}
			s, err := sr.name(what, p.lim.MaxStringLength)
			if err != nil {
				return nil, err
			}
			out = append(out, NameAssoc{Index: idx, Name: s})
		}
		return out, nil
	}
	for r.pos < r.end {
		start := r.pos
		id, err := r.byte("name subsection id")
		if err != nil {
			return err
		}
		if int(id) <= last {
			return r.errf(ErrMalformed, start, "name subsection %d out of order or repeated", id)
		}
		last = int(id)
		size, err := r.u32("name subsection size")
		if err != nil {
			return err
		}
		if uint64(size) > uint64(r.remaining()) {
			return r.errf(ErrMalformed, start, "name subsection %d declares %d bytes but only %d remain", id, size, r.remaining())
		}
		sr := &reader{b: r.b, pos: r.pos, end: r.pos + int(size), section: r.section}
		r.pos = sr.end
		switch id {
		case 0:
			if n.Module, err = sr.name("module name", p.lim.MaxStringLength); err != nil {
				return err
			}
		case 1:
			if n.Functions, err = nameMap(sr, "function names"); err != nil {
				return err
			}
		case 2:
			k, err := sr.count("local name maps", 2, 0)
			if err != nil {
				return err
			}
			if err := addEntries(start, k); err != nil {
				return err
			}
			n.Locals = make([]IndirectNames, 0, k)
			for i := uint32(0); i < k; i++ {
				idx, err := sr.u32("local names function index")
				if err != nil {
					return err
				}
				names, err := nameMap(sr, "local names")
				if err != nil {
					return err
				}
				n.Locals = append(n.Locals, IndirectNames{Index: idx, Names: names})
			}
		default:
			// Extended name subsections (labels, types, ...) are framed but not decoded.
			sr.pos = sr.end
		}
		if sr.pos != sr.end {
			return sr.errf(ErrMalformed, sr.pos, "%d bytes left over in name subsection %d", sr.end-sr.pos, id)
		}
	}
	p.m.Names = n
	return nil
}
