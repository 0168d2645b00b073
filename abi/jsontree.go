package abi

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// MaxDepth is the deepest nesting of arrays and objects the host accepts in a document it
// parses (task specs and manifests, plans, descriptions), counted from 1 for the outermost
// value: `{"a":[1]}` is 2 deep. A deeper document is refused with a SyntaxError naming the
// position, whatever its size. See ABI.md §5.
const MaxDepth = 256

// MaxExtensionDepth is the deepest an extension kind's free spec may nest (solti-model's rule
// for extension workloads), counted from the spec itself.
const MaxExtensionDepth = 128

// SyntaxError is malformed JSON: what was wrong, and where (line and column count from 1,
// the column in bytes).
type SyntaxError struct {
	Msg          string
	Offset       int // byte offset of the offending byte
	Line, Column int
	// Err is ErrTooDeep for a document nested deeper than the limit, otherwise nil.
	Err error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Unwrap returns Err.
func (e *SyntaxError) Unwrap() error { return e.Err }

// ErrTooDeep is wrapped by the SyntaxError of a document nested deeper than MaxDepth.
var ErrTooDeep = errors.New("nesting too deep")

// The parser below builds a compact tree of one document: nodes in one slice, the children of
// arrays and objects in another. It does what encoding/json does not: it refuses duplicate
// keys at every depth, invalid UTF-8 and lone surrogates (as serde_json does), and documents
// nested deeper than a fixed bound, and it keeps every value's byte span so that free-form
// values (extension specs, payloads, samples) pass through as the very bytes they were.

type jkind uint8

const (
	jNull jkind = iota
	jBool
	jNum
	jStr
	jArr
	jObj
)

// jnode is one value. For strings, start and end enclose the quotes; esc says whether the
// string holds an escape (and must be decoded rather than sliced). For arrays, kids[kid:kid+n]
// are the elements; for objects, kids[kid:kid+2n] alternate key and value.
type jnode struct {
	kind       jkind
	esc        bool
	truth      bool
	start, end int32
	kid, n     int32
}

type jdoc struct {
	data  []byte
	nodes []jnode
	kids  []int32
	pos   int
	depth int
	max   int
	stack []int32 // scratch for children under construction
	// lite: validate only. Keys still get nodes (for the duplicate check), values do not,
	// and containers record no children: the tree is not usable, only the verdict.
	lite bool
	// spaced: white space was skipped somewhere, which compaction would remove.
	spaced bool
}

// Trees are pooled: the host parses every task and plan, a guest every build input, and the
// tree is garbage as soon as the values are bound (they copy what they keep).
var docPool = sync.Pool{New: func() any { return new(jdoc) }}

// maxPooledNodes bounds the tree a pooled jdoc keeps, so that one huge document does not pin
// its memory.
const maxPooledNodes = 1 << 14

// parseJSON parses data as exactly one JSON value with surrounding white space. Call release
// when done with the tree.
func parseJSON(data []byte, maxDepth int) (*jdoc, error) { return parse(data, maxDepth, false) }

func parse(data []byte, maxDepth int, lite bool) (*jdoc, error) {
	if len(data) > math.MaxInt32 {
		return nil, &SyntaxError{Msg: "document larger than 2 GiB"}
	}
	d := docPool.Get().(*jdoc)
	d.data, d.max, d.pos, d.depth, d.lite, d.spaced = data, maxDepth, 0, 0, lite, false
	d.nodes, d.kids, d.stack = d.nodes[:0], d.kids[:0], d.stack[:0]
	d.ws()
	_, err := d.value()
	if err == nil {
		d.ws()
		if d.pos < len(d.data) {
			err = d.errAt(d.pos, "unexpected %s after the top-level value", d.describe(d.pos))
		}
	}
	if err != nil {
		d.release()
		return nil, err
	}
	return d, nil
}

// release returns d to the pool; d and its nodes must not be used afterwards.
func (d *jdoc) release() {
	d.data = nil
	if cap(d.nodes) <= maxPooledNodes {
		docPool.Put(d)
	}
}

func (d *jdoc) ws() {
	start := d.pos
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			d.spaced = d.spaced || d.pos > start
			return
		}
	}
	d.spaced = d.spaced || d.pos > start
}

