package abi

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Plan types.
const (
	PlanGuest = "guest"
	PlanExec  = "exec"
	PlanWasi  = "wasi"
)

// Plan is what build returns: a self-contained description of the work that the host can
// execute, persist and retry. Exactly one field is set. JSON is externally tagged:
// {"guest":{...}}, {"exec":{...}} or {"wasi":{...}}.
type Plan struct {
	Guest *GuestPlan
	Exec  *ExecPlan
	Wasi  *WasiPlan
}

// GuestPlan asks the host to call the same module's run export with Payload, in a sandboxed
// instance.
type GuestPlan struct {
	Payload json.RawMessage `json:"payload,omitempty"`
}

// ExecPlan is a subprocess, executed only where the host's policy allows the command.
type ExecPlan struct {
	Command string   `json:"command"`
	Args    []string `json:"args,omitempty"`
	Env     Env      `json:"env,omitempty"`
	Cwd     string   `json:"cwd,omitempty"`
	// FailOnNonZero makes a non-zero exit a failure. Default true.
	FailOnNonZero bool `json:"failOnNonZero"`
}

// UnmarshalJSON decodes leniently and applies the default FailOnNonZero = true.
func (p *ExecPlan) UnmarshalJSON(data []byte) error {
	v := ExecPlan{FailOnNonZero: true}
	_, err := decodeWith(data, "exec plan", false, func(b *binder, i int32) (struct{}, error) {
		return struct{}{}, b.fill(i, "exec", &v)
	})
	*p = v
	return err
}

// WasiPlan runs a WASI command module with Args, Env, Stdin and the Mounts it asks for, and
// nothing else granted.
type WasiPlan struct {
	Module string   `json:"module"`
	Args   []string `json:"args,omitempty"`
	Env    Env      `json:"env,omitempty"`
	// Stdin is what the command reads from its standard input (padded standard base64 in
	// JSON), bounded by the host's input limit; empty: stdin is at end of file.
	Stdin []byte `json:"stdin,omitempty"`
	// Mounts are the host directories the command asks for, by guest path. The host mounts
	// only these, and only where its operator's policy grants them; it refuses the plan
	// otherwise.
	Mounts []WasiMount `json:"mounts,omitempty"`
}

// Mount modes of a WasiMount.
const (
	MountReadOnly  = "ro"
	MountReadWrite = "rw"
)

// WasiMount is a directory a wasi plan asks for.
type WasiMount struct {
	// Guest is where the directory appears to the command: an absolute, clean slash path
	// ("/src"), which names the grant in the host's policy.
	Guest string `json:"guest"`
	// Mode is MountReadOnly, MountReadWrite (refused unless the grant is read-write), or
	// empty: as granted.
	Mode string `json:"mode,omitempty"`
}

// Type is PlanGuest, PlanExec, PlanWasi, or "" when none is set.
func (p *Plan) Type() string {
	switch {
	case p.Guest != nil:
		return PlanGuest
	case p.Exec != nil:
		return PlanExec
	case p.Wasi != nil:
		return PlanWasi
	}
	return ""
}

func (p *Plan) count() int {
	n := 0
	for _, set := range []bool{p.Guest != nil, p.Exec != nil, p.Wasi != nil} {
		if set {
			n++
		}
	}
	return n
}

// MarshalJSON encodes the externally tagged form.
func (p Plan) MarshalJSON() ([]byte, error) {
	if p.count() != 1 {
		return nil, errors.New("plan: exactly one of guest, exec and wasi must be set")
	}
	switch {
	case p.Guest != nil:
		return tagged(PlanGuest, p.Guest)
	case p.Exec != nil:
		return tagged(PlanExec, p.Exec)
	default:
		return tagged(PlanWasi, p.Wasi)
	}
}

// UnmarshalJSON decodes the externally tagged form leniently (unknown keys inside a plan type
// are skipped).
func (p *Plan) UnmarshalJSON(data []byte) error {
	v, err := decodeWith(data, "plan", false, (*binder).plan)
	if err != nil {
		return err
	}
	*p = *v
	return nil
}

// ParsePlan decodes and validates a plan strictly, as the host does with build's output: a
// field the host does not know is an error, since the host cannot execute what it does not
// understand. Duplicate keys and nesting deeper than MaxDepth are refused, in the payload too.
func ParsePlan(data []byte) (*Plan, error) {
	if p, ok := parseCompactGuest(data); ok {
		return p, nil
	}
	return parsePlanFull(data)
}

// parsePlanFull is ParsePlan without the fast path.
func parsePlanFull(data []byte) (*Plan, error) {
	p, err := decodeWith(data, "plan", true, (*binder).plan)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

var (
	compactGuestPrefix = []byte(`{"guest":{"payload":`)
	compactGuestSuffix = []byte(`}}`)
)

// parseCompactGuest is ParsePlan's fast path for the plan every SDK writes: exactly
// {"guest":{"payload":P}} with P one valid JSON value. Those exact bytes leave no room for an
// unknown or wrongly cased field, so the strict round trip is not needed; it costs ~15x more
// than the guest's whole build call on small runners (BENCHMARKS.md).
func parseCompactGuest(data []byte) (*Plan, bool) {
	if !bytes.HasPrefix(data, compactGuestPrefix) || !bytes.HasSuffix(data, compactGuestSuffix) {
		return nil, false
	}
	payload := data[len(compactGuestPrefix) : len(data)-len(compactGuestSuffix)]
	// The payload sits two levels down; any fault in it (a duplicate key, too deep) is
	// reported by the full parser, which names the position in the whole plan.
	if len(payload) == 0 {
		return nil, false
	}
	spaced, err := checkJSON(payload, MaxDepth-2)
	if err != nil {
		return nil, false
	}
	if spaced {
		return &Plan{Guest: &GuestPlan{Payload: compactRaw(payload)}}, true
	}
	return &Plan{Guest: &GuestPlan{Payload: bytes.Clone(payload)}}, true
}
