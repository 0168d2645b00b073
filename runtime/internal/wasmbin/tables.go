package wasmbin

import "fmt"

// ClampTables bounds every table the module defines to at most maxElems elements: a table
// whose minimum is over it is refused (ErrLimit), and a maximum that is missing or larger
// becomes maxElems, so table.grow past it returns -1 instead of allocating. Imported tables
// are left alone: their type is the importer's requirement, and the host provides none. It
// reports whether the table section changed (the new payload is set with SetSection).
func ClampTables(m *Module, maxElems uint32) (bool, error) {
	changed := false
	for i := range m.Tables {
		t := &m.Tables[i]
		idx := m.ImportedTables + uint32(i)
		if t.Min > maxElems {
			return false, &Error{Section: "table", Offset: tableOffset(m), Kind: ErrLimit,
				Msg: fmt.Sprintf("table %d declares a minimum of %d elements, over the cap of %d", idx, t.Min, maxElems)}
		}
		if !t.HasMax || t.Max > maxElems {
			t.Max, t.HasMax = maxElems, true
			changed = true
		}
	}
	if changed {
		m.SetSection(SectionTable, EncodeTables(m.Tables))
	}
	return changed, nil
}

// TableElements returns the elements the module's defined tables may hold at most: the sum of
// their maxima, or of their minima for a table without a maximum.
func TableElements(m *Module) uint64 {
	var n uint64
	for _, t := range m.Tables {
		if t.HasMax {
			n += uint64(t.Max)
		} else {
			n += uint64(t.Min)
		}
	}
	return n
}

func tableOffset(m *Module) int {
	for _, s := range m.Sections {
		if s.ID == SectionTable {
			return s.PayloadOffset
		}
	}
	return 0
}