func (d *jdoc) describe(i int) string {
	if i >= len(d.data) {
		return "end of input"
	}
	c := d.data[i]
	if c < 0x20 || c >= 0x7f {
		return fmt.Sprintf("byte 0x%02x", c)
	}
	return fmt.Sprintf("character %q", rune(c))
}

func (d *jdoc) errAt(off int, format string, args ...any) *SyntaxError {
	e := &SyntaxError{Msg: fmt.Sprintf(format, args...), Offset: off}
	e.Line, e.Column = position(d.data, off)
	return e
}

// position turns a byte offset into a line and column, both from 1. An offset at the end of
// the input names the last byte, so that "unexpected end of input" points at something.
func position(data []byte, off int) (line, col int) {
	if off >= len(data) && len(data) > 0 {
		off = len(data) - 1
	}
	line, col = 1, 1
	for _, b := range data[:max(off, 0)] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func (d *jdoc) add(n jnode) int32 {
	if d.lite {
		return -1
	}
	return d.addKey(n)
}

// addKey adds a node even in lite mode.
func (d *jdoc) addKey(n jnode) int32 {
	d.nodes = append(d.nodes, n)
	return int32(len(d.nodes) - 1)
}

func (d *jdoc) value() (int32, error) {
	if d.pos >= len(d.data) {
		return 0, d.errAt(d.pos, "unexpected end of input, want a value")
	}
	start := d.pos
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		esc, err := d.str()
		if err != nil {
			return 0, err
		}
		return d.add(jnode{kind: jStr, esc: esc, start: int32(start), end: int32(d.pos)}), nil
	case c == '-' || '0' <= c && c <= '9':
		if err := d.number(); err != nil {
			return 0, err
		}
		return d.add(jnode{kind: jNum, start: int32(start), end: int32(d.pos)}), nil
	case c == 't':
		return d.literal("true", jnode{kind: jBool, truth: true})
	case c == 'f':
		return d.literal("false", jnode{kind: jBool})
	case c == 'n':
		return d.literal("null", jnode{kind: jNull})
	}
	return 0, d.errAt(d.pos, "unexpected %s, want a value", d.describe(d.pos))
}

func (d *jdoc) literal(word string, n jnode) (int32, error) {
	for i := 0; i < len(word); i++ {
		if d.pos+i >= len(d.data) || d.data[d.pos+i] != word[i] {
			return 0, d.errAt(d.pos+i, "unexpected %s in literal %s", d.describe(d.pos+i), word)
		}
	}
	n.start, n.end = int32(d.pos), int32(d.pos+len(word))
	d.pos += len(word)
	return d.add(n), nil
}

func (d *jdoc) enter() error {
	d.depth++
	if d.depth > d.max {
		e := d.errAt(d.pos, "nested deeper than %d levels", d.max)
		e.Err = ErrTooDeep
		return e
	}
	return nil
}

func (d *jdoc) array() (int32, error) {
	if err := d.enter(); err != nil {
		return 0, err
	}
	start := d.pos
	d.pos++ // [
	mark := len(d.stack)
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
	} else {
		for {
			v, err := d.value()
			if err != nil {
				return 0, err
			}
			if !d.lite {
				d.stack = append(d.stack, v)
			}
			if done, err := d.next(']', "an array element"); err != nil {
				return 0, err
			} else if done {
				break
			}
		}
	}
	return d.closed(jArr, start, mark, len(d.stack)-mark), nil
}

