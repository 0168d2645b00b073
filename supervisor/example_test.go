package supervisor_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

// A task that fails twice, then succeeds, under restart onFailure.
func Example() {
	sup := supervisor.New(supervisor.Config{})
	defer sup.Close(context.Background())

	spec := &abi.TaskSpec{Slot: "demo", TimeoutMs: 1000,
		Restart: abi.RestartPolicy{Type: abi.RestartOnFailure},
		Backoff: abi.BackoffPolicy{Jitter: abi.JitterNone, FirstMs: 1, MaxMs: 1, Factor: 1}}
	task := supervisor.TaskFunc(func(_ context.Context, a supervisor.Attempt, out supervisor.Sink) (supervisor.Result, error) {
		out(supervisor.Line{Stream: supervisor.Stdout, Text: fmt.Sprint("attempt ", a.Number)})
		if a.Number < 3 {
			return supervisor.Result{}, errors.New("not yet")
		}
		return supervisor.Result{Output: []byte("ok")}, nil
	})
	h, err := sup.Submit(context.Background(), supervisor.Job{RunID: "demo-1", Spec: spec, Task: task,
		OnLine: func(_ supervisor.Attempt, l supervisor.Line) { fmt.Println(l.Stream, l.Text) }})
	if err != nil {
		panic(err)
	}
	st, _ := h.Wait(context.Background())
	fmt.Println(st.Phase, st.Attempt, string(st.Output))
	// Output:
	// stdout attempt 1
	// stdout attempt 2
	// stdout attempt 3
	// succeeded 3 ok
}
