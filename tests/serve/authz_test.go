package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/tenant"
)

// TestAuthorizationMatrix serves two tenants and asks every endpoint, as each cell of
// {own object, the other tenant's object, no token, a wrong token}, for the status the
// contract gives: another tenant's object is 404 (never 403), no or a wrong token 401.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	tokA, tokB := "token-of-tenant-a-0123456789abcdef", "token-of-tenant-b-0123456789abcdef"
	dirA, dirB := runnersDir(t, quickModule), runnersDir(t, loopModule)
	cfg := writeTenants(t, fmt.Sprintf(`tenants:
  - name: alpha
    tokenSha256: %s
    runners: %s
  - name: beta
    tokenSha256: %s
    runners: %s
`, tenant.HashToken(tokA), dirA, tenant.HashToken(tokB), dirB))
	d := startDaemon(t, t.TempDir(), "--config", cfg)
	ca, cb := d.client(tokA), d.client(tokB)
	ctx := t.Context()
	// Each tenant's objects: a task "a-task" / "b-task" (finished), a runner each.
	if _, err := ca.Create(ctx, guestTask("a-task", "Quick", 5000)); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.Create(ctx, guestTask("b-task", "Loop", 300)); err != nil {
		t.Fatal(err)
	}
	waitTerminal(t, ca, "a-task", 20*time.Second)
	waitTerminal(t, cb, "b-task", 20*time.Second)
	okWasm, err := os.ReadFile(filepath.Join("..", "testdata", "modules", "ok.wasm"))
	if err != nil {
		t.Fatal(err)
	}

	const tasks, rb = "/apis/solti.io/v1/tasks", "/apis/wasm.solti.dev/v1alpha1"
	type cell struct {
		own, other, none, wrong int
	}
	// A request as tenant alpha: "own" names alpha's object, "other" beta's (same request,
	// the other object). Endpoints without an object ask the same request twice.
	type endpoint struct {
		name          string
		method        string
		own, other    string // paths
		body          func(own bool) []byte
		contentType   string
		want          cell
		stream, after bool // stream: read the status only; after: run after the others (it changes state)
	}
	manifest := func(name string) func(bool) []byte {
		return func(bool) []byte { return guestTask(name, "Quick", 5000) }
	}
	eps := []endpoint{
		{name: "get task", method: "GET", own: tasks + "/a-task", other: tasks + "/b-task", want: cell{200, 404, 401, 401}},
		{name: "runs", method: "GET", own: tasks + "/a-task/runs", other: tasks + "/b-task/runs", want: cell{200, 404, 401, 401}},
		{name: "logs", method: "GET", own: tasks + "/a-task/logs", other: tasks + "/b-task/logs", want: cell{200, 404, 401, 401}, stream: true},
		{name: "list", method: "GET", own: tasks, other: tasks, want: cell{200, 200, 401, 401}},
		{name: "watch", method: "GET", own: tasks + "?watch=true", other: tasks + "?watch=true", want: cell{200, 200, 401, 401}, stream: true},
		{name: "create", method: "POST", own: tasks, other: tasks, body: func(own bool) []byte {
			if own {
				return guestTask("a-new", "Quick", 5000)
			}
			return guestTask("b-task", "Quick", 5000) // beta's name: alpha's own namespace has none, so it is created
		}, contentType: "application/json", want: cell{201, 201, 401, 401}},
		// Apply to beta's task name creates alpha's own task of that name (201), never
		// touching beta's; see the check after the matrix.
		{name: "apply", method: "PUT", own: tasks + "/a-task", other: tasks + "/b-task", body: func(own bool) []byte {
			if own {
				return guestTask("a-task", "Quick", 6000)
			}
			return guestTask("b-task", "Quick", 6000)
		}, contentType: "application/json", want: cell{200, 200, 401, 401}},
		{name: "runners", method: "GET", own: rb + "/runners", other: rb + "/runners", want: cell{200, 200, 401, 401}},
		{name: "get runner", method: "GET", own: rb + "/runners/serve-quick", other: rb + "/runners/serve-loop", want: cell{200, 404, 401, 401}},
		{name: "route", method: "POST", own: rb + "/routes", other: rb + "/routes", body: manifest("r"), contentType: "application/json", want: cell{200, 200, 401, 401}},
		{name: "events", method: "GET", own: rb + "/events", other: rb + "/events", want: cell{200, 200, 401, 401}, stream: true},
		{name: "push", method: "POST", own: rb + "/runners?file=60-ok.wasm", other: rb + "/runners?file=60-ok.wasm", body: func(bool) []byte { return okWasm }, contentType: "application/wasm", want: cell{201, 201, 401, 401}, after: true},
		{name: "delete runner", method: "DELETE", own: rb + "/runners/serve-quick", other: rb + "/runners/serve-loop", want: cell{204, 404, 401, 401}, after: true},
		{name: "delete task", method: "DELETE", own: tasks + "/a-new", other: tasks + "/b-only", want: cell{204, 404, 401, 401}, after: true},
	}
	if _, err := cb.Create(ctx, guestTask("b-only", "Loop", 300)); err != nil {
		t.Fatal(err)
	}
	do := func(ep endpoint, path, token string, own bool) int {
		t.Helper()
		var body io.Reader
		if ep.body != nil {
			body = bytes.NewReader(ep.body(own))
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(rctx, ep.method, d.URL+path, body)
		if ep.contentType != "" {
			req.Header.Set("Content-Type", ep.contentType)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", ep.method, path, err)
		}
		if !ep.stream || resp.StatusCode != 200 {
			_, _ = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close() // a stream is cut here: its status is what the cell asserts
		return resp.StatusCode
	}
	for _, late := range []bool{false, true} {
		for _, ep := range eps {
			if ep.after != late {
				continue
			}
			// Unauthenticated cells first: they must change nothing.
			got := cell{
				none:  do(ep, ep.own, "", true),
				wrong: do(ep, ep.own, "not-a-token-of-anyone", true),
			}
			got.other = do(ep, ep.other, tokA, false)
			got.own = do(ep, ep.own, tokA, true)
			if got != ep.want {
				t.Errorf("%s: own/other/no token/wrong token = %d/%d/%d/%d, want %d/%d/%d/%d",
					ep.name, got.own, got.other, got.none, got.wrong, ep.want.own, ep.want.other, ep.want.none, ep.want.wrong)
			}
		}
	}
	// Beta's objects are as beta left them: its b-task still a Loop task of generation 1,
	// its runner there, b-only not deleted; alpha's list holds alpha's tasks only.
	bt, err := cb.Get(ctx, "b-task")
	if err != nil || bt.Metadata.Generation != 1 || !strings.Contains(string(bt.Spec), "Loop") {
		t.Errorf("beta's b-task after alpha's writes: %+v %v", bt, err)
	}
	if _, err := cb.Get(ctx, "b-only"); err != nil {
		t.Errorf("beta's b-only: %v", err)
	}
	if _, err := cb.Runner(ctx, "serve-loop"); err != nil {
		t.Errorf("beta's runner: %v", err)
	}
	all, _, err := ca.ListAll(ctx, clientListAll)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range all {
		if task.Metadata.Name == "b-only" {
			t.Errorf("alpha's list shows beta's task b-only")
		}
	}
}
