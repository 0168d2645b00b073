package abi

import (
	"encoding/json"
	"errors"
)

// Names of the solti-model task kinds. An extension kind is named by its Type.
const (
	KindSubprocess = "subprocess"
	KindWasm       = "wasm"
	KindContainer  = "container"
	KindEmbedded   = "embedded"
	KindExtension  = "extension" // the JSON tag; the kind's name is ExtensionSpec.Type
)

// TaskKind is the workload of a task. Exactly one field is set (Embedded counts when true).
// JSON is externally tagged: {"subprocess":{...}}, {"wasm":{...}}, {"container":{...}},
// "embedded", or {"extension":{"type":"...","spec":{...}}}.
type TaskKind struct {
	Subprocess *SubprocessSpec
	Wasm       *WasmSpec
	Container  *ContainerSpec
	Extension  *ExtensionSpec
	// Embedded tasks run inside the host process; they are never routable.
	Embedded bool
}

// Name is the kind's routing name: "subprocess", "wasm", "container", "embedded", the
// extension's type, or "" when no kind is set.
func (k TaskKind) Name() string {
	switch {
	case k.Subprocess != nil:
		return KindSubprocess
	case k.Wasm != nil:
		return KindWasm
	case k.Container != nil:
		return KindContainer
	case k.Extension != nil:
		return k.Extension.Type
	case k.Embedded:
		return KindEmbedded
	}
	return ""
}

func (k TaskKind) count() int {
	n := 0
	for _, set := range []bool{k.Subprocess != nil, k.Wasm != nil, k.Container != nil, k.Extension != nil, k.Embedded} {
		if set {
			n++
		}
	}
	return n
}

// MarshalJSON encodes the externally tagged form.
func (k TaskKind) MarshalJSON() ([]byte, error) {
	if k.count() != 1 {
		return nil, errors.New("task kind: exactly one kind must be set")
	}
	switch {
	case k.Embedded:
		return []byte(`"embedded"`), nil
	case k.Subprocess != nil:
		return tagged(KindSubprocess, k.Subprocess)
	case k.Wasm != nil:
		return tagged(KindWasm, k.Wasm)
	case k.Container != nil:
		return tagged(KindContainer, k.Container)
	default:
		return tagged(KindExtension, k.Extension)
	}
}

// UnmarshalJSON decodes the externally tagged form leniently (unknown keys inside a kind are
// skipped); an unknown tag is an error that lists the known ones.
func (k *TaskKind) UnmarshalJSON(data []byte) error {
	v, err := decodeWith(data, "task kind", false, func(b *binder, i int32) (TaskKind, error) { return b.kind(i, "kind") })
	*k = v
	return err
}

// SubprocessSpec runs a command or a script as a child process.
type SubprocessSpec struct {
	Mode SubprocessMode `json:"mode"`
	Env  Env            `json:"env,omitempty"`
	Cwd  string         `json:"cwd,omitempty"`
	// FailOnNonZero makes a non-zero exit a failure. Default true.
	FailOnNonZero bool `json:"failOnNonZero"`
}

// UnmarshalJSON decodes leniently and applies the default FailOnNonZero = true.
func (s *SubprocessSpec) UnmarshalJSON(data []byte) error {
	v := SubprocessSpec{FailOnNonZero: true}
	_, err := decodeWith(data, "subprocess spec", false, func(b *binder, i int32) (struct{}, error) {
		return struct{}{}, b.subprocess(i, "", &v, false)
	})
	*s = v
	return err
}

// SubprocessMode is {"command":{...}} or {"script":{...}}.
type SubprocessMode struct {
	Command *CommandMode
	Script  *ScriptMode
}

// CommandMode runs Command with Args.
type CommandMode struct {
	Command string   `json:"command"`
	Args    []string `json:"args,omitempty"`
}

// ScriptMode runs Body (base64 in JSON) with the interpreter Runtime. Documents may name the
// interpreter "interpreter" (solti-model's current field) or "runtime" (its older one, and the
// canonical field guests read); an older custom runtime {"custom":{"command","flag"}} sets
// Runtime to the command and Flag to its flag.
type ScriptMode struct {
	Runtime string   `json:"runtime"`
	Body    []byte   `json:"body"`
	Args    []string `json:"args,omitempty"`
	// Flag, if set, is the interpreter's flag that runs a program given as an argument ("-c"),
	// from an older custom runtime. Added within v1: empty means the runner picks.
	Flag string `json:"flag,omitempty"`
}

// MarshalJSON encodes the externally tagged form.
func (m SubprocessMode) MarshalJSON() ([]byte, error) {
	switch {
	case m.Command != nil && m.Script == nil:
		return tagged("command", m.Command)
	case m.Script != nil && m.Command == nil:
		return tagged("script", m.Script)
	}
	return nil, errors.New("subprocess mode: exactly one of command and script must be set")
}

// UnmarshalJSON decodes the externally tagged form leniently.
func (m *SubprocessMode) UnmarshalJSON(data []byte) error {
	_, err := decodeWith(data, "subprocess mode", false, func(b *binder, i int32) (struct{}, error) {
		return struct{}{}, b.mode(i, "mode", m, false)
	})
	return err
}

// WasmSpec runs a WASI command module.
type WasmSpec struct {
	Module string   `json:"module"`
	Args   []string `json:"args,omitempty"`
	Env    Env      `json:"env,omitempty"`
}

// ContainerSpec runs an OCI image.
type ContainerSpec struct {
	Image   string   `json:"image"`
	Command []string `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	Env     Env      `json:"env,omitempty"`
}

// ExtensionSpec is a kind that the host does not know and a plugin runner handles: a type name
// (see ValidKindType) and a free JSON spec, kept compact.
type ExtensionSpec struct {
	Type string          `json:"type"`
	Spec json.RawMessage `json:"spec,omitempty"`
}

// UnmarshalJSON keeps Spec compact so the canonical encoding holds no whitespace.
func (e *ExtensionSpec) UnmarshalJSON(data []byte) error {
	var v ExtensionSpec
	_, err := decodeWith(data, "extension", false, func(b *binder, i int32) (struct{}, error) {
		return struct{}{}, b.extension(i, "extension", &v)
	})
	*e = v
	return err
}

func tagged(tag string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(tag)+len(body)+5)
	out = append(out, '{', '"')
	out = append(out, tag...)
	out = append(out, '"', ':')
	out = append(out, body...)
	return append(out, '}'), nil
}
