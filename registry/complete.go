package registry

import (
	"bytes"
	"fmt"
)

// wasmIncomplete reports why b is not a whole wasm binary, or "" when it is one as far as
// framing goes: the magic and version, then sections whose declared sizes end exactly at
// the end of the file. A wasm binary is self-delimiting, so a file caught mid-write almost
// always fails this; one cut exactly at a section boundary is left to the loader.
func wasmIncomplete(b []byte) string {
	if len(b) < 8 {
		if bytes.HasPrefix([]byte("\x00asm\x01\x00\x00\x00"), b) {
			return fmt.Sprintf("%d bytes, shorter than the 8-byte wasm header", len(b))
		}
		return "" // not wasm at all: the loader says so
	}
	if !bytes.Equal(b[:8], []byte("\x00asm\x01\x00\x00\x00")) {
		return "" // not a core module (a component, say): the loader says what it is
	}
	for i, n := 8, 0; i < len(b); n++ {
		i++ // section id
		size, w := uleb32(b[i:])
		if w == 0 {
			return fmt.Sprintf("section %d: its size is cut off at byte %d", n, len(b))
		}
		i += w
		if end := i + int(size); end > len(b) {
			return fmt.Sprintf("section %d declares %d bytes; the file ends %d bytes short", n, size, end-len(b))
		}
		i += int(size)
	}
	return ""
}

// uleb32 decodes an unsigned LEB128 u32 and its width; width 0 when b ends first or the
// encoding is longer than 5 bytes.
func uleb32(b []byte) (uint32, int) {
	var v uint32
	for i := 0; i < 5 && i < len(b); i++ {
		v |= uint32(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
