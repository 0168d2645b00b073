package fuel

import (
	"fmt"

	"github.com/solti-wasm/solti-wasm/runtime/internal/wasmbin"
)

// names returns a "name" custom section payload (its name included) with the function
// indices renumbered: the function names (subsection 1) and the function index of each local
// map (2) and label map (3, extended name section). Other subsections are copied as they are.
func (p *pass) names(payload []byte) ([]byte, error) {
	r := &nameReader{b: payload}
	name := r.bytes(r.uleb())
	if r.err != nil || string(name) != "name" {
		return nil, fmt.Errorf("fuel: name section header: %w", errOr(r.err))
	}
	out := append([]byte(nil), payload[:r.pos]...)
	for r.pos < len(r.b) && r.err == nil {
		id := r.byte()
		size := r.uleb()
		sub := r.bytes(size)
		if r.err != nil {
			break
		}
		var body []byte
		switch id {
		case 1:
			body = p.nameMap(sub, true)
		case 2, 3:
			body = p.indirectMap(sub)
		default:
			body = sub
		}
		if body == nil {
			return nil, fmt.Errorf("fuel: name subsection %d is malformed", id)
		}
		out = append(out, id)
		out = wasmbin.AppendUleb128(out, uint64(len(body)))
		out = append(out, body...)
	}
	if r.err != nil {
		return nil, fmt.Errorf("fuel: name section: %w", r.err)
	}
	return out, nil
}

// nameMap re-encodes a name map, renumbering its indices as functions when fns is set; nil
// when it is malformed.
func (p *pass) nameMap(b []byte, fns bool) []byte {
	r := &nameReader{b: b}
	out := p.appendNameMap(nil, r, fns)
	if r.err != nil || r.pos != len(b) {
		return nil
	}
	return out
}

func (p *pass) appendNameMap(out []byte, r *nameReader, fns bool) []byte {
	n := r.uleb()
	out = wasmbin.AppendUleb128(out, n)
	for k := uint64(0); k < n && r.err == nil; k++ {
		idx := r.uleb()
		s := r.bytes(r.uleb())
		if fns {
			idx = uint64(p.fn(uint32(idx)))
		}
		out = wasmbin.AppendUleb128(out, idx)
		out = wasmbin.AppendUleb128(out, uint64(len(s)))
		out = append(out, s...)
	}
	return out
}

// indirectMap re-encodes an indirect name map (function index -> name map), renumbering the
// function indices; nil when it is malformed.
func (p *pass) indirectMap(b []byte) []byte {
	r := &nameReader{b: b}
	n := r.uleb()
	out := wasmbin.AppendUleb128(nil, n)
	for k := uint64(0); k < n && r.err == nil; k++ {
		out = wasmbin.AppendUleb128(out, uint64(p.fn(uint32(r.uleb()))))
		out = p.appendNameMap(out, r, false)
	}
	if r.err != nil || r.pos != len(b) {
		return nil
	}
	return out
}

// nameReader decodes the name section's framing; the first error sticks.
type nameReader struct {
	b   []byte
	pos int
	err error
}

func (r *nameReader) byte() byte {
	if r.err != nil || r.pos >= len(r.b) {
		r.fail()
		return 0
	}
	r.pos++
	return r.b[r.pos-1]
}

func (r *nameReader) uleb() uint64 {
	if r.err != nil {
		return 0
	}
	v, n, err := wasmbin.DecodeUleb128(r.b[r.pos:], 32)
	if err != nil {
		r.err = err
		return 0
	}
	r.pos += n
	return v
}

func (r *nameReader) bytes(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.b)-r.pos) {
		r.fail()
		return nil
	}
	b := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b
}

func (r *nameReader) fail() {
	if r.err == nil {
		r.err = errTruncated
	}
}

var errTruncated = fmt.Errorf("truncated")

func errOr(err error) error {
	if err == nil {
		return fmt.Errorf("not a name section")
	}
	return err
}
