package boltstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/store/boltstore"
)

// A task's life in the durable store: a client's create (on disk when it returns), then the
// pipeline's records of its attempt, marked as background writes so that they may share the
// next client write's commit, each transition's run and status in one write.
func Example() {
	dir, err := os.MkdirTemp("", "solti-store-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := boltstore.Open(filepath.Join(dir, "solti.db"), boltstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	t, err := s.CreateTask(ctx, &store.Task{
		Key:  store.Key{Tenant: "team-a", Name: "hello"},
		Spec: []byte(`{"slot":"demo","kind":{"wasm":{"module":"echo.wasm"}},"timeout":1000}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created at revision", t.ResourceVersion, "generation", t.Generation)

	bg := store.Background(ctx)
	run := &store.Run{Tenant: "team-a", Task: "hello", TaskUID: t.UID, Seq: 1, Generation: 1, Attempt: 1,
		RunID: "echo-demo-1", Phase: store.PhaseRunning}
	t.Status = store.TaskStatus{ObservedGeneration: 1, Phase: store.PhaseRunning, Attempt: 1}
	if t, err = s.UpdateTaskWithRun(bg, t, t.ResourceVersion, run); err != nil {
		log.Fatal(err)
	}
	run.Phase = store.PhaseSucceeded
	t.Status.Phase = store.PhaseSucceeded
	if t, err = s.UpdateTaskWithRun(bg, t, t.ResourceVersion, run); err != nil {
		log.Fatal(err)
	}
	runs, err := s.ListRuns(ctx, t.Key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("task", t.Status.Phase, "at revision", t.ResourceVersion)
	fmt.Println("runs:", len(runs), runs[0].RunID, runs[0].Phase)
	st := s.Stats()
	fmt.Println("writes:", st.Writes)
	// Output:
	// created at revision 1 generation 1
	// task succeeded at revision 3
	// runs: 1 echo-demo-1 succeeded
	// writes: 3
}
