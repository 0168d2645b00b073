// Command go is the conformance runner in Go: the contract is tests/conformance/README.md.
package main

import (
	"encoding/json"
	"fmt"
	"unsafe"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/guest-sdk/go/solti"
)

type conformance struct{}

// sink keeps the trapping load of op "trap" from being optimised away.
var sink byte

func (conformance) Name() string { return "conformance-go" }

func (conformance) Describe() abi.Description {
	return abi.Description{
		Version:     "1.0.0",
		Kinds:       []string{"conformance"},
		Labels:      map[string]string{"lang": "go", "suite": "conformance"},
		Description: "solti-wasm conformance runner",
	}
}

func (c conformance) Supports(s *solti.Spec) bool { yes, _ := c.CheckSupports(s); return yes }

func (conformance) CheckSupports(s *solti.Spec) (bool, error) {
	switch mode, _ := s.Label("conformance"); mode {
	case "error":
		return false, solti.Errorf(abi.CodeInternal, "supports failed on request")
	case "refuse":
		return false, nil
	}
	return s.Kind() == "conformance", nil
}

// spec is the conformance kind's extension spec; a pointer tells absent from empty.
type spec struct {
	Op      *string         `json:"op"`
	Text    *string         `json:"text"`
	Value   json.RawMessage `json:"value"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
}

type echo struct {
	RunID   string            `json:"runId"`
	Runner  string            `json:"runner"`
	Slot    string            `json:"slot"`
	Timeout int64             `json:"timeout"`
	Labels  map[string]string `json:"labels"`
	Env     abi.Env           `json:"env"`
	Text    string            `json:"text"`
	Value   json.RawMessage   `json:"value"`
}

func (conformance) Build(b *solti.BuildRequest) (*abi.Plan, error) {
	if len(b.Spec.ExtensionSpec()) == 0 {
		return nil, solti.Errorf(abi.CodeMissingField, "spec")
	}
	var s spec
	if err := json.Unmarshal(b.Spec.ExtensionSpec(), &s); err != nil {
		return nil, solti.Errorf(abi.CodeInvalidSpec, "%v", err)
	}
	if s.Op == nil {
		return nil, solti.Errorf(abi.CodeMissingField, "op")
	}
	switch *s.Op {
	case "echo":
		if s.Text == nil {
			return nil, solti.Errorf(abi.CodeMissingField, "text")
		}
		ts, err := b.Spec.Decode()
		if err != nil {
			return nil, err
		}
		e := echo{RunID: b.RunID, Runner: b.Runner, Slot: ts.Slot, Timeout: int64(ts.TimeoutMs), Labels: ts.Labels,
			Env: b.Env, Text: *s.Text, Value: s.Value}
		if e.Labels == nil {
			e.Labels = map[string]string{}
		}
		if e.Env == nil {
			e.Env = abi.Env{}
		}
		if e.Value == nil {
			e.Value = json.RawMessage("null")
		}
		return solti.GuestPlan(e)
	case "error":
		return nil, &abi.GuestError{Code: s.Code, Message: s.Message}
	case "trap":
		// A load beyond linear memory: a wasm trap, which no recover can catch.
		sink = *(*byte)(unsafe.Add(unsafe.Pointer(&s), 0xFFFFFFF0))
		return nil, solti.Errorf(abi.CodeInternal, "did not trap")
	case "badplan":
		return &abi.Plan{Exec: &abi.ExecPlan{}}, nil
	case "log":
		solti.Debug("conformance debug")
		solti.Info("conformance info")
		solti.Warn("conformance warn")
		solti.Error("conformance error")
		return &abi.Plan{Guest: &abi.GuestPlan{}}, nil
	}
	return nil, solti.Errorf(abi.CodeInvalidSpec, "unknown op %s", *s.Op)
}

func (conformance) Run(r *solti.RunRequest) ([]byte, error) {
	var f struct {
		Emit bool    `json:"emit"`
		Fail *string `json:"fail"`
	}
	if json.Unmarshal(r.Payload, &f) != nil {
		f.Emit, f.Fail = false, nil
	}
	if f.Emit {
		solti.Emit("conformance stdout ✓")
		solti.EmitErr("conformance stderr")
		fmt.Fprintf(solti.EmitWriter(abi.StreamStdout), "conformance %d\nconformance %d\n", 1, 2)
	}
	if f.Fail != nil {
		return nil, solti.Errorf(abi.CodeIO, "%s", *f.Fail)
	}
	env := r.Env
	if env == nil {
		env = abi.Env{}
	}
	payload := r.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	return json.Marshal(struct {
		RunID   string          `json:"runId"`
		Attempt int             `json:"attempt"`
		Env     abi.Env         `json:"env"`
		Payload json.RawMessage `json:"payload"`
	}{r.RunID, r.Attempt, env, payload})
}

func init() { solti.Register(conformance{}) }

func main() {}
