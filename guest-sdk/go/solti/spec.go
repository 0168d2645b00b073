package solti

import (
	"encoding/json"
	"math/bits"
	"unsafe"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Spec is a lazy view of a task spec in the host's canonical JSON. Nothing is decoded until
// asked: [Spec.Kind] and [Spec.ExtensionSpec] scan the few bytes they need (the kind is the
// second field of canonical JSON), [Spec.Label] reads the labels object in place and
// [Spec.Labels] decodes it alone (labels come last: the members before it are skipped once),
// which keeps supports calls in the microseconds, while [Spec.Decode] runs the full decoder
// once per call and caches the result.
//
// A Spec and the slices it returns are valid only during the call that received it.
type Spec struct {
	raw []byte

	scanned bool
	kind    string
	isExt   bool
	extAt   int  // where the extension spec starts in raw, found by scan; -1: none
	extDone bool // ext is known
	ext     json.RawMessage

	kindAt   int // where the kind's value starts in raw (canonical); -1: not canonical
	restDone bool
	labelsAt int // where the labels object starts in raw, found by members; -1: none
	labels   map[string]string
	labDone  bool

	decoded *abi.TaskSpec
	decErr  error

	// lazy is set when anything past the scan's fields was filled in: reset clears the whole
	// Spec then, and otherwise only what scan rewrites (each store is a memory access in
	// wasm, a bounds-checked one on wazero).
	lazy bool
}

// NewSpec returns a view of a task spec's JSON, for testing a runner natively: the SDK builds
// the views that Supports and Build receive itself. Any JSON the abi package decodes works;
// canonical JSON takes the fast path.
func NewSpec(raw []byte) *Spec {
	s := new(Spec)
	s.reset(raw)
	return s
}

func (s *Spec) reset(raw []byte) {
	if s.lazy {
		*s = Spec{raw: raw}
		return
	}
	s.raw, s.scanned = raw, false
}

// JSON returns the spec's canonical JSON as the host sent it.
func (s *Spec) JSON() []byte { return s.raw }

// Kind returns the task kind's routing name: "subprocess", "wasm", "container", "embedded",
// or an extension kind's type. It returns "" for a spec it cannot read.
func (s *Spec) Kind() string {
	if !s.scanned {
		s.scan()
	}
	return s.kind
}

// IsExtension reports whether the task's kind is an extension kind.
func (s *Spec) IsExtension() bool {
	if !s.scanned {
		s.scan()
	}
	return s.isExt
}

// ExtensionSpec returns the raw JSON of an extension kind's "spec" field, or nil when the kind
// is not an extension or has no spec.
func (s *Spec) ExtensionSpec() json.RawMessage {
	s.scan()
	if !s.extDone {
		// Found only now: supports calls that just ask for the kind do not pay to skip over
		// the extension spec, which may be most of the input.
		s.extDone, s.lazy = true, true
		if s.extAt >= 0 {
			if end := skipValue(s.raw, s.extAt); end >= 0 {
				s.ext = s.raw[s.extAt:end:end]
			}
		}
	}
	return s.ext
}

// DecodeExtension decodes the extension kind's spec into v (a pointer to the runner's own
// spec type), rejecting unknown fields. Its errors are *abi.GuestError values ready to return
// from Build: unsupported_kind when the task is not an extension, missing_field when it has no
// spec, invalid_spec when the spec does not decode into v.
func (s *Spec) DecodeExtension(v any) error {
	ext := s.ExtensionSpec()
	switch {
	case !s.isExt:
		return Errorf(abi.CodeUnsupportedKind, "task kind %q is not an extension kind", s.kind)
	case len(ext) == 0 || string(ext) == "null":
		return Errorf(abi.CodeMissingField, "kind.extension.spec")
	}
	if err := decodeStrict(ext, v); err != nil {
		return Errorf(abi.CodeInvalidSpec, "%s spec: %v", s.kind, err)
	}
	return nil
}

// Decode decodes the whole spec (defaults filled in by abi.TaskSpec's decoder). It costs a
// full JSON decode on the first call; later calls return the cached result.
func (s *Spec) Decode() (*abi.TaskSpec, error) {
	if s.decoded == nil && s.decErr == nil {
		s.lazy = true
		t := new(abi.TaskSpec)
		if err := json.Unmarshal(s.raw, t); err != nil {
			s.decErr = Errorf(abi.CodeInvalidSpec, "task spec: %v", err)
		} else {
			s.decoded = t
		}
	}
	return s.decoded, s.decErr
}

// Labels returns the task's labels (nil when it has none or the spec does not decode). In
// canonical JSON it decodes the labels object alone, once: the members before it are skipped,
// not decoded.
func (s *Spec) Labels() map[string]string {
	if !s.labDone {
		s.labDone, s.lazy = true, true
		if at := s.findLabels(); at >= 0 {
			if end := skipValue(s.raw, at); end >= 0 {
				_ = json.Unmarshal(s.raw[at:end], &s.labels)
			}
		} else if s.kindAt < 0 {
			if t, err := s.Decode(); err == nil {
				s.labels = t.Labels
			}
		}
	}
	return s.labels
}

// Label returns the value of one task label. In canonical JSON it reads the labels object in
// place, without decoding the spec or building the label map.
func (s *Spec) Label(key string) (string, bool) {
	if s.labDone || s.findLabels() < 0 {
		v, ok := s.Labels()[key]
		return v, ok
	}
	b, i := s.raw, s.labelsAt+1
	for i < len(b) && b[i] == '"' {
		k, next, plain := plainString(b, i)
		if !plain || !hasPrefixAt(b, next, ":") {
			break // an escaped key: let the decoder read it
		}
		v := next + 1
		end := skipString(b, v)
		if end < 0 {
			break
		}
		if string(k) == key {
			if val, _, plain := plainString(b, v); plain {
				return string(val), true
			}
			break // an escaped value: decode it
		}
		if i = end; hasPrefixAt(b, i, ",") {
			i++
		}
	}
	v, ok := s.Labels()[key]
	return v, ok
}

// findLabels returns where the labels object starts in canonical JSON, or -1 (none, or not
// canonical). It skips the kind's value (often most of the input) once per spec, then the
// members after it: canonical labels come last.
func (s *Spec) findLabels() int {
	s.scan()
	if s.restDone {
		return s.labelsAt
	}
	s.restDone, s.labelsAt, s.lazy = true, -1, true
	if s.kindAt < 0 {
		return -1
	}
	b := s.raw
	i := skipValue(b, s.kindAt)
	for i >= 0 && hasPrefixAt(b, i, `,"`) {
		k, next, plain := plainString(b, i+1)
		if !plain || !hasPrefixAt(b, next, ":") {
			return -1
		}
		if string(k) == "labels" {
			if hasPrefixAt(b, next+1, "{") {
				s.labelsAt = next + 1
			}
			return s.labelsAt
		}
		i = skipValue(b, next+1)
	}
	return -1
}

// scan reads the kind once per spec. It is kept out of line so that Kind and IsExtension,
// which call it only the first time, inline into the runner's Supports.
//
// Its first part is the fast path for the usual input, an extension kind in canonical JSON,
// {"slot":"S","kind":{"extension":{"type":"T"} or ,"spec":...; anything else goes to
// scanGeneral. Under Go's wasm code generation each memory access is a load or store that the
// engine bounds-checks, every Go call passes its arguments through memory, and a taken branch
// goes through the function's dispatch loop: so the keys are compared as constant words with
// one branch for all of them, the slot's end is found a word at a time, and the kind is
// compared in place, as words, with the last one seen (a name the SDK accepted holds no
// escape); only a new name is scanned and copied, once.
//
//go:noinline
func (s *Spec) scan() {
	if s.scanned {
		return
	}
	s.scanned, s.labelsAt = true, -1
	b := s.raw
	const slotAt = len(`{"slot":"`)
	if len(b) < slotAt || (load8(b, 0)^wSlot)|uint64(b[slotAt-1]^'"') != 0 {
		s.scanGeneral()
		return
	}
	// The slot's closing quote: plainEnd's word loop, written out (plainEnd is too big for
	// the inliner); a slot ending in the last eight bytes is left to scanGeneral.
	end := -1
	for i := slotAt; i+8 <= len(b); i += 8 {
		if t := quoteOrEscape(load8(b, i)); t != 0 {
			end = i + bits.TrailingZeros64(t)>>3
			break
		}
	}
	kind := end + 1 + len(`,"kind":`)
	typ := kind + len(`{"extension":{"type":"`)
	if end < 0 || typ > len(b) || b[end] != '"' ||
		(load8(b, end+1)^wKind)|(load8(b, kind)^wExt0)|(load8(b, kind+8)^wExt1)|(load8(b, kind+14)^wExt2) != 0 {
		s.scanGeneral()
		return
	}
	if kindMask[0] != 0 && typ+16 <= len(b) &&
		((load8(b, typ)^kindWord[0])&kindMask[0])|((load8(b, typ+8)^kindWord[1])&kindMask[1]) == 0 {
		end = typ + len(lastExtKind)
	} else if end = plainEnd(b, typ); end < 0 {
		s.scanGeneral()
		return
	} else if string(b[typ:end]) != lastExtKind {
		setLastExtKind(b[typ:end])
	}
	extAt, after := -1, end+1
	switch {
	case after < len(b) && b[after] == '}':
	case after+8 <= len(b) && load8(b, after) == wSpecK:
		extAt = after + len(`,"spec":`)
	default:
		s.scanGeneral()
		return
	}
	s.kind, s.isExt, s.extAt, s.kindAt = lastExtKind, true, extAt, kind
}

// generalScans counts scanGeneral's calls, for the tests of scan's fast path.
var generalScans int

// scanGeneral is scan for what its fast path does not read: the solti kinds, and JSON that is
// not canonical.
func (s *Spec) scanGeneral() {
	generalScans++
	s.extAt, s.kindAt = -1, -1
	if name, extAt, isExt, ok := scanKind(s.raw); ok {
		s.kind, s.extAt, s.isExt = intern(name), extAt, isExt
		s.kindAt = kindValueAt(s.raw)
		return
	}
	// Not canonical JSON (a hand-made test input, say): take the slow, general road.
	s.extDone, s.lazy = true, true
	t, err := s.Decode()
	if err != nil {
		s.kind, s.isExt = "", false
		return
	}
	s.kind, s.isExt = t.Kind.Name(), false
	if t.Kind.Extension != nil {
		s.isExt, s.ext = true, t.Kind.Extension.Spec
	}
}

// The words of canonical JSON that scan compares, eight bytes at a time (lit8 of each;
// a test checks them). Constants, so that each compare is one load from the input.
const (
	wSlot  = 0x3a22746f6c73227b // {"slot":
	wKind  = 0x3a22646e696b222c // ,"kind":
	wExt0  = 0x736e65747865227b // {"extens: {"extension":{"type":" is wExt0, wExt1 and, overlapping, wExt2
	wExt1  = 0x74227b3a226e6f69 // ion":{"t
	wExt2  = 0x223a226570797422 // "type":"
	wSpecK = 0x3a2263657073222c // ,"spec":

	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// lit8 is the little-endian word of an 8-byte string.
func lit8(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// load8 is the little-endian word of b[i:i+8]; the caller has checked that i+8 <= len(b).
// One unaligned i64.load in wasm (unsafe: no bounds check, hence the caller's).
func load8(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), i))
}

