package wazero

import "encoding/binary"

// Go's linker writes a module's initial memory as one data segment per run of non-zero bytes:
// go-transform has about 40,000 of them, 1 MB in all. wazero evaluates each segment's offset
// with a handful of allocations on every instantiation, which was ~90% of a Go guest
// instance's 47,000 allocations. mergeDataSegments rewrites the data section before
// compilation so that segments a short run of zeros apart become one: the same bytes land at
// the same places, in a few segments.

// mergeGap is the longest run of zeros folded into a merged segment. Copying 1 KiB of zeros
// costs far less than a segment (some 10 allocations per instantiation).
const mergeGap = 1024

const (
	sectionData      = 11
	sectionDataCount = 12
	opI32Const       = 0x41
	opEnd            = 0x0b
)

// segment is an active data segment of memory 0 with a constant offset.
type segment struct {
	offset uint64
	init   []byte
}

// mergeDataSegments returns wasm with adjacent data segments merged, or wasm itself when there
// is nothing to merge or the module holds anything the rewrite does not handle: a data count
// section (code may then name segments by index), a passive segment, a segment of another
// memory, an offset that is not an i32.const, or bytes it cannot parse (the compiler then
// reports what is wrong with the original).
func mergeDataSegments(wasm []byte) []byte {
	if len(wasm) < 8 {
		return wasm
	}
	var secStart, dataStart, dataEnd int // the data section, and its payload
	for i := 8; i < len(wasm); {
		id := wasm[i]
		size, n := binary.Uvarint(wasm[i+1:])
		if n <= 0 || size > uint64(len(wasm)-i-1-n) {
			return wasm
		}
		start := i + 1 + n
		end := start + int(size)
		switch id {
		case sectionDataCount:
			return wasm
		case sectionData:
			secStart, dataStart, dataEnd = i, start, end
		}
		i = end
	}
	if dataEnd == 0 {
		return wasm
	}
	segs, ok := parseData(wasm[dataStart:dataEnd])
	if !ok {
		return wasm
	}
	merged := mergeSegments(segs)
	if len(merged) == len(segs) {
		return wasm
	}
	payload := encodeData(merged)
	out := make([]byte, 0, len(wasm)-(dataEnd-dataStart)+len(payload)+binary.MaxVarintLen32)
	out = append(out, wasm[:secStart]...)
	out = append(out, sectionData)
	out = binary.AppendUvarint(out, uint64(len(payload)))
	out = append(out, payload...)
	return append(out, wasm[dataEnd:]...)
}

// parseData reads a data section of active memory-0 segments with i32.const offsets.
func parseData(p []byte) ([]segment, bool) {
	count, n := binary.Uvarint(p)
	if n <= 0 || count > uint64(len(p)) {
		return nil, false
	}
	p = p[n:]
	segs := make([]segment, 0, count)
	for range count {
		if len(p) < 2 || p[0] != 0 || p[1] != opI32Const { // flag 0: active, memory 0
			return nil, false
		}
		off, n := readSLEB32(p[2:])
		if n <= 0 || len(p) < 2+n+1 || p[2+n] != opEnd {
			return nil, false
		}
		p = p[2+n+1:]
		size, m := binary.Uvarint(p)
		if m <= 0 || size > uint64(len(p)-m) {
			return nil, false
		}
		segs = append(segs, segment{offset: uint64(uint32(int32(off))), init: p[m : m+int(size)]})
		p = p[m+int(size):]
	}
	return segs, len(p) == 0
}

// readSLEB32 reads a signed LEB128 i32 (binary.Varint reads zig-zag, not this); n <= 0 when b
// does not start with one.
func readSLEB32(b []byte) (v int32, n int) {
	var r int64
	var shift uint
	for i, c := range b {
		if i == 5 {
			return 0, 0
		}
		r |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				r |= -1 << shift
			}
			if r < -1<<31 || r > 1<<31-1 {
				return 0, 0
			}
			return int32(r), i + 1
		}
	}
	return 0, 0
}

// maxRuns bounds the runs of ascending segments mergeSegments tracks: past it (a module that
// scatters its segments) the remaining segments are kept as they are, so the rewrite stays
// linear in the number of segments.
const maxRuns = 64

// mergeSegments merges each segment into the one before it when it starts at most mergeGap
// bytes after that one ends, filling the gap with zeros, and only where those zeros cannot
// overwrite what an earlier segment wrote: no segment flushed before holds a byte of the gap
// (the segments of the current run all lie below it).
func mergeSegments(segs []segment) []segment {
	var out []segment
	var cur []byte
	var curOff, curEnd uint64
	open := false
	clobbers := func(from, to uint64) bool {
		for _, o := range out {
			if o.offset < to && o.offset+uint64(len(o.init)) > from {
				return true
			}
		}
		return false
	}
	for i, s := range segs {
		end := s.offset + uint64(len(s.init))
		if open && s.offset >= curEnd && s.offset-curEnd <= mergeGap && !clobbers(curEnd, s.offset) {
			cur = append(cur, make([]byte, s.offset-curEnd)...)
			cur = append(cur, s.init...)
			curEnd = end
			continue
		}
		if open {
			out = append(out, segment{offset: curOff, init: cur})
		}
		if len(out) >= maxRuns {
			return append(out, segs[i:]...)
		}
		cur, curOff, curEnd, open = append([]byte(nil), s.init...), s.offset, end, true
	}
	if open {
		out = append(out, segment{offset: curOff, init: cur})
	}
	return out
}

func encodeData(segs []segment) []byte {
	var p []byte
	p = binary.AppendUvarint(p, uint64(len(segs)))
	for _, s := range segs {
		p = append(p, 0, opI32Const)
		p = appendSLEB(p, int64(int32(uint32(s.offset))))
		p = append(p, opEnd)
		p = binary.AppendUvarint(p, uint64(len(s.init)))
		p = append(p, s.init...)
	}
	return p
}

func appendSLEB(p []byte, v int64) []byte {
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(p, b)
		}
		p = append(p, b|0x80)
	}
}
