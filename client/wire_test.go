package client

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/host"
)

// roundTrip marshals the host's value, decodes it into the client's type and marshals that:
// the two JSON texts must be the same, so a field added to or renamed in host's wire types
// fails here until the client follows.
func roundTrip[C any](t *testing.T, name string, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var c C
	if err := json.Unmarshal(want, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got, _ := json.Marshal(c)
	if string(got) != string(want) {
		t.Errorf("%s drifted:\nhost:   %s\nclient: %s", name, want, got)
	}
}

func TestWireTypesMatchHost(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	roundTrip[Runner](t, "RunnerInfo", host.RunnerInfo{
		Name: "echo", Scope: "tenant", File: "echo.wasm", Digest: "sha256:ab", Kinds: []string{"k"},
		Labels: map[string]string{"a": "b"}, LoadedAt: at,
		History: []host.RunnerVersion{{Digest: "sha256:cd", LoadedAt: at, Ended: "swapped"}},
		Meters:  host.RunnerMeters{Calls: 1, Faults: 2, FuelUsed: 3, Tasks: 4},
	})
	roundTrip[RouteVerdict](t, "RouteVerdict", host.RouteVerdict{Runner: "a", Verdict: "selected", Detail: "d"})
	roundTrip[RunnerEvent](t, "RunnerEvent", host.RunnerEvent{Type: "loaded", Runner: "a", File: "a.wasm", Digest: "x", Error: "e", Time: at})
	if LogRunStarted != host.LogRunStarted || LogChunk != host.LogChunk || LogRunFinished != host.LogRunFinished || LogLagged != host.LogLagged {
		t.Error("log event types differ from host's")
	}
}

// TestTimeEmpty: the API writes a time it does not have as "", which reads as the zero Time
// and is left out when written again.
func TestTimeEmpty(t *testing.T) {
	t.Parallel()
	var task Task
	if err := json.Unmarshal([]byte(`{"kind":"Task","metadata":{"name":"a","creationTimestamp":""},"status":{"conditions":[{"type":"Reconciled","lastTransitionTime":"2026-12-01T10:00:00.5Z"}]}}`), &task); err != nil {
		t.Fatal(err)
	}
	if !task.Metadata.CreationTimestamp.IsZero() || task.Status.Conditions[0].LastTransitionTime.Nanosecond() != 5e8 {
		t.Errorf("%+v", task)
	}
	b, _ := json.Marshal(task.Metadata)
	if string(b) != `{"name":"a"}` {
		t.Errorf("written again: %s", b)
	}
	var bad Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Error("a time that is not RFC 3339 was read")
	}
}
