package abi

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxScriptBodyBytes is the largest script body solti-model accepts, decoded.
const MaxScriptBodyBytes = 2 << 20

// ValidationError says which field of a spec or plan is invalid and why.
type ValidationError struct {
	// Field is the JSON path of the field, e.g. "backoff.firstMs" or "runnerSelector.matchExpressions[0].values".
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// The character rules below are written by hand rather than as regular expressions: this
// package is linked into Go guests, where compiling regexps at start-up costs every instance
// time and the module ~400 KB.

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// allOf reports whether s is 1..max bytes, every byte satisfying ok.
func allOf(s string, max int, ok func(byte) bool) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// ValidSlot reports whether s is a valid slot name: 1-64 chars of [A-Za-z0-9._-], not "." or "..".
func ValidSlot(s string) bool {
	return s != "." && s != ".." && allOf(s, 64, func(c byte) bool { return isAlnum(c) || c == '.' || c == '_' || c == '-' })
}

// ValidKindType reports whether t may name an extension kind: 1-128 chars of lower-case
// letters, digits and ". _ / -", starting and ending with a letter or digit, and not a solti
// kind name; or the type of a GVK ("example.com/v1/HttpCheck", see GVK.Type), whose kind keeps
// its case.
func ValidKindType(t string) bool {
	if _, ok := ParseKindType(t); ok {
		return true
	}
	switch t {
	case KindSubprocess, KindWasm, KindContainer, KindEmbedded, KindExtension:
		return false
	}
	return allOf(t, 128, func(c byte) bool { return isLowerAlnum(c) || c == '.' || c == '_' || c == '/' || c == '-' }) &&
		isLowerAlnum(t[0]) && isLowerAlnum(t[len(t)-1])
}

// ValidLabelKey reports whether k is a valid label key (Kubernetes rules): an optional DNS
// subdomain prefix (RFC 1123, at most 253 chars) and "/", then a name of 1-63 chars.
func ValidLabelKey(k string) bool {
	name := k
	if i := strings.LastIndexByte(k, '/'); i >= 0 {
		if !validDNSSubdomain(k[:i]) {
			return false
		}
		name = k[i+1:]
	}
	return name != "" && validLabelName(name)
}

// validLabelName: 1-63 chars of [A-Za-z0-9._-], starting and ending with a letter or digit.
func validLabelName(s string) bool {
	return allOf(s, 63, func(c byte) bool { return isAlnum(c) || c == '.' || c == '_' || c == '-' }) &&
		isAlnum(s[0]) && isAlnum(s[len(s)-1])
}

// validDNSSubdomain: dot-separated labels of [a-z0-9-] that start and end with a letter or
// digit, at most 253 chars in all. As Kubernetes' IsDNS1123Subdomain, it does not bound a
// single label (RFC 1123's 63 applies to host names, not to these keys).
func validDNSSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !allOf(label, 253, func(c byte) bool { return isLowerAlnum(c) || c == '-' }) ||
			!isLowerAlnum(label[0]) || !isLowerAlnum(label[len(label)-1]) {
			return false
		}
	}
	return true
}

// ValidLabelValue reports whether v is a valid label value (Kubernetes rules): empty, or a
// valid label name.
func ValidLabelValue(v string) bool { return v == "" || validLabelName(v) }

// ValidateLabels checks every key and value of a label set.
func ValidateLabels(labels map[string]string) error { return validateLabels("labels", labels) }

func validateLabels(field string, labels map[string]string) error {
	for k, v := range labels {
		if !ValidLabelKey(k) {
			return invalid(field, "invalid label key %q", k)
		}
		if !ValidLabelValue(v) {
			return invalid(field+"."+k, "invalid label value %q", v)
		}
	}
	return nil
}

// Validate checks the spec against solti-model's rules and returns the first
// *ValidationError found.
func (s *TaskSpec) Validate() error {
	if !ValidSlot(s.Slot) {
		return invalid("slot", "%q must be 1-64 chars of [A-Za-z0-9._-] and not \".\" or \"..\"", s.Slot)
	}
	if err := s.Kind.validate("kind"); err != nil {
		return err
	}
	if s.TimeoutMs == 0 {
		return invalid("timeout", "must be > 0 (milliseconds)")
	}
	switch s.Restart.Type {
	case RestartNever, RestartOnFailure:
		if s.Restart.IntervalMs != 0 {
			return invalid("restart.intervalMs", "only allowed with type \"always\"")
		}
	case RestartAlways:
	default:
		return invalid("restart.type", "%q is not never, onFailure or always", s.Restart.Type)
	}
	if err := s.Backoff.validate("backoff"); err != nil {
		return err
	}
	switch s.Admission {
	case AdmissionDropIfRunning, AdmissionReplace, AdmissionQueue:
	default:
		return invalid("admission", "%q is not dropIfRunning, replace or queue", s.Admission)
	}
	if s.RunnerSelector != nil {
		if err := s.RunnerSelector.validate("runnerSelector"); err != nil {
			return err
		}
	}
	return validateLabels("labels", s.Labels)
}

