package runtime_test

import (
	"context"
	"fmt"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// Load a runner module, route a task to it, build the plan and execute it.
func Example() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{}) // wazero, default limits, no disk cache
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)

	m, err := rt.Load(ctx, "../examples/runners/wat-echo.wasm")
	if err != nil {
		panic(err) // a *runtime.LoadError naming the file, the stage and the cause
	}
	r := router.New(router.BuildContext{})
	if err := r.Register(m); err != nil { // labels and kinds come from the module's describe
		panic(err)
	}

	req, err := router.ParseRequest([]byte(`{"slot":"demo","timeout":1000,
		"kind":{"extension":{"type":"echo","spec":{"say":"hi"}}}}`))
	if err != nil {
		panic(err)
	}
	built, err := r.Build(ctx, req)
	if err != nil {
		panic(err)
	}
	fmt.Println("runner:", built.Runner.Name(), "plan:", built.Plan.Type())

	out, err := m.Run(ctx, &abi.RunInput{RunID: built.RunID.ID, Attempt: 1, Payload: built.Plan.Guest.Payload})
	if err != nil {
		panic(err)
	}
	fmt.Println("output:", string(out))
	// Output:
	// runner: wat-echo plan: guest
	// output: {"say":"hi"}
}

// Every failure names the module file, the stage or export, and the cause.
func ExampleLoadError() {
	ctx := context.Background()
	rt, _ := runtime.New(ctx, runtime.Config{})
	defer rt.Close(ctx)
	_, err := rt.Load(ctx, "../tests/testdata/modules/missing-build.wasm")
	fmt.Println(err)
	// Output:
	// ../tests/testdata/modules/missing-build.wasm: abi: missing export: no build export (want func (i32) -> (i32))
}
