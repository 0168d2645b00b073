package wasmbin

// Helpers that build small modules by hand for the tests.

func u(v uint64) []byte { return AppendUleb128(nil, v) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// sec frames payload as section id.
func sec(id SectionID, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat([]byte{byte(id)}, u(uint64(len(p))), p)
}

// mod prepends the core header to sections.
func mod(sections ...[]byte) []byte {
	return cat([]byte("\x00asm\x01\x00\x00\x00"), cat(sections...))
}

// voidType is a type section with one type () -> ().
var voidType = sec(SectionType, u(1), []byte{0x60, 0, 0})

// oneFunc is a module with one function () -> () whose body (locals and instructions) is body.
func oneFunc(body []byte) []byte {
	return mod(voidType, sec(SectionFunction, u(1), u(0)),
		sec(SectionCode, u(1), u(uint64(len(body))), body))
}

// nested returns a body of depth nested blocks.
func nested(depth int) []byte {
	b := []byte{0x00} // no locals
	for i := 0; i < depth; i++ {
		b = append(b, 0x02, 0x40)
	}
	for i := 0; i < depth; i++ {
		b = append(b, 0x0b)
	}
	return append(b, 0x0b)
}
