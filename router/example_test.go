package router_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
)

// execRunner is a native Go runner: it turns subprocess command tasks into exec plans.
type execRunner struct{}

func (execRunner) Name() string { return "exec" }

func (execRunner) Supports(_ context.Context, req *router.Request) (bool, error) {
	sp := req.Spec.Kind.Subprocess
	return sp != nil && sp.Mode.Command != nil, nil
}

func (execRunner) Build(_ context.Context, req *router.Request, args router.BuildArgs) (*abi.Plan, error) {
	sp := req.Spec.Kind.Subprocess
	return &abi.Plan{Exec: &abi.ExecPlan{
		Command:       sp.Mode.Command.Command,
		Args:          sp.Mode.Command.Args,
		Env:           args.Env,
		Cwd:           sp.Cwd,
		FailOnNonZero: sp.FailOnNonZero,
	}}, nil
}

// Describe declares the kinds the runner handles, so the router skips it for other kinds.
func (execRunner) Describe() abi.Description {
	return abi.Description{Kinds: []string{abi.KindSubprocess}, Labels: map[string]string{"os": "linux"}}
}

// wasiRunner is a native Go runner: it turns wasm tasks into WASI plans.
type wasiRunner struct{ name string }

func (w wasiRunner) Name() string { return w.name }

func (wasiRunner) Supports(_ context.Context, req *router.Request) (bool, error) {
	return req.Spec.Kind.Wasm != nil, nil
}

func (wasiRunner) Build(_ context.Context, req *router.Request, args router.BuildArgs) (*abi.Plan, error) {
	w := req.Spec.Kind.Wasm
	return &abi.Plan{Wasi: &abi.WasiPlan{Module: w.Module, Args: w.Args, Env: args.Env}}, nil
}

func ExampleRouter() {
	r := router.New(router.BuildContext{Env: abi.Env{{Key: "REGION", Value: "eu"}}})
	for _, rn := range []router.Runner{execRunner{}, wasiRunner{name: "wasi"}} {
		if err := r.Register(rn); err != nil {
			fmt.Println(err)
			return
		}
	}

	req, err := router.ParseRequest([]byte(`{
		"slot": "hello",
		"kind": {"wasm": {"module": "hello.wasm", "args": ["--name", "solti"], "env": {"GREETING": "hi"}}},
		"timeout": 5000
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	built, err := r.Build(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The sequence number comes from a process-wide counter: show its place, not its value.
	seq := strconv.FormatUint(built.RunID.Seq, 10)
	fmt.Println("run id:", strings.TrimSuffix(built.RunID.ID, seq)+"{seq}")
	fmt.Println("runner:", built.Runner.Name())
	fmt.Println("plan type:", built.Plan.Type())
	plan, _ := json.Marshal(built.Plan)
	fmt.Println("plan:", string(plan))

	// Nothing handles containers.
	req, _ = router.ParseRequest([]byte(`{"slot":"web","kind":{"container":{"image":"nginx"}},"timeout":1000}`))
	_, err = r.Build(context.Background(), req)
	fmt.Println(err)
	// Output:
	// run id: wasi-hello-{seq}
	// runner: wasi
	// plan type: wasi
	// plan: {"wasi":{"module":"hello.wasm","args":["--name","solti"],"env":{"GREETING":"hi","REGION":"eu"}}}
	// no suitable runner for task kind: container
}

func ExampleRouter_Explain() {
	r := router.New(router.BuildContext{})
	_ = r.Register(execRunner{})                                                             // declares subprocess only
	_ = r.RegisterWithLabels(wasiRunner{name: "wasi-cpu"}, map[string]string{"gpu": "none"}) // fails the selector
	_ = r.RegisterWithLabels(wasiRunner{name: "wasi-gpu"}, map[string]string{"gpu": "a100"})
	_ = r.RegisterWithLabels(wasiRunner{name: "wasi-spare"}, map[string]string{"gpu": "a100"})

	req, err := router.ParseRequest([]byte(`{
		"slot": "train",
		"kind": {"wasm": {"module": "train.wasm"}},
		"timeout": 60000,
		"runnerSelector": {"matchExpressions": [{"key": "gpu", "operator": "NotIn", "values": ["none"]}]}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range r.Explain(context.Background(), req) {
		if d.Detail == "" {
			fmt.Printf("%s: %s\n", d.Runner, d.Verdict)
		} else {
			fmt.Printf("%s: %s (%s)\n", d.Runner, d.Verdict, d.Detail)
		}
	}
	// Output:
	// exec: kind-filtered (handles subprocess; task kind is wasm)
	// wasi-cpu: selector (gpu NotIn [none]: runner has gpu=none)
	// wasi-gpu: chosen
	// wasi-spare: not-asked
}