func (d *jdoc) object() (int32, error) {
	if err := d.enter(); err != nil {
		return 0, err
	}
	start := d.pos
	d.pos++ // {
	mark := len(d.stack)
	var seen map[string]struct{} // only for large objects; small ones compare pairwise
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
	} else {
		for {
			if d.pos >= len(d.data) {
				return 0, d.errAt(d.pos, "unexpected end of input, want a key")
			}
			if d.data[d.pos] != '"' {
				return 0, d.errAt(d.pos, "unexpected %s, want a key (a string)", d.describe(d.pos))
			}
			kstart := d.pos
			esc, err := d.str()
			if err != nil {
				return 0, err
			}
			k := d.addKey(jnode{kind: jStr, esc: esc, start: int32(kstart), end: int32(d.pos)})
			// Duplicates: serde refuses a struct field given twice; here every object at
			// every depth is held to that, free-form ones included. Small objects compare
			// pairwise without allocating, large ones use a set.
			n := (len(d.stack) - mark) / 2
			if n >= 16 && seen == nil {
				seen = make(map[string]struct{}, 2*n)
				for i := mark; i < len(d.stack); i += 2 {
					seen[d.text(d.stack[i])] = struct{}{}
				}
			}
			dup := false
			if seen != nil {
				key := d.text(k)
				_, dup = seen[key]
				seen[key] = struct{}{}
			} else {
				for i := mark; i < len(d.stack); i += 2 {
					if d.sameKey(d.stack[i], k) {
						dup = true
						break
					}
				}
			}
			if dup {
				return 0, d.errAt(kstart, "duplicate key %s", strconv.Quote(d.text(k)))
			}
			d.ws()
			if d.pos >= len(d.data) || d.data[d.pos] != ':' {
				return 0, d.errAt(d.pos, "unexpected %s after a key, want ':'", d.describe(d.pos))
			}
			d.pos++
			d.ws()
			v, err := d.value()
			if err != nil {
				return 0, err
			}
			d.stack = append(d.stack, k, v)
			if done, err := d.next('}', "an object member"); err != nil {
				return 0, err
			} else if done {
				break
			}
		}
	}
	return d.closed(jObj, start, mark, (len(d.stack)-mark)/2), nil
}

// str scans a string starting at its opening quote, and reports whether it holds escapes.
func (d *jdoc) str() (bool, error) {
	d.pos++ // "
	esc := false
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if 0x20 <= c && c < utf8.RuneSelf && c != '"' && c != '\\' {
			d.pos++
			continue
		}
		switch {
		case c == '"':
			d.pos++
			return esc, nil
		case c == '\\':
			esc = true
			if d.pos+1 >= len(d.data) {
				return false, d.errAt(d.pos+1, "unexpected end of input in a string escape")
			}
			switch d.data[d.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.pos += 2
			case 'u':
				r, ok := d.hex4(d.pos + 2)
				if !ok {
					return false, d.errAt(d.pos, "invalid \\u escape")
				}
				d.pos += 6
				if utf16.IsSurrogate(r) {
					// A surrogate must be a high one followed by an escaped low one: serde_json
					// refuses a lone surrogate, which encoding/json would turn into U+FFFD.
					r2, ok := rune(0), false
					if r < 0xdc00 && d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
						r2, ok = d.hex4(d.pos + 2)
					}
					if !ok || utf16.DecodeRune(r, r2) == utf8.RuneError {
						return false, d.errAt(d.pos-6, "lone surrogate in a \\u escape")
					}
					d.pos += 6
				}
			default:
				return false, d.errAt(d.pos+1, "invalid escape \\%c in a string", d.data[d.pos+1])
			}
		case c < 0x20:
			return false, d.errAt(d.pos, "control character 0x%02x in a string (escape it)", c)
		case c < utf8.RuneSelf:
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if r == utf8.RuneError && size == 1 {
				return false, d.errAt(d.pos, "invalid UTF-8 in a string")
			}
			d.pos += size
		}
	}
	return false, d.errAt(d.pos, "unexpected end of input in a string")
}

func (d *jdoc) hex4(i int) (rune, bool) {
	if i+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jdoc) number() error {
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && '0' <= d.data[d.pos] && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	if d.data[d.pos] == '-' {
		d.pos++
	}
	if d.pos < len(d.data) && d.data[d.pos] == '0' {
		d.pos++
	} else if digits() == 0 {
		return d.errAt(d.pos, "unexpected %s in a number, want a digit", d.describe(d.pos))
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if digits() == 0 {
			return d.errAt(d.pos, "unexpected %s after a decimal point, want a digit", d.describe(d.pos))
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return d.errAt(d.pos, "unexpected %s in an exponent, want a digit", d.describe(d.pos))
		}
	}
	return nil
}

// raw is the value's bytes as written.
func (d *jdoc) raw(i int32) []byte {
	n := &d.nodes[i]
	return d.data[n.start:n.end]
}

// text is a string node's value. The parser has validated it, so decoding cannot fail.
func (d *jdoc) text(i int32) string {
	n := &d.nodes[i]
	if !n.esc {
		return string(d.data[n.start+1 : n.end-1])
	}
	return unescape(d.data[n.start+1 : n.end-1])
}

