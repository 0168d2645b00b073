package solti

import (
	"encoding/json"

	"github.com/solti-wasm/solti-wasm/abi"
)

// GuestPlan returns a plan that asks the host to call this module's run export with payload,
// encoded as JSON (a json.RawMessage is kept as is). Its error is ready to return from Build,
// so Build can end with "return solti.GuestPlan(p)".
func GuestPlan(payload any) (*abi.Plan, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, Errorf(abi.CodeInternal, "encoding the guest plan payload: %v", err)
	}
	return &abi.Plan{Guest: &abi.GuestPlan{Payload: b}}, nil
}

// ExecPlan returns a plan that runs command with args as a subprocess, with failOnNonZero set
// (the ABI default). Set Env, Cwd and FailOnNonZero on the returned plan's Exec as needed.
func ExecPlan(command string, args ...string) *abi.Plan {
	return &abi.Plan{Exec: &abi.ExecPlan{Command: command, Args: args, FailOnNonZero: true}}
}

// WasiPlan returns a plan that runs the WASI command module with args; set Env, Stdin and
// Mounts on the returned plan's Wasi as needed.
func WasiPlan(module string, args ...string) *abi.Plan {
	return &abi.Plan{Wasi: &abi.WasiPlan{Module: module, Args: args}}
}
