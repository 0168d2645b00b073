package solti

import (
	"encoding/json"

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
}

// NewSpec returns a view of a task spec's JSON, for testing a runner natively: the SDK builds
// the views that Supports and Build receive itself. Any JSON the abi package decodes works;
// canonical JSON takes the fast path.
func NewSpec(raw []byte) *Spec {
	s := new(Spec)
	s.reset(raw)
	return s
}

func (s *Spec) reset(raw []byte) { *s = Spec{raw: raw} }

// JSON returns the spec's canonical JSON as the host sent it.
func (s *Spec) JSON() []byte { return s.raw }

// Kind returns the task kind's routing name: "subprocess", "wasm", "container", "embedded",
// or an extension kind's type. It returns "" for a spec it cannot read.
func (s *Spec) Kind() string {
	s.scan()
	return s.kind
}

// IsExtension reports whether the task's kind is an extension kind.
func (s *Spec) IsExtension() bool {
	s.scan()
	return s.isExt
}

// ExtensionSpec returns the raw JSON of an extension kind's "spec" field, or nil when the kind
// is not an extension or has no spec.
func (s *Spec) ExtensionSpec() json.RawMessage {
	s.scan()
	if !s.extDone {
		// Found only now: supports calls that just ask for the kind do not pay to skip over
		// the extension spec, which may be most of the input.
		s.extDone = true
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
		s.labDone = true
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
	s.restDone, s.labelsAt = true, -1
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

func (s *Spec) scan() {
	if s.scanned {
		return
	}
	s.scanned, s.extAt, s.kindAt, s.labelsAt = true, -1, -1, -1
	if name, extAt, isExt, ok := scanKind(s.raw); ok {
		s.kind, s.extAt, s.isExt = intern(name), extAt, isExt
		s.kindAt = kindValueAt(s.raw)
		return
	}
	// Not canonical JSON (a hand-made test input, say): take the slow, general road.
	s.extDone = true
	t, err := s.Decode()
	if err != nil {
		return
	}
	s.kind = t.Kind.Name()
	if t.Kind.Extension != nil {
		s.isExt, s.ext = true, t.Kind.Extension.Spec
	}
}

// lastExtKind caches the last extension kind name, so that a runner asked about the same kind
// again and again (the usual case) allocates nothing.
var lastExtKind string

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
		lastExtKind = string(name)
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