// plainEnd returns the index of the quote that closes a JSON string whose contents start at
// b[i], or -1 when a backslash comes first (an escape: the caller takes the general road) or
// there is no quote. It reads eight bytes at a time: in each word, the bytes equal to '"' or
// '\\' are found with the zero-byte test ((x-1)&^x&0x80 per byte, exact for the lowest one).
func plainEnd(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if t := quoteOrEscape(load8(b, i)); t != 0 {
			if j := i + bits.TrailingZeros64(t)>>3; b[j] == '"' {
				return j
			}
			return -1
		}
	}
	return plainEndTail(b, i)
}

// quoteOrEscape has the high bit set in each byte of w that is '"' or '\\' (and maybe in bytes
// above the lowest such byte).
func quoteOrEscape(w uint64) uint64 {
	q, e := w^(ones*'"'), w^(ones*'\\')
	return (((q - ones) &^ q) | ((e - ones) &^ e)) & highs
}

// plainEndTail is plainEnd for the last bytes, fewer than eight.
//
//go:noinline
func plainEndTail(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i
		case '\\':
			return -1
		}
	}
	return -1
}

// The last extension kind seen, as scan compares it in place: lastExtKind followed by
// its closing quote, as two little-endian words and their masks (set when the name, quote
// included, fits in 16 bytes; else the masks are zero and the name is compared as a string).
var (
	lastExtKind string
	kindWord    [2]uint64
	kindMask    [2]uint64
)