func (b BackoffPolicy) validate(f string) error {
	switch b.Jitter {
	case JitterFull, JitterNone, JitterEqual, JitterDecorrelated:
	default:
		return invalid(f+".jitter", "%q is not full, none, equal or decorrelated", b.Jitter)
	}
	if b.FirstMs == 0 {
		return invalid(f+".firstMs", "must be > 0")
	}
	if b.MaxMs < b.FirstMs {
		return invalid(f+".maxMs", "%d must be >= firstMs (%d)", b.MaxMs, b.FirstMs)
	}
	if !(b.Factor >= 1) || math.IsInf(b.Factor, 1) { // also rejects NaN
		return invalid(f+".factor", "%v must be >= 1 and finite", b.Factor)
	}
	return nil
}

func (k TaskKind) validate(f string) error {
	switch n := k.count(); {
	case n == 0:
		return invalid(f, "missing")
	case n > 1:
		return invalid(f, "exactly one kind must be set, got %d", n)
	}
	switch {
	case k.Subprocess != nil:
		return k.Subprocess.validate(f + ".subprocess")
	case k.Wasm != nil:
		if strings.TrimSpace(k.Wasm.Module) == "" {
			return invalid(f+".wasm.module", "must not be empty")
		}
	case k.Container != nil:
		if strings.TrimSpace(k.Container.Image) == "" {
			return invalid(f+".container.image", "must not be blank")
		}
	case k.Extension != nil:
		if !ValidKindType(k.Extension.Type) {
			return invalid(f+".extension.type", "%q must be 1-128 chars of [a-z0-9._/-], start and end with a letter or digit, and not be a solti kind", k.Extension.Type)
		}
	}
	return nil
}

func (s *SubprocessSpec) validate(f string) error {
	m := s.Mode
	switch {
	case m.Command != nil && m.Script != nil, m.Command == nil && m.Script == nil:
		return invalid(f+".mode", "exactly one of command and script must be set")
	case m.Command != nil:
		if strings.TrimSpace(m.Command.Command) == "" {
			return invalid(f+".mode.command.command", "must not be blank")
		}
	case m.Script != nil:
		if strings.TrimSpace(m.Script.Runtime) == "" {
			return invalid(f+".mode.script.runtime", "must not be blank")
		}
		// solti-model's rules for the body: not empty, at most 2 MiB decoded, UTF-8.
		switch b := m.Script.Body; {
		case len(b) == 0:
			return invalid(f+".mode.script.body", "must not be empty")
		case len(b) > MaxScriptBodyBytes:
			return invalid(f+".mode.script.body", "is %d bytes decoded, more than %d", len(b), MaxScriptBodyBytes)
		case !utf8.Valid(b):
			return invalid(f+".mode.script.body", "must decode to UTF-8 text")
		}
	}
	return nil
}

func (s *RunnerSelector) validate(f string) error {
	if err := validateLabels(f+".matchLabels", s.MatchLabels); err != nil {
		return err
	}
	for i, r := range s.MatchExpressions {
		rf := fmt.Sprintf("%s.matchExpressions[%d]", f, i)
		if !ValidLabelKey(r.Key) {
			return invalid(rf+".key", "invalid label key %q", r.Key)
		}
		switch r.Operator {
		case OpIn, OpNotIn:
			if len(r.Values) == 0 {
				return invalid(rf+".values", "operator %s needs at least one value", r.Operator)
			}
			for _, v := range r.Values {
				if !ValidLabelValue(v) {
					return invalid(rf+".values", "invalid label value %q", v)
				}
			}
		case OpExists, OpDoesNotExist:
			if len(r.Values) != 0 {
				return invalid(rf+".values", "operator %s takes no values", r.Operator)
			}
		default:
			return invalid(rf+".operator", "%q is not In, NotIn, Exists or DoesNotExist", r.Operator)
		}
	}
	return nil
}

// Validate checks that exactly one plan type is set and that its required fields are present.
func (p *Plan) Validate() error {
	if p == nil {
		return invalid("plan", "missing")
	}
	if n := p.count(); n != 1 {
		return invalid("plan", "exactly one of guest, exec and wasi must be set, got %d", n)
	}
	switch {
	case p.Exec != nil:
		if strings.TrimSpace(p.Exec.Command) == "" {
			return invalid("exec.command", "must not be blank")
		}
	case p.Wasi != nil:
		if strings.TrimSpace(p.Wasi.Module) == "" {
			return invalid("wasi.module", "must not be empty")
		}
		return validateMounts(p.Wasi.Mounts)
	}
	return nil
}

// validateMounts checks a wasi plan's mounts: absolute, clean guest paths, each at most once,
// and known modes.
func validateMounts(ms []WasiMount) error {
	seen := make(map[string]bool, len(ms))
	for i, m := range ms {
		f := "wasi.mounts[" + strconv.Itoa(i) + "]"
		switch g := m.Guest; {
		case g == "":
			return invalid(f+".guest", "must not be empty")
		case g[0] != '/' || path.Clean(g) != g || strings.IndexByte(g, 0) >= 0:
			return invalid(f+".guest", "%q is not an absolute, clean slash path (like /src)", g)
		case seen[g]:
			return invalid(f+".guest", "%q is asked for twice", g)
		}
		seen[m.Guest] = true
		switch m.Mode {
		case "", MountReadOnly, MountReadWrite:
		default:
			return invalid(f+".mode", "%q is not ro or rw", m.Mode)
		}
	}
	return nil
}
