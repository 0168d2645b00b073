package wasmbin

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// LEB128 decoding errors; decoders in this file return them bare, the reader wraps them in an
// *Error with the section and offset.
var (
	errLEBTruncated = errors.New("LEB128 runs past the end of the bytes")
	errLEBTooLong   = errors.New("LEB128 is longer than its type allows")
	errLEBOverflow  = errors.New("LEB128 value overflows its type")
)

// AppendUleb128 appends v as unsigned LEB128 (the encoding of u32 and u64 in a module).
func AppendUleb128(dst []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			dst = append(dst, c|0x80)
			continue
		}
		return append(dst, c)
	}
}

// AppendSleb128 appends v as signed LEB128 (the encoding of s32, s33 and s64 in a module).
func AppendSleb128(dst []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(dst, c)
		}
		dst = append(dst, c|0x80)
	}
}

// DecodeUleb128 decodes an unsigned LEB128 of at most bits bits (32 or 64) from the start of b,
// returning the value and the number of bytes read. Over-long encodings and set bits beyond
// the type are errors, as the spec requires.
func DecodeUleb128(b []byte, bits int) (uint64, int, error) {
	maxLen := (bits + 6) / 7
	var v uint64
	for i := 0; i < maxLen; i++ {
		if i >= len(b) {
			return 0, 0, errLEBTruncated
		}
		c := b[i]
		if i == maxLen-1 {
			// The last byte may only carry the bits left of the type.
			used := uint(bits - 7*i)
			if c&0x80 != 0 {
				return 0, 0, errLEBTooLong
			}
			if c>>used != 0 {
				return 0, 0, errLEBOverflow
			}
		}
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errLEBTooLong // not reached: the last byte returns above
}

// DecodeSleb128 decodes a signed LEB128 of at most bits bits (32, 33 or 64) from the start of
// b, returning the value and the number of bytes read.
func DecodeSleb128(b []byte, bits int) (int64, int, error) {
	maxLen := (bits + 6) / 7
	var v int64
	for i := 0; i < maxLen; i++ {
		if i >= len(b) {
			return 0, 0, errLEBTruncated
		}
		c := b[i]
		shift := uint(7 * i)
		if i == maxLen-1 {
			if c&0x80 != 0 {
				return 0, 0, errLEBTooLong
			}
			// The unused high bits of the last byte must all equal the sign bit.
			used := uint(bits - 7*i) // value bits in this byte, sign included
			rest := c >> (used - 1) & (0x7f >> (used - 1))
			if rest != 0 && rest != 0x7f>>(used-1) {
				return 0, 0, errLEBOverflow
			}
		}
		v |= int64(c&0x7f) << shift
		if c&0x80 == 0 {
			if shift+7 < 64 && c&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, errLEBTooLong
}

// reader reads one bounded region of a module binary. Every read checks against end, and
// every error names the section and absolute offset.
type reader struct {
	b       []byte // the whole module
	pos     int    // next byte to read
	end     int    // reads stop here
	base    int    // added to positions in errors: b's offset in the module
	section string // for errors
}

func (r *reader) errf(kind error, off int, format string, args ...any) *Error {
	return &Error{Section: r.section, Offset: r.base + off, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

func (r *reader) remaining() int { return r.end - r.pos }

func (r *reader) byte(what string) (byte, error) {
	if r.pos >= r.end {
		return 0, r.errf(ErrMalformed, r.pos, "unexpected end reading %s", what)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) uleb(what string, bits int) (uint64, error) {
	v, n, err := DecodeUleb128(r.b[r.pos:r.end], bits)
	if err != nil {
		return 0, r.errf(ErrMalformed, r.pos, "%s: %v", what, err)
	}
	r.pos += n
	return v, nil
}

func (r *reader) u32(what string) (uint32, error) {
	v, err := r.uleb(what, 32)
	return uint32(v), err
}

func (r *reader) sleb(what string, bits int) (int64, error) {
	v, n, err := DecodeSleb128(r.b[r.pos:r.end], bits)
	if err != nil {
		return 0, r.errf(ErrMalformed, r.pos, "%s: %v", what, err)
	}
	r.pos += n
	return v, nil
}

// bytes returns the next n bytes, aliasing the module.
func (r *reader) bytes(n uint64, what string) ([]byte, error) {
	if n > uint64(r.remaining()) {
		return nil, r.errf(ErrMalformed, r.pos, "%s of %d bytes runs past the end (%d bytes left)", what, n, r.remaining())
	}
	s := r.b[r.pos : r.pos+int(n) : r.pos+int(n)]
	r.pos += int(n)
	return s, nil
}

// name reads a length-prefixed UTF-8 name of at most maxLen bytes.
func (r *reader) name(what string, maxLen uint32) (string, error) {
	start := r.pos
	n, err := r.u32(what + " length")
	if err != nil {
		return "", err
	}
	if n > maxLen {
		return "", r.errf(ErrLimit, start, "%s is %d bytes, over the limit of %d", what, n, maxLen)
	}
	s, err := r.bytes(uint64(n), what)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(s) {
		return "", r.errf(ErrMalformed, start, "%s is not valid UTF-8", what)
	}
	return string(s), nil
}

// count reads a vector length and checks it before anything is allocated for it: each element
// takes at least minSize bytes, so the remaining bytes bound the count, and limit caps it
// (0 means no limit beyond the bytes).
func (r *reader) count(what string, minSize int, limit uint32) (uint32, error) {
	start := r.pos
	n, err := r.u32(what + " count")
	if err != nil {
		return 0, err
	}
	if limit != 0 && n > limit {
		return 0, r.errf(ErrLimit, start, "%d %s, over the limit of %d", n, what, limit)
	}
	if uint64(n)*uint64(minSize) > uint64(r.remaining()) {
		return 0, r.errf(ErrMalformed, start, "declares %d %s but only %d bytes remain", n, what, r.remaining())
	}
	return n, nil
}