// setLastExtKind makes name the cached extension kind.
func setLastExtKind(name []byte) {
	lastExtKind = string(name)
	kindWord, kindMask = [2]uint64{}, [2]uint64{}
	if len(name) < 16 {
		var buf [16]byte
		copy(buf[:], name)
		buf[len(name)] = '"'
		for k := range 2 {
			kindWord[k] = lit8(string(buf[8*k : 8*k+8]))
			for j := range 8 {
				if 8*k+j <= len(name) {
					kindMask[k] |= 0xff << (8 * j)
				}
			}
		}
	}
}

// intern returns name as a string without allocating for the solti kinds and the last seen
// extension kind. Comparisons of string(b) with a string do not allocate.
func intern(name []byte) string {
	switch string(name) {
	case abi.KindSubprocess:
		return abi.KindSubprocess
	case abi.KindWasm:
		return abi.KindWasm
	case abi.KindContainer:
		return abi.KindContainer
	case abi.KindEmbedded:
		return abi.KindEmbedded
	}
	if string(name) != lastExtKind {
		setLastExtKind(name)
	}
	return lastExtKind
}

// scanKind reads the kind of a spec in canonical JSON, {"slot":"...","kind":K,...}, without
// decoding it: name is the kind's name (a view of b) and extAt the index of an extension's
// spec value (-1 if none). ok is false when b does not have that exact shape, and the caller
// must decode instead. It reads only the bytes up to the kind's name.
func scanKind(b []byte) (name []byte, extAt int, isExt bool, ok bool) {
	const slotKey, kindKey = `{"slot":`, `,"kind":`
	if !hasPrefixAt(b, 0, slotKey) {
		return nil, -1, false, false
	}
	i := skipString(b, len(slotKey))
	if i < 0 || !hasPrefixAt(b, i, kindKey) {
		return nil, -1, false, false
	}
	i += len(kindKey)
	if i >= len(b) {
		return nil, -1, false, false
	}
	if b[i] == '"' { // "embedded"
		name, _, ok := plainString(b, i)
		return name, -1, false, ok
	}
	if b[i] != '{' { // {"tag":{...}}
		return nil, -1, false, false
	}
	tag, i, ok := plainString(b, i+1)
	if !ok || !hasPrefixAt(b, i, ":") {
		return nil, -1, false, false
	}
	if string(tag) != abi.KindExtension {
		return tag, -1, false, true
	}
	const typeKey, specKey = `:{"type":`, `,"spec":`
	if !hasPrefixAt(b, i, typeKey) {
		return nil, -1, false, false
	}
	name, i, ok = plainString(b, i+len(typeKey))
	switch {
	case !ok:
		return nil, -1, false, false
	case hasPrefixAt(b, i, "}"): // no spec
		return name, -1, true, true
	case hasPrefixAt(b, i, specKey):
		return name, i + len(specKey), true, true
	}
	return nil, -1, false, false
}

// kindValueAt returns where the kind's value starts in canonical JSON that scanKind read.
func kindValueAt(b []byte) int {
	return skipString(b, len(`{"slot":`)) + len(`,"kind":`)
}

func hasPrefixAt(b []byte, i int, p string) bool {
	return i >= 0 && len(b)-i >= len(p) && string(b[i:i+len(p)]) == p
}

// plainString reads the string starting at b[i] and returns its contents and the index after
// it. ok is false if there is no string there or it holds escapes (kind names never do).
func plainString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			return nil, 0, false
		case '"':
			return b[i+1 : j], j + 1, true
		}
	}
	return nil, 0, false
}

// skipString returns the index after the JSON string starting at b[i], or -1.
func skipString(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++ // skip the escaped byte; \uXXXX's hex digits need no care
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the compact JSON value starting at b[i], or -1. It only
// balances brackets and strings; the decoder that later reads the value validates it.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); {
			switch b[j] {
			case '"':
				if j = skipString(b, j); j < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
			j++
		}
		return -1
	}
	j := i // number, true, false, null
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
