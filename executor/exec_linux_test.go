package executor_test

import (
	goruntime "runtime"
	"slices"
	"sync"
	"testing"

	"github.com/solti-wasm/solti-wasm/supervisor"
)

// TestExecSurvivesThreadChurn: the parent-death signal fires when the thread that forked the
// process exits, and Go ends a thread whenever a goroutine exits locked to it. While a
// command runs, goroutines that lock their thread and exit must not kill it.
func TestExecSurvivesThreadChurn(t *testing.T) {
	stop := make(chan struct{})
	var churn sync.WaitGroup
	for range 4 {
		churn.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				done := make(chan struct{})
				go func() {
					goruntime.LockOSThread() // never unlocked: the thread ends with the goroutine
					close(done)
				}()
				<-done
			}
		})
	}
	defer func() { close(stop); churn.Wait() }()
	for range 5 {
		var l lines
		res, err := execTask("sh", []string{"-c", "sleep 0.1; echo done"}).Execute(t.Context(), attempt, l.sink)
		if err != nil || res.ExitCode == nil || *res.ExitCode != 0 || !slices.Equal(l.byStream(supervisor.Stdout), []string{"done"}) {
			t.Fatalf("error %v, lines %q: the command did not run to its end", err, l.all())
		}
	}
}
