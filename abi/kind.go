package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// UnmarshalJSON decodes the externally tagged form; an unknown tag is an error that lists the
// known ones.
func (k *TaskKind) UnmarshalJSON(data []byte) error {
	*k = TaskKind{}
	if s, ok := jsonString(data); ok {
		if s == KindEmbedded {
			k.Embedded = true
			return nil
		}
		return fmt.Errorf("unknown task kind %q (want \"embedded\" or an object tagged subprocess, wasm, container or extension)", s)
	}
	tag, body, err := oneKey(data, "task kind")
	if err != nil {
		return err
	}
	switch tag {
	case KindSubprocess:
		k.Subprocess = new(SubprocessSpec)
		return decode(body, k.Subprocess)
	case KindWasm:
		k.Wasm = new(WasmSpec)
		return decode(body, k.Wasm)
	case KindContainer:
		k.Container = new(ContainerSpec)
		return decode(body, k.Container)
	case KindExtension:
		k.Extension = new(ExtensionSpec)
		return decode(body, k.Extension)
	}
	return fmt.Errorf("unknown task kind %q (want subprocess, wasm, container, extension or \"embedded\")", tag)
}

// SubprocessSpec runs a command or a script as a child process.
type SubprocessSpec struct {
	Mode SubprocessMode `json:"mode"`
	Env  Env            `json:"env,omitempty"`
	Cwd  string         `json:"cwd,omitempty"`
	// FailOnNonZero makes a non-zero exit a failure. Default true.
	FailOnNonZero bool `json:"failOnNonZero"`
}

// UnmarshalJSON applies the default FailOnNonZero = true.
func (s *SubprocessSpec) UnmarshalJSON(data []byte) error {
	type plain SubprocessSpec
	v := plain{FailOnNonZero: true}
	if err := decode(data, &v); err != nil {
		return err
	}
	*s = SubprocessSpec(v)
	return nil
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

// ScriptMode runs Body (base64 in JSON) with the interpreter Runtime.
type ScriptMode struct {
	Runtime string   `json:"runtime"`
	Body    []byte   `json:"body"`
	Args    []string `json:"args,omitempty"`
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

// UnmarshalJSON decodes the externally tagged form.
func (m *SubprocessMode) UnmarshalJSON(data []byte) error {
	*m = SubprocessMode{}
	tag, body, err := oneKey(data, "subprocess mode")
	if err != nil {
		return err
	}
	switch tag {
	case "command":
		m.Command = new(CommandMode)
		return decode(body, m.Command)
	case "script":
		m.Script = new(ScriptMode)
		return decode(body, m.Script)
	}
	return fmt.Errorf("unknown subprocess mode %q (want command or script)", tag)
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
	type plain ExtensionSpec
	var v plain
	if err := decode(data, &v); err != nil {
		return err
	}
	if len(v.Spec) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, v.Spec); err != nil {
			return err
		}
		v.Spec = buf.Bytes()
	}
	*e = ExtensionSpec(v)
	return nil
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

// oneKey splits an object that must have exactly one key.
func oneKey(data []byte, what string) (string, []byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return "", nil, fmt.Errorf("%s: want an object with one key: %w", what, err)
	}
	if len(m) != 1 {
		return "", nil, fmt.Errorf("%s: want an object with exactly one key, got %d", what, len(m))
	}
	for k, v := range m {
		return k, v, nil
	}
	panic("unreachable")
}

func jsonString(data []byte) (string, bool) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(data, &s) != nil {
		return "", false
	}
	return s, true
}
