// Command go-sdk is the Go SDK's kind-check runner for tests/sdkbench: supports checks the
// kind only; build plans the extension spec as the guest payload; run returns the payload.
package main

import (
	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/guest-sdk/go/solti"
)

type bench struct{}

func (bench) Name() string                            { return "bench-go-sdk" }
func (bench) Describe() abi.Description               { return abi.Description{} }
func (bench) Supports(s *solti.Spec) bool             { return s.Kind() == "bench" }
func (bench) Run(r *solti.RunRequest) ([]byte, error) { return r.Payload, nil }
func (bench) Build(b *solti.BuildRequest) (*abi.Plan, error) {
	return &abi.Plan{Guest: &abi.GuestPlan{Payload: b.Spec.ExtensionSpec()}}, nil
}

func init() { solti.Register(bench{}) }

func main() {}
