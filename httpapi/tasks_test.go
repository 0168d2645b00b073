package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/httpapi"
	"github.com/solti-wasm/solti-wasm/store"
)

const tasks = httpapi.TasksPath

func TestTaskLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	body := manifest("hello", "s1", map[string]string{"app": "web"})

	resp, b := e.do("POST", tasks, tokenA, jsonCT, body)
	wantCode(t, resp, b, http.StatusCreated)
	task := decodeTask(t, b)
	if task.Metadata.Name != "hello" || task.Metadata.UID == "" || task.Metadata.Generation != 1 ||
		task.Metadata.Labels["app"] != "web" || task.Status.Phase != store.PhasePending {
		t.Fatalf("created %+v", task)
	}
	if c := task.Status.Conditions; len(c) != 1 || c[0].Type != "Reconciled" || c[0].Status != "Unknown" {
		t.Fatalf("conditions %+v", c)
	}
	// The spec comes back as it was sent.
	var sent struct{ Spec json.RawMessage }
	_ = json.Unmarshal(body, &sent)
	if string(task.Spec) != string(sent.Spec) {
		t.Fatalf("spec %s, sent %s", task.Spec, sent.Spec)
	}

	resp, b = e.do("POST", tasks, tokenA, jsonCT, body)
	st := status(t, resp, b, http.StatusConflict, httpapi.ReasonAlreadyExists)
	if st.Details == nil || st.Details.Name != "hello" || st.Details.Kind != "tasks" {
		t.Fatalf("details %+v", st.Details)
	}

	resp, b = e.do("GET", tasks+"/hello", tokenA, "", nil)
	wantCode(t, resp, b, http.StatusOK)
	if got := decodeTask(t, b); got.Metadata.UID != task.Metadata.UID {
		t.Fatalf("get %+v", got)
	}

	// Apply: the same spec keeps the generation, a new one bumps it.
	resp, b = e.do("PUT", tasks+"/hello", tokenA, jsonCT, body)
	wantCode(t, resp, b, http.StatusOK)
	if got := decodeTask(t, b); got.Metadata.Generation != 1 {
		t.Fatalf("apply unchanged: generation %d", got.Metadata.Generation)
	}
	changed := []byte(strings.Replace(string(body), `"timeout":5000`, `"timeout":6000`, 1))
	resp, b = e.do("PUT", tasks+"/hello", tokenA, jsonCT, changed)
	wantCode(t, resp, b, http.StatusOK)
	applied := decodeTask(t, b)
	if applied.Metadata.Generation != 2 {
		t.Fatalf("apply changed: generation %d", applied.Metadata.Generation)
	}

	// Apply of a new name creates (201); a name that differs from the path is refused.
	resp, b = e.do("PUT", tasks+"/other", tokenA, jsonCT, manifest("other", "s1", nil))
	wantCode(t, resp, b, http.StatusCreated)
	resp, b = e.do("PUT", tasks+"/hello", tokenA, jsonCT, manifest("other", "s1", nil))
	st = status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)
	if !strings.Contains(st.Message, `"other"`) || !strings.Contains(st.Message, `"hello"`) {
		t.Fatalf("message %q", st.Message)
	}

	// Apply with a stale resourceVersion precondition: 409 Conflict.
	stale := []byte(strings.Replace(string(changed), `"name":"hello"`, `"name":"hello","resourceVersion":"1"`, 1))
	resp, b = e.do("PUT", tasks+"/hello", tokenA, jsonCT, stale)
	status(t, resp, b, http.StatusConflict, httpapi.ReasonConflict)
	bad := []byte(strings.Replace(string(changed), `"name":"hello"`, `"name":"hello","resourceVersion":"x1"`, 1))
	resp, b = e.do("PUT", tasks+"/hello", tokenA, jsonCT, bad)
	status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)

	// Create refuses server-written metadata.
	resp, b = e.do("POST", tasks, tokenA, jsonCT, []byte(strings.Replace(string(manifest("x", "s", nil)), `"name":"x"`, `"name":"x","uid":"u"`, 1)))
	status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)

	// Runs.
	now := time.Date(2026, 12, 1, 10, 0, 1, 0, time.UTC)
	code := 0
	e.f.mu.Lock()
	k := store.Key{Tenant: "a", Name: "hello"}
	e.f.runs[k] = []*store.Run{
		{Seq: 1, Generation: 1, Attempt: 1, RunID: "echo-s1-1", WorkloadAPIVersion: "echo.example.com/v1", WorkloadKind: "Echo",
			Phase: store.PhaseSucceeded, StartedAt: epoch, FinishedAt: &now, ExitCode: &code, FuelUsed: 42},
		{Seq: 2, Generation: 2, Attempt: 1, RunID: "echo-s1-2", WorkloadAPIVersion: "echo.example.com/v1", WorkloadKind: "Echo",
			Phase: store.PhaseRunning, StartedAt: now},
	}
	e.f.mu.Unlock()
	resp, b = e.do("GET", tasks+"/hello/runs", tokenA, "", nil)
	wantCode(t, resp, b, http.StatusOK)
	var runs httpapi.RunList
	if err := json.Unmarshal(b, &runs); err != nil || len(runs.Runs) != 2 || runs.Runs[0].FinishedAt != "2026-12-01T10:00:01Z" ||
		runs.Runs[0].Workload.Kind != "Echo" || runs.Runs[1].FinishedAt != "" || runs.Runs[0].FuelUsed != 42 {
		t.Fatalf("runs %s", b)
	}
	resp, b = e.do("GET", tasks+"/missing/runs", tokenA, "", nil)
	status(t, resp, b, http.StatusNotFound, httpapi.ReasonNotFound)

	// Delete with preconditions: a wrong uid is 409, then the right one 204, then 404.
	resp, b = e.do("DELETE", tasks+"/hello?uid=nope", tokenA, "", nil)
	status(t, resp, b, http.StatusConflict, httpapi.ReasonConflict)
	resp, b = e.do("DELETE", tasks+"/hello?resourceVersion=abc", tokenA, "", nil)
	status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)
	resp, b = e.do("DELETE", tasks+"/hello?uid="+applied.Metadata.UID+"&resourceVersion="+applied.Metadata.ResourceVersion, tokenA, "", nil)
	wantCode(t, resp, b, http.StatusNoContent)
	resp, b = e.do("DELETE", tasks+"/hello", tokenA, "", nil)
	st = status(t, resp, b, http.StatusNotFound, httpapi.ReasonNotFound)
	if st.Message != `tasks "hello" not found` {
		t.Fatalf("message %q", st.Message)
	}
	resp, b = e.do("GET", tasks+"/hello", tokenA, "", nil)
	status(t, resp, b, http.StatusNotFound, httpapi.ReasonNotFound)
}

