package abi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// A binder turns a parsed document (jsontree.go) into this package's types. It is the one
// decoder of the package: the host's strict parsers (ParseTaskSpec, ParseTask, ParsePlan,
// ParseDescription) and the lenient UnmarshalJSON methods that guests use both run it, so
// whatever the host accepts a guest decodes to the same value. The modes differ in one thing:
// strict refuses a key it does not know, lenient skips it (a newer host may add fields).
//
// Messages speak JSON, never Go: a field is named by its JSON path ("kind.wasm.module",
// "env[2].key"), a type by its JSON type ("want a string, got a number").
type binder struct {
	d      *jdoc
	strict bool
}

func (b *binder) fail(path, format string, args ...any) error {
	if path == "" {
		path = "(document)"
	}
	return invalid(path, format, args...)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// typeErr reports that node i is not what the field wants.
func (b *binder) typeErr(i int32, path, want string) error {
	return b.fail(path, "want %s, got %s", want, b.d.jsonType(i))
}

// unknown reports (strict) or skips (lenient) a key the type does not have.
func (b *binder) unknown(path, key string, known []string, hint string) error {
	if !b.strict {
		return nil
	}
	for _, k := range known {
		if strings.EqualFold(k, key) {
			return b.fail(join(path, key), "unknown field (field names are case-sensitive: did you mean %q?)", k)
		}
	}
	if hint != "" {
		return b.fail(join(path, key), "unknown field (%s)", hint)
	}
	for _, k := range known {
		if len(key) > 3 && editDistance(k, key, 2) <= 2 {
			return b.fail(join(path, key), "unknown field (did you mean %q?)", k)
		}
	}
	return b.fail(join(path, key), "unknown field (known: %s)", strings.Join(known, ", "))
}

// editDistance is the Levenshtein distance of a and b, or limit+1 once it exceeds limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// members calls f for every key of object i, in document order.
func (b *binder) members(i int32, path, want string, f func(key string, v int32) error) error {
	n := &b.d.nodes[i]
	if n.kind != jObj {
		return b.typeErr(i, path, want)
	}
	for j := n.kid; j < n.kid+2*n.n; j += 2 {
		if err := f(b.d.key(b.d.kids[j]), b.d.kids[j+1]); err != nil {
			return err
		}
	}
	return nil
}

func (b *binder) str(i int32, path string) (string, error) {
	if b.d.nodes[i].kind != jStr {
		return "", b.typeErr(i, path, "a string")
	}
	return b.d.text(i), nil
}

func (b *binder) boolean(i int32, path string) (bool, error) {
	n := &b.d.nodes[i]
	if n.kind != jBool {
		return false, b.typeErr(i, path, "true or false")
	}
	return n.truth, nil
}

// unit names what a number field counts, for messages.
func unit(path string) string {
	name := path[strings.LastIndexByte(path, '.')+1:]
	if name == "timeout" || strings.HasSuffix(name, "Ms") {
		return "a whole number of milliseconds"
	}
	return "a whole number"
}

// uint parses a non-negative integer literal of at most maxV (serde reads u64 fields only
// from integer literals: 1.0 and 1e3 are floats to it, and so they are refused here).
func (b *binder) uint(i int32, path string, maxV uint64) (uint64, error) {
	want := unit(path)
	if b.d.nodes[i].kind != jNum {
		return 0, b.typeErr(i, path, want)
	}
	lit := string(b.d.raw(i))
	if strings.HasPrefix(lit, "-") {
		if lit == "-0" {
			return 0, nil
		}
		return 0, b.fail(path, "want %s, got the negative number %s", want, lit)
	}
	if strings.ContainsAny(lit, ".eE") {
		return 0, b.fail(path, "want %s, got %s (write integers without a fraction or exponent)", want, lit)
	}
	v, err := strconv.ParseUint(lit, 10, 64)
	if err != nil || v > maxV {
		return 0, b.fail(path, "%s is too large (at most %d)", lit, maxV)
	}
	return v, nil
}

func (b *binder) float(i int32, path string) (float64, error) {
	if b.d.nodes[i].kind != jNum {
		return 0, b.typeErr(i, path, "a number")
	}
	v, err := strconv.ParseFloat(string(b.d.raw(i)), 64)
	if err != nil { // only a range error is possible after the parser's grammar check
		return 0, b.fail(path, "%s is out of range", b.d.raw(i))
	}
	return v, nil
}

func (b *binder) strings(i int32, path string) ([]string, error) {
	n := &b.d.nodes[i]
	if n.kind != jArr {
		return nil, b.typeErr(i, path, "an array of strings")
	}
	if n.n == 0 {
		return nil, nil // canonical JSON omits empty lists: empty and absent are one value
	}
	out := make([]string, n.n)
	for j := int32(0); j < n.n; j++ {
		s, err := b.str(b.d.kids[n.kid+j], index(path, int(j)))
		if err != nil {
			return nil, err
		}
		out[j] = s
	}
	return out, nil
}

func (b *binder) stringMap(i int32, path string) (map[string]string, error) {
	var m map[string]string
	err := b.members(i, path, "an object of strings", func(k string, v int32) error {
		s, err := b.str(v, join(path, k))
		if m == nil {
			m = make(map[string]string, b.d.nodes[i].n)
		}
		m[strings.Clone(k)] = s // k aliases the input (jdoc.key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// compact returns node i's bytes without insignificant white space: free JSON passes through
// as written, compacted so that canonical encodings hold no white space.
func (b *binder) compact(i int32) json.RawMessage { return compactRaw(b.d.raw(i)) }

// compactRaw returns a compacted copy of valid JSON.
func compactRaw(raw []byte) json.RawMessage {
	if bytes.IndexAny(raw, " \t\r\n") < 0 {
		return bytes.Clone(raw)
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return bytes.Clone(raw) // cannot happen: the parser accepted it
	}
	return buf.Bytes()
}

// env reads an environment: solti-model's ordered list [{"key":"K","value":"V"}] or, unless
// listOnly, the object {"K":"V"}. In a list a key may repeat and the last one wins, as
// solti-model's TaskEnv.get reads it; an object cannot repeat a key (duplicate keys are
// refused everywhere).
func (b *binder) env(i int32, path string, listOnly bool) (Env, error) {
	n := &b.d.nodes[i]
	switch {
	case n.kind == jObj && !listOnly:
		m, err := b.stringMap(i, path)
		return EnvFromMap(m), err
	case n.kind != jArr:
		if listOnly {
			return nil, b.typeErr(i, path, `a list of {"key","value"} objects`)
		}
		return nil, b.typeErr(i, path, `a list of {"key","value"} objects or an object of strings`)
	}
	if n.n == 0 {
		return nil, nil
	}
	m := make(map[string]string, n.n)
	for j := int32(0); j < n.n; j++ {
		p := index(path, int(j))
		var key, value string
		var hasKey, hasValue bool
		err := b.members(b.d.kids[n.kid+j], p, `an object {"key","value"}`, func(k string, v int32) error {
			var err error
			switch k {
			case "key":
				key, err = b.str(v, join(p, k))
				hasKey = true
			case "value":
				value, err = b.str(v, join(p, k))
				hasValue = true
			default:
				err = b.unknown(p, k, []string{"key", "value"}, "")
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if !hasKey {
			return nil, b.fail(join(p, "key"), "missing")
		}
		if !hasValue {
			return nil, b.fail(join(p, "value"), "missing")
		}
		m[key] = value // the last of a repeated key wins
	}
	return EnvFromMap(m), nil
}

// Struct binding by reflection, for the plain record types (policies, selectors, plans, the
// kinds' specs): a field is found by its exact JSON name, so a case variant is unknown.

type fieldInfo struct {
	name  string
	index int
}

type structInfo struct {
	fields []fieldInfo
	names  []string
}

var structCache sync.Map // reflect.Type -> *structInfo

func infoOf(t reflect.Type) *structInfo {
	if v, ok := structCache.Load(t); ok {
		return v.(*structInfo)
	}
	si := new(structInfo)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		si.fields = append(si.fields, fieldInfo{name, i})
		si.names = append(si.names, name)
	}
	v, _ := structCache.LoadOrStore(t, si)
	return v.(*structInfo)
}

var (
	rawType  = reflect.TypeOf(json.RawMessage(nil))
	envType  = reflect.TypeOf(Env(nil))
	modeType = reflect.TypeOf(SubprocessMode{})
)

// value binds node i into v, whose current contents are the defaults.
func (b *binder) value(i int32, path string, v reflect.Value) error {
	t := v.Type()
	switch t {
	case rawType:
		v.SetBytes(b.compact(i))
		return nil
	case envType:
		e, err := b.env(i, path, false)
		v.Set(reflect.ValueOf(e))
		return err
	case modeType:
		return b.mode(i, path, v.Addr().Interface().(*SubprocessMode), false)
	}
	switch t.Kind() {
	case reflect.String:
		s, err := b.str(i, path)
		v.SetString(s)
		return err
	case reflect.Bool:
		x, err := b.boolean(i, path)
		v.SetBool(x)
		return err
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x, err := b.uint(i, path, math.MaxUint64>>(64-t.Bits()))
		v.SetUint(x)
		return err
	case reflect.Int, reflect.Int32, reflect.Int64:
		x, err := b.uint(i, path, math.MaxInt64>>(64-t.Bits()))
		v.SetInt(int64(x))
		return err
	case reflect.Float64:
		x, err := b.float(i, path)
		v.SetFloat(x)
		return err
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return b.value(i, path, v.Elem())
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			data, err := b.base64(i, path)
			v.SetBytes(data)
			return err
		}
		n := &b.d.nodes[i]
		if n.kind != jArr {
			return b.typeErr(i, path, "an array")
		}
		if n.n == 0 {
			v.Set(reflect.Zero(t))
			return nil
		}
		s := reflect.MakeSlice(t, int(n.n), int(n.n))
		for j := 0; j < int(n.n); j++ {
			if err := b.value(b.d.kids[n.kid+int32(j)], index(path, j), s.Index(j)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map: // map[string]string: labels
		m, err := b.stringMap(i, path)
		if err != nil {
			return err
		}
		// Only map[string]string fields exist; Convert would pull its tables into guests.
		v.Set(reflect.ValueOf(m))
		return nil
	case reflect.Struct:
		si := infoOf(t)
		return b.members(i, path, "an object", func(k string, m int32) error {
			for _, f := range si.fields {
				if f.name == k {
					return b.value(m, join(path, k), v.Field(f.index))
				}
			}
			return b.unknown(path, k, si.names, "")
		})
	}
	return b.fail(path, "cannot be decoded") // a type this package never declares
}

// base64 decodes padded standard base64 (RFC 4648 §4), as serde's STANDARD engine does:
// unlike encoding/base64 it refuses line breaks inside the text.
func (b *binder) base64(i int32, path string) ([]byte, error) {
	s, err := b.str(i, path)
	if err != nil {
		return nil, b.typeErr(i, path, "a base64 string")
	}
	for j := 0; j < len(s); j++ {
		if c := s[j]; !(isAlnum(c) || c == '+' || c == '/' || c == '=') {
			return nil, b.fail(path, "invalid base64: byte %q at offset %d (want padded standard base64)", c, j)
		}
	}
	out, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, b.fail(path, "invalid base64 (want padded standard base64): %v", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// fill binds object i into the struct v.
func (b *binder) fill(i int32, path string, v any) error {
	return b.value(i, path, reflect.ValueOf(v).Elem())
}

// Task kinds, both generations.

// kind reads the ABI v1 (and solti-model's older) externally tagged kind.
func (b *binder) kind(i int32, path string) (TaskKind, error) {
	var k TaskKind
	n := &b.d.nodes[i]
	if n.kind == jStr {
		s := b.d.text(i)
		if s == KindEmbedded {
			k.Embedded = true
			return k, nil
		}
		return k, b.fail(path, "unknown task kind %q (want \"embedded\" or an object tagged subprocess, wasm, container or extension)", s)
	}
	if n.kind != jObj {
		return k, b.fail(path, "task kind: want an object with one key (subprocess, wasm, container or extension) or \"embedded\", got %s", b.d.jsonType(i))
	}
	if b.d.member(i, "apiVersion") >= 0 {
		return k, b.fail(path, "this is a workload {apiVersion, kind, spec}, the current generation's form: give it as \"workload\", not \"kind\"")
	}
	if n.n != 1 {
		return k, b.fail(path, "task kind: want an object with exactly one key, got %d", n.n)
	}
	tag, body := b.d.key(b.d.kids[n.kid]), b.d.kids[n.kid+1]
	p := join(path, tag)
	switch tag {
	case KindSubprocess:
		k.Subprocess = &SubprocessSpec{FailOnNonZero: true}
		return k, b.subprocess(body, p, k.Subprocess, false)
	case KindWasm:
		k.Wasm = new(WasmSpec)
		return k, b.fill(body, p, k.Wasm)
	case KindContainer:
		k.Container = new(ContainerSpec)
		return k, b.fill(body, p, k.Container)
	case KindExtension:
		k.Extension = new(ExtensionSpec)
		return k, b.extension(body, p, k.Extension)
	}
	return k, b.fail(path, "unknown task kind %q (want subprocess, wasm, container, extension or \"embedded\")", tag)
}

func (b *binder) extension(i int32, path string, e *ExtensionSpec) error {
	err := b.members(i, path, "an object", func(k string, v int32) error {
		switch k {
		case "type":
			var err error
			e.Type, err = b.str(v, join(path, k))
			return err
		case "spec":
			if d := b.d.depthOf(v); d > MaxExtensionDepth {
				return b.fail(join(path, k), "nested %d deep, more than the %d levels an extension spec may use", d, MaxExtensionDepth)
			}
			e.Spec = b.compact(v)
			return nil
		}
		return b.unknown(path, k, []string{"type", "spec"}, "")
	})
	return err
}

// subprocess reads a subprocess spec; g3 holds it to the current generation's rules (env as a
// list only).
func (b *binder) subprocess(i int32, path string, s *SubprocessSpec, g3 bool) error {
	return b.members(i, path, "an object", func(k string, v int32) error {
		p := join(path, k)
		var err error
		switch k {
		case "mode":
			err = b.mode(v, p, &s.Mode, g3)
		case "env":
			s.Env, err = b.env(v, p, g3)
		case "cwd":
			s.Cwd, err = b.str(v, p)
		case "failOnNonZero":
			s.FailOnNonZero, err = b.boolean(v, p)
		default:
			err = b.unknown(path, k, []string{"mode", "env", "cwd", "failOnNonZero"}, "")
		}
		return err
	})
}

// Runtimes of solti-model's older script mode ("runtime"), with the flag that makes each run
// a program given as an argument.
var olderRuntimes = map[string]string{"bash": "-c", "python": "-c", "node": "-e"}

func (b *binder) mode(i int32, path string, m *SubprocessMode, g3 bool) error {
	*m = SubprocessMode{}
	n := &b.d.nodes[i]
	if n.kind != jObj {
		return b.fail(path, "subprocess mode: want an object with one key (command or script), got %s", b.d.jsonType(i))
	}
	if n.n != 1 {
		return b.fail(path, "subprocess mode: want an object with exactly one key (command or script), got %d", n.n)
	}
	tag, body := b.d.key(b.d.kids[n.kid]), b.d.kids[n.kid+1]
	p := join(path, tag)
	switch tag {
	case "command":
		m.Command = new(CommandMode)
		return b.fill(body, p, m.Command)
	case "script":
		m.Script = new(ScriptMode)
		return b.script(body, p, m.Script, g3)
	}
	return b.fail(path, "unknown subprocess mode %q (want command or script)", tag)
}

// script reads a script mode in either spelling: the current "interpreter" (any command), or
// the older "runtime", which in a current-generation document is solti-model's enum
// bash|python|node|{"custom":{"command","flag"}} and in an ABI v1 document is also any
// interpreter name (the form this host writes for guests).
func (b *binder) script(i int32, path string, s *ScriptMode, g3 bool) error {
	var haveRuntime, haveInterp bool
	err := b.members(i, path, "an object", func(k string, v int32) error {
		p := join(path, k)
		var err error
		switch k {
		case "interpreter":
			haveInterp = true
			s.Runtime, err = b.str(v, p)
		case "runtime":
			haveRuntime = true
			err = b.runtime(v, p, s, g3)
		case "body":
			s.Body, err = b.base64(v, p)
		case "args":
			s.Args, err = b.strings(v, p)
		case "flag":
			if g3 {
				return b.unknown(path, k, []string{"interpreter", "body", "args"}, "a custom runtime's flag goes in runtime.custom.flag")
			}
			s.Flag, err = b.str(v, p)
		default:
			err = b.unknown(path, k, []string{"interpreter", "runtime", "body", "args"}, "")
		}
		return err
	})
	if err != nil {
		return err
	}
	if haveRuntime && haveInterp {
		return b.fail(path, "give one of interpreter (current) and runtime (older), not both")
	}
	if !haveRuntime && !haveInterp {
		return b.fail(join(path, "interpreter"), "missing (or runtime, in the older form)")
	}
	return nil
}

func (b *binder) runtime(i int32, path string, s *ScriptMode, g3 bool) error {
	n := &b.d.nodes[i]
	switch n.kind {
	case jStr:
		name := b.d.text(i)
		if _, ok := olderRuntimes[name]; !ok && g3 {
			return b.fail(path, "%q is not bash, python, node or {\"custom\":{\"command\",\"flag\"}}; for any other interpreter write \"interpreter\":%q", name, name)
		}
		s.Runtime = name
		return nil
	case jObj:
		if n.n != 1 || !b.d.keyIs(b.d.kids[n.kid], "custom") {
			return b.fail(path, `want "bash", "python", "node" or {"custom":{"command","flag"}}`)
		}
		p := join(path, "custom")
		var haveCmd, haveFlag bool
		err := b.members(b.d.kids[n.kid+1], p, `an object {"command","flag"}`, func(k string, v int32) error {
			var err error
			switch k {
			case "command":
				haveCmd = true
				s.Runtime, err = b.str(v, join(p, k))
			case "flag":
				haveFlag = true
				s.Flag, err = b.str(v, join(p, k))
			default:
				err = b.unknown(p, k, []string{"command", "flag"}, "")
			}
			return err
		})
		if err != nil {
			return err
		}
		if !haveCmd {
			return b.fail(join(p, "command"), "missing")
		}
		if !haveFlag {
			return b.fail(join(p, "flag"), "missing")
		}
		return nil
	}
	return b.typeErr(i, path, `"bash", "python", "node" or {"custom":{"command","flag"}}`)
}

// workload reads the current generation's {apiVersion, kind, spec}.
func (b *binder) workload(i int32, path string) (TaskKind, error) {
	var k TaskKind
	var apiVersion, kind string
	spec := int32(-1)
	err := b.members(i, path, `an object {"apiVersion","kind","spec"}`, func(key string, v int32) error {
		var err error
		switch key {
		case "apiVersion":
			apiVersion, err = b.str(v, join(path, key))
		case "kind":
			if b.d.nodes[v].kind == jObj {
				return b.fail(join(path, key), "want a kind name such as \"Subprocess\", got an object (the older generation's tagged kind goes in \"kind\" beside slot, not in a workload)")
			}
			kind, err = b.str(v, join(path, key))
		case "spec":
			spec = v
		default:
			err = b.unknown(path, key, []string{"apiVersion", "kind", "spec"}, "")
		}
		return err
	})
	if err != nil {
		return k, err
	}
	switch {
	case apiVersion == "" && b.d.member(i, "apiVersion") < 0:
		return k, b.fail(join(path, "apiVersion"), "missing")
	case kind == "" && b.d.member(i, "kind") < 0:
		return k, b.fail(join(path, "kind"), "missing")
	case spec < 0:
		return k, b.fail(join(path, "spec"), "missing")
	}
	sp := join(path, "spec")
	if apiVersion == BuiltinAPIVersion {
		switch kind {
		case "Subprocess":
			k.Subprocess = &SubprocessSpec{FailOnNonZero: true}
			if err := b.subprocess(spec, sp, k.Subprocess, true); err != nil {
				return k, err
			}
			if k.Subprocess.Mode.Command == nil && k.Subprocess.Mode.Script == nil {
				return k, b.fail(join(sp, "mode"), "missing")
			}
			return k, nil
		case "Wasm":
			k.Wasm = new(WasmSpec)
			return k, b.builtin(spec, sp, k.Wasm)
		case "Container":
			k.Container = new(ContainerSpec)
			return k, b.builtin(spec, sp, k.Container)
		case "Embedded":
			return k, b.fail(join(path, "kind"), "Embedded tasks run inside the host and cannot be submitted (solti's API refuses them too)")
		}
		return k, b.fail(join(path, "kind"), "%q is not a built-in kind of %s (Subprocess, Wasm, Container or Embedded); an extension kind needs its own API group", kind, BuiltinAPIVersion)
	}
	gvk, err := ParseAPIVersion(apiVersion, kind)
	if err != nil {
		return k, b.fail(join(path, "apiVersion"), "%v", err)
	}
	if b.d.nodes[spec].kind != jObj {
		return k, b.typeErr(spec, sp, "an object (an extension's spec)")
	}
	if d := b.d.depthOf(spec); d > MaxExtensionDepth {
		return k, b.fail(sp, "nested %d deep, more than the %d levels an extension spec may use", d, MaxExtensionDepth)
	}
	k.Extension = &ExtensionSpec{Type: gvk.Type(), Spec: b.compact(spec)}
	return k, nil
}

// builtin binds a built-in workload's spec, whose env is a list in this generation.
func (b *binder) builtin(i int32, path string, v any) error {
	rv := reflect.ValueOf(v).Elem()
	si := infoOf(rv.Type())
	return b.members(i, path, "an object", func(k string, m int32) error {
		for _, f := range si.fields {
			if f.name != k {
				continue
			}
			if k == "env" {
				e, err := b.env(m, join(path, k), true)
				rv.Field(f.index).Set(reflect.ValueOf(e))
				return err
			}
			return b.value(m, join(path, k), rv.Field(f.index))
		}
		return b.unknown(path, k, si.names, "")
	})
}

// Task specs and manifests.

var (
	v1SpecFields = []string{"slot", "kind", "timeout", "restart", "backoff", "admission", "maxRetries", "runnerSelector", "labels"}
	g3SpecFields = []string{"slot", "workload", "timeout", "restart", "backoff", "admission", "maxRetries", "runnerSelector"}
)

// taskDoc reads what may stand where a TaskSpec is expected: a TaskSpec of either generation,
// or a whole Task manifest, whose metadata.labels become the spec's labels.
func (b *binder) taskDoc(i int32) (*Task, error) {
	if b.d.nodes[i].kind != jObj {
		return nil, b.typeErr(i, "", "an object (a TaskSpec or a Task manifest)")
	}
	if b.isManifest(i) {
		return b.manifest(i)
	}
	g3 := b.d.member(i, "workload") >= 0
	s, err := b.spec(i, "", g3)
	if err != nil {
		return nil, err
	}
	return &Task{Spec: *s, g3: g3}, nil
}

// isManifest: a manifest has apiVersion or metadata, or kind "Task".
func (b *binder) isManifest(i int32) bool {
	if b.d.member(i, "apiVersion") >= 0 || b.d.member(i, "metadata") >= 0 {
		return true
	}
	k := b.d.member(i, "kind")
	return k >= 0 && b.d.nodes[k].kind == jStr && b.d.text(k) == "Task"
}

func (b *binder) manifest(i int32) (*Task, error) {
	t := &Task{g3: true}
	spec := int32(-1)
	var haveMeta bool
	err := b.members(i, "", "an object", func(k string, v int32) error {
		var err error
		switch k {
		case "apiVersion":
			t.APIVersion, err = b.str(v, k)
		case "kind":
			t.Kind, err = b.str(v, k)
		case "metadata":
			haveMeta = true
			err = b.fill(v, k, &t.Metadata)
		case "spec":
			spec = v
		case "status":
			// Written by the server; kubectl-style clients send what they read. Its shape is the
			// server's business: it must be an object and is otherwise ignored.
			if b.d.nodes[v].kind != jObj {
				err = b.typeErr(v, k, "an object")
			}
		default:
			err = b.unknown("", k, []string{"apiVersion", "kind", "metadata", "spec", "status"}, "")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if t.APIVersion != BuiltinAPIVersion {
		if b.d.member(i, "apiVersion") < 0 {
			return nil, b.fail("apiVersion", "missing (a Task manifest has apiVersion %q)", BuiltinAPIVersion)
		}
		return nil, b.fail("apiVersion", "%q is not %q", t.APIVersion, BuiltinAPIVersion)
	}
	if t.Kind != "Task" {
		if b.d.member(i, "kind") < 0 {
			return nil, b.fail("kind", "missing (a Task manifest has kind \"Task\")")
		}
		return nil, b.fail("kind", "%q is not \"Task\"", t.Kind)
	}
	if !haveMeta {
		return nil, b.fail("metadata", "missing")
	}
	if spec < 0 {
		return nil, b.fail("spec", "missing")
	}
	if b.d.nodes[spec].kind != jObj {
		return nil, b.typeErr(spec, "spec", "an object (a TaskSpec)")
	}
	if b.d.member(spec, "workload") < 0 && b.d.member(spec, "kind") >= 0 {
		return nil, b.fail("spec.kind", "a Task manifest's spec is of the current generation: it has workload {apiVersion, kind, spec} where the older TaskSpec has kind")
	}
	s, err := b.spec(spec, "spec", true)
	if err != nil {
		return nil, err
	}
	s.Labels = t.Metadata.Labels
	t.Spec = *s
	return t, nil
}

// spec reads a TaskSpec: the current generation's (g3: workload, every policy required,
// maxRetries >= 1, labels in metadata) or ABI v1's, which is solti-model's older one (kind,
// policies defaulted, maxRetries 0 = unlimited, labels in the spec).
func (b *binder) spec(i int32, path string, g3 bool) (*TaskSpec, error) {
	s := &TaskSpec{Restart: RestartPolicy{Type: RestartNever}, Backoff: DefaultBackoff(), Admission: AdmissionDropIfRunning}
	known := v1SpecFields
	if g3 {
		known = g3SpecFields
		s.Backoff = BackoffPolicy{}
	}
	seen := map[string]bool{}
	err := b.members(i, path, "an object", func(k string, v int32) error {
		p := join(path, k)
		seen[k] = true
		var err error
		switch k {
		case "slot":
			s.Slot, err = b.str(v, p)
		case "kind":
			if g3 {
				return b.fail(p, "give one of workload (current) and kind (older), not both")
			}
			s.Kind, err = b.kind(v, p)
		case "workload":
			if !g3 {
				return b.fail(p, "give one of workload (current) and kind (older), not both")
			}
			s.Kind, err = b.workload(v, p)
		case "timeout":
			s.TimeoutMs, err = b.uint(v, p, math.MaxUint64)
		case "restart":
			err = b.fill(v, p, &s.Restart)
		case "backoff":
			err = b.fill(v, p, &s.Backoff)
		case "admission":
			var a string
			a, err = b.str(v, p)
			s.Admission = AdmissionPolicy(a)
		case "maxRetries":
			var n uint64
			n, err = b.uint(v, p, math.MaxUint32)
			if err == nil && n == 0 && g3 {
				err = b.fail(p, "must be >= 1 in the current generation (leave it out for unlimited retries)")
			}
			s.MaxRetries = uint32(n)
		case "runnerSelector":
			s.RunnerSelector = new(RunnerSelector)
			err = b.fill(v, p, s.RunnerSelector)
		case "labels":
			if g3 {
				return b.unknown(path, k, nil, "in the current generation labels live in the Task manifest's metadata.labels")
			}
			s.Labels, err = b.stringMap(v, p)
		default:
			err = b.unknown(path, k, known, "")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if g3 && b.strict {
		// serde: every one of these is a required field of the current spec.
		for _, k := range []string{"slot", "workload", "timeout", "restart", "backoff", "admission"} {
			if !seen[k] {
				return nil, b.fail(join(path, k), "missing (required in the current generation's spec)")
			}
		}
		if r := b.d.member(i, "restart"); b.d.member(r, "type") < 0 {
			return nil, b.fail(join(join(path, "restart"), "type"), "missing (required in the current generation's spec)")
		}
		if bo := b.d.member(i, "backoff"); bo >= 0 {
			for _, k := range []string{"jitter", "firstMs", "maxMs", "factor"} {
				if b.d.member(bo, k) < 0 {
					return nil, b.fail(join(join(path, "backoff"), k), "missing (required in the current generation's spec)")
				}
			}
		}
	}
	if !seen["kind"] && !seen["workload"] && b.strict {
		return nil, b.fail(join(path, "kind"), "missing (or workload, in the current generation's form)")
	}
	return s, nil
}

// Plans and descriptions.

func (b *binder) plan(i int32) (*Plan, error) {
	p := &Plan{}
	n := &b.d.nodes[i]
	if n.kind != jObj {
		return nil, b.fail("plan", "want an object with one key (guest, exec or wasi), got %s", b.d.jsonType(i))
	}
	if n.n != 1 {
		return nil, b.fail("plan", "want an object with exactly one key (guest, exec or wasi), got %d", n.n)
	}
	tag, body := b.d.key(b.d.kids[n.kid]), b.d.kids[n.kid+1]
	switch tag {
	case PlanGuest:
		p.Guest = new(GuestPlan)
		return p, b.fill(body, tag, p.Guest)
	case PlanExec:
		p.Exec = &ExecPlan{FailOnNonZero: true}
		return p, b.fill(body, tag, p.Exec)
	case PlanWasi:
		p.Wasi = new(WasiPlan)
		return p, b.fill(body, tag, p.Wasi)
	}
	return nil, b.fail("plan", "unknown plan type %q (want guest, exec or wasi)", tag)
}

// decodeWith parses data and binds it with f; what names the document in syntax errors.
func decodeWith[T any](data []byte, what string, strict bool, f func(*binder, int32) (T, error)) (T, error) {
	var zero T
	d, err := parseJSON(data, MaxDepth)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	defer d.release()
	b := binder{d: d, strict: strict}
	return f(&b, int32(len(d.nodes)-1)) // the root is the last node added
}

// GVK is a Kubernetes-style group, version and kind: how the current generation of solti's
// model names a workload (`{"apiVersion":"group/version","kind":"Kind"}`).
type GVK struct {
	Group, Version, Kind string
}

// BuiltinAPIVersion is the apiVersion of solti's built-in workloads and of the Task manifest.
const BuiltinAPIVersion = "solti.io/v1"

// Type is the extension kind type that stands for g in ABI v1: "group/version/Kind", for
// example "example.com/v1/HttpCheck". The mapping is one-to-one and ParseKindType inverts it,
// so a runner claims a GVK by listing this string in describe.kinds.
func (g GVK) Type() string { return g.Group + "/" + g.Version + "/" + g.Kind }

// APIVersion is "group/version".
func (g GVK) APIVersion() string { return g.Group + "/" + g.Version }

// ParseAPIVersion checks an extension workload's apiVersion and kind by the rules of
// Kubernetes custom resources: the group a DNS subdomain with at least one dot and not
// solti.io, the version a DNS-1035 label, the kind a DNS-1035 label once lower-cased.
func ParseAPIVersion(apiVersion, kind string) (GVK, error) {
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok || strings.Contains(version, "/") {
		return GVK{}, fmt.Errorf("%q is not group/version (an extension kind needs an API group, e.g. example.com/v1)", apiVersion)
	}
	g := GVK{group, version, kind}
	if err := g.validate(); err != nil {
		return GVK{}, err
	}
	return g, nil
}

func (g GVK) validate() error {
	switch {
	case g.Group == "solti.io":
		return fmt.Errorf("group solti.io is reserved for built-in kinds (%s)", BuiltinAPIVersion)
	case !validDNSSubdomain(g.Group) || !strings.Contains(g.Group, "."):
		return fmt.Errorf("group %q must be a DNS subdomain with at least one dot (e.g. example.com)", g.Group)
	case !validDNS1035(g.Version):
		return fmt.Errorf("version %q must be 1-63 chars of [a-z0-9-], start with a letter and end with a letter or digit", g.Version)
	case !validDNS1035(strings.ToLower(g.Kind)) || !allOf(g.Kind, 63, func(c byte) bool { return isAlnum(c) || c == '-' }):
		return fmt.Errorf("kind %q must be 1-63 chars of [A-Za-z0-9-], start with a letter and end with a letter or digit", g.Kind)
	}
	return nil
}

// ParseKindType reads an extension kind type written by GVK.Type. ok is false for a type of
// another shape (a plain ABI v1 extension type such as "http-check").
func ParseKindType(t string) (GVK, bool) {
	i := strings.IndexByte(t, '/')
	j := strings.LastIndexByte(t, '/')
	if i < 0 || i == j {
		return GVK{}, false
	}
	g := GVK{t[:i], t[i+1 : j], t[j+1:]}
	if g.validate() != nil {
		return GVK{}, false
	}
	return g, true
}

// validDNS1035: 1-63 chars of [a-z0-9-], starting with a letter, ending with a letter or digit.
func validDNS1035(s string) bool {
	return allOf(s, 63, func(c byte) bool { return isLowerAlnum(c) || c == '-' }) &&
		'a' <= s[0] && s[0] <= 'z' && isLowerAlnum(s[len(s)-1])
}