func unescape(s []byte) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hexRune(s[i+2 : i+6])
			if utf16.IsSurrogate(r) {
				r = utf16.DecodeRune(r, hexRune(s[i+8:i+12]))
				i += 6
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		default: // " \ /
			out = append(out, s[i+1])
		}
		i += 2
	}
	return string(out)
}

func hexRune(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a':
			r = r<<4 | rune(c-'a'+10)
		default:
			r = r<<4 | rune(c-'A'+10)
		}
	}
	return r
}

// member returns the value of key in object node i, or -1.
func (d *jdoc) member(i int32, key string) int32 {
	n := &d.nodes[i]
	for j := n.kid; j < n.kid+2*n.n; j += 2 {
		if d.keyIs(d.kids[j], key) {
			return d.kids[j+1]
		}
	}
	return -1
}

// sameKey compares two string nodes, without allocating unless one holds an escape.
func (d *jdoc) sameKey(a, b int32) bool {
	na, nb := &d.nodes[a], &d.nodes[b]
	if !na.esc && !nb.esc {
		return bytes.Equal(d.data[na.start:na.end], d.data[nb.start:nb.end])
	}
	return d.text(a) == d.text(b)
}

// key is a string node's value for immediate use: an unescaped key aliases the input instead
// of being copied, so it must not be kept (stringMap clones the keys it stores).
func (d *jdoc) key(i int32) string {
	n := &d.nodes[i]
	if !n.esc && n.end-n.start > 2 {
		return unsafe.String(&d.data[n.start+1], n.end-n.start-2)
	}
	return d.text(i)
}

// keyIs compares a string node with s without allocating in the common unescaped case.
func (d *jdoc) keyIs(i int32, s string) bool {
	n := &d.nodes[i]
	if !n.esc {
		return string(d.data[n.start+1:n.end-1]) == s
	}
	return d.text(i) == s
}

// depthOf is the nesting depth of node i (0 for a scalar).
func (d *jdoc) depthOf(i int32) int {
	n := &d.nodes[i]
	if n.kind != jArr && n.kind != jObj {
		return 0
	}
	deepest := 0
	step := int32(1)
	first := n.kid
	if n.kind == jObj {
		step, first = 2, n.kid+1
	}
	for j := first; j < n.kid+n.n*step; j += step {
		deepest = max(deepest, d.depthOf(d.kids[j]))
	}
	return deepest + 1
}

// jsonType names a node's JSON type with its article, for messages.
func (d *jdoc) jsonType(i int32) string {
	switch d.nodes[i].kind {
	case jNull:
		return "null"
	case jBool:
		return "a boolean"
	case jNum:
		return "a number"
	case jStr:
		return "a string"
	case jArr:
		return "an array"
	}
	return "an object"
}

// checkJSON validates data as one JSON value with the parser's rules (depth, duplicate keys,
// UTF-8) without building a tree: for free-form values on a fast path. spaced reports white
// space between tokens, which compaction would remove.
func checkJSON(data []byte, maxDepth int) (spaced bool, err error) {
	d, err := parse(data, maxDepth, true)
	if err != nil {
		return false, err
	}
	spaced = d.spaced
	d.release()
	return spaced, nil
}

// next reads what follows an element of a container that close ends: close (done), or a
// comma and the white space after it. what names the element for the error.
func (d *jdoc) next(close byte, what string) (done bool, err error) {
	d.ws()
	if d.pos >= len(d.data) {
		return false, d.errAt(d.pos, "unexpected end of input, want ',' or '%c'", close)
	}
	if c := d.data[d.pos]; c == close {
		d.pos++
		return true, nil
	} else if c != ',' {
		return false, d.errAt(d.pos, "unexpected %s after %s, want ',' or '%c'", d.describe(d.pos), what, close)
	}
	d.pos++
	d.ws()
	return false, nil
}

// closed ends the container of kind that began at start: its children, pushed on the stack
// since mark, move to kids (n of them: elements, or key/value pairs), and its node is added.
func (d *jdoc) closed(kind jkind, start, mark, n int) int32 {
	d.depth--
	kid := int32(len(d.kids))
	if !d.lite {
		d.kids = append(d.kids, d.stack[mark:]...)
	}
	d.stack = d.stack[:mark]
	return d.add(jnode{kind: kind, start: int32(start), end: int32(d.pos), kid: kid, n: int32(n)})
}