func TestConditionReflectsPhase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	resp, b := e.do("POST", tasks, tokenA, jsonCT, manifest("c", "s", nil))
	wantCode(t, resp, b, http.StatusCreated)
	e.f.setPhase(store.Key{Tenant: "a", Name: "c"}, store.PhaseRunning, 1)
	resp, b = e.do("GET", tasks+"/c", tokenA, "", nil)
	task := decodeTask(t, b)
	if c := task.Status.Conditions[0]; c.Status != "True" || c.Reason != "Running" || task.Status.Attempt != 1 {
		t.Fatalf("running: %+v", task.Status)
	}
	e.f.mu.Lock()
	tk := e.f.tasks[store.Key{Tenant: "a", Name: "c"}]
	tk.Status.Phase, tk.Status.Reason, tk.Status.Error = store.PhaseFailed, "RunnerNotFound", "no runner supports echo.example.com/v1/Echo"
	e.f.mu.Unlock()
	resp, b = e.do("GET", tasks+"/c", tokenA, "", nil)
	task = decodeTask(t, b)
	if c := task.Status.Conditions[0]; c.Status != "False" || c.Reason != "RunnerNotFound" || !strings.Contains(c.Message, "no runner") {
		t.Fatalf("failed: %+v", task.Status)
	}
}
