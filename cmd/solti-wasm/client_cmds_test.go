package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/solti-wasm/solti-wasm/client"
)

const testToken = "cli-test-token"

// apiFake serves the few responses the client commands read, in the API's wire shapes; the
// full API is tested with the real server in tests/.
type apiFake struct {
	mu     sync.Mutex
	tasks  map[string]json.RawMessage // name -> manifest as applied
	pushed map[string]int
}

func newAPIFake(t *testing.T) string {
	t.Helper()
	f := &apiFake{tasks: map[string]json.RawMessage{}, pushed: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

func status(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"apiVersion":"v1","kind":"Status","metadata":{},"status":"Failure","code":%d,"reason":%q,"message":%q}`, code, reason, msg)
}

func (f *apiFake) task(name string, manifest json.RawMessage) client.Task {
	var m struct {
		Spec json.RawMessage `json:"spec"`
	}
	_ = json.Unmarshal(manifest, &m)
	code := 0
	return client.Task{APIVersion: "solti.io/v1", Kind: "Task", Metadata: client.ObjectMeta{Name: name, UID: "u-" + name, ResourceVersion: "7", Generation: 1},
		Spec: m.Spec, Status: client.TaskStatus{Phase: "succeeded", Attempt: 1, ExitCode: &code}}
}

func (f *apiFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		status(w, 401, "Unauthorized", "a bearer token is required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tasks, runners := client.TasksPath, client.RunnersBase
	name := strings.TrimPrefix(r.URL.Path, tasks+"/")
	switch {
	case r.Method == "PUT" && strings.HasPrefix(r.URL.Path, tasks+"/"):
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte(`"spec"`)) {
			status(w, 400, "Invalid", "spec: missing")
			return
		}
		_, exists := f.tasks[name]
		f.tasks[name] = body
		if !exists {
			w.WriteHeader(201)
		}
		_ = json.NewEncoder(w).Encode(f.task(name, body))
	case r.Method == "GET" && r.URL.Path == tasks && r.URL.Query().Get("watch") == "true":
		fmt.Fprintln(w, `{"type":"MODIFIED","object":{"apiVersion":"solti.io/v1","kind":"Task","metadata":{"name":"a"},"spec":{"slot":"s"},"status":{"phase":"running","attempt":2}}}`)
		fmt.Fprintln(w, `{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}}`)
	case r.Method == "GET" && r.URL.Path == tasks:
		l := client.TaskList{Kind: "TaskList", Metadata: client.ListMeta{ResourceVersion: "9"}}
		for n, m := range f.tasks {
			l.Items = append(l.Items, f.task(n, m))
		}
		_ = json.NewEncoder(w).Encode(l)
	case r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/logs"):
		w.Header().Set("Content-Type", "text/event-stream")
		line := base64.StdEncoding.EncodeToString([]byte("hello \x1b[31mworld"))
		fmt.Fprintf(w, "id: 1\nevent: run-started\ndata: {\"type\":\"run-started\",\"attempt\":1,\"runId\":\"echo-s-1\",\"ts\":1}\n\n")
		fmt.Fprintf(w, "id: 2\nevent: chunk\ndata: {\"type\":\"chunk\",\"attempt\":1,\"stream\":\"stdout\",\"line\":%q,\"ts\":2}\n\n", line)
		fmt.Fprintf(w, "id: 3\nevent: run-finished\ndata: {\"type\":\"run-finished\",\"attempt\":1,\"phase\":\"succeeded\",\"exitCode\":0,\"ts\":3}\n\n")
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, tasks+"/"):
		m, ok := f.tasks[name]
		if !ok {
			status(w, 404, "NotFound", "task "+name+" not found")
			return
		}
		_ = json.NewEncoder(w).Encode(f.task(name, m))
	case r.Method == "DELETE" && strings.HasPrefix(r.URL.Path, tasks+"/"):
		if _, ok := f.tasks[name]; !ok {
			status(w, 404, "NotFound", "task "+name+" not found")
			return
		}
		if rv := r.URL.Query().Get("resourceVersion"); rv != "" && rv != "7" {
			status(w, 409, "Conflict", "resourceVersion is 7, not "+rv)
			return
		}
		delete(f.tasks, name)
		w.WriteHeader(204)
	case r.Method == "GET" && r.URL.Path == runners+"/runners":
		fmt.Fprintln(w, `{"runners":[{"name":"echo","scope":"tenant","file":"echo.wasm","digest":"sha256:0123456789abcdef0123","kinds":["solti.io/v1/Wasm"],"loadedAt":"2026-12-01T00:00:00Z","meters":{"calls":5,"faults":1}}]}`)
	case r.Method == "POST" && r.URL.Path == runners+"/runners":
		body, _ := io.ReadAll(r.Body)
		if !bytes.HasPrefix(body, []byte("\x00asm")) {
			status(w, 400, "Invalid", r.URL.Query().Get("file")+": compile: magic header not detected")
			return
		}
		f.pushed[r.URL.Query().Get("file")]++
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"name":"ok","file":%q,"digest":"sha256:ffffffffffffffffffff","scope":"tenant"}`, r.URL.Query().Get("file"))
	case r.Method == "POST" && r.URL.Path == runners+"/routes":
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte("nomatch")) {
			fmt.Fprintln(w, `{"verdicts":[{"runner":"echo","verdict":"kind-filtered","detail":"declares other kinds"}]}`)
			return
		}
		fmt.Fprintln(w, `{"verdicts":[{"runner":"echo","verdict":"kind-filtered"},{"runner":"transform","verdict":"chosen"}]}`)
	default:
		status(w, 404, "NotFound", r.Method+" "+r.URL.Path)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientCommands(t *testing.T) {
	t.Parallel()
	server := newAPIFake(t)
	tokenFile := writeFile(t, "token", testToken+"\n")
	remote := []string{"--server", server, "--token-file", tokenFile}
	yamlTask := writeFile(t, "task.yaml", `apiVersion: solti.io/v1
kind: Task
metadata:
  name: y
  labels: {app: "true"}
spec:
  slot: s
  timeout: 5000
---
apiVersion: solti.io/v1
kind: Task
metadata: {name: z}
spec: {slot: s2}
`)
	tests := []struct {
		name string
		args []string
		code int
		want []string // each in stdout+stderr
	}{
		{"apply json", []string{"apply", "-f", "../../examples/tasks/manifest.json"}, ExitOK, []string{"task/transform-manifest-demo created"}},
		{"apply json again", []string{"apply", "-f", "../../examples/tasks/manifest.json"}, ExitOK, []string{"task/transform-manifest-demo configured"}},
		{"apply yaml", []string{"apply", "-f", yamlTask, "-o", "json"}, ExitOK, []string{`"name": "y"`, `"timeout": 5000`, `"name": "z"`}},
		{"apply invalid", []string{"apply", "-f", writeFile(t, "bad.json", `{"kind":"Task","metadata":{"name":"b"}}`)}, ExitInvalidTask, []string{"task b: 400 Invalid: spec: missing"}},
		{"apply no name", []string{"apply", "-f", writeFile(t, "noname.yaml", "kind: Task\nspec: {}\n")}, ExitInvalidTask, []string{"manifest 1: no metadata.name"}},
		{"apply bad yaml", []string{"apply", "-f", writeFile(t, "bad.yaml", "a: [\n")}, ExitInvalidTask, []string{"bad.yaml: not valid YAML"}},
		{"apply missing file", []string{"apply", "-f", "nope.json"}, ExitInvalidTask, []string{"-f nope.json"}},
		{"get table", []string{"get", "tasks"}, ExitOK, []string{"NAME", "SLOT", "transform-manifest-demo", "manifest-demo", "succeeded"}},
		{"get one yaml", []string{"get", "tasks", "y", "-o", "yaml"}, ExitOK, []string{"kind: Task\n", "  name: y\n", "  slot: s\n", "timeout: 5000"}},
		{"get one json", []string{"get", "task", "z", "-o", "json"}, ExitOK, []string{`"slot": "s2"`}},
		{"get missing", []string{"get", "tasks", "nope"}, ExitFailure, []string{"get task nope: 404 NotFound: task nope not found"}},
		{"get bad resource", []string{"get", "pods"}, ExitUsage, []string{`get "pods": unknown resource`}},
		{"get bad output", []string{"get", "tasks", "-o", "xml"}, ExitUsage, []string{"--output", "want table (text), json or yaml"}},
		{"watch ends on ERROR", []string{"get", "tasks", "-w", "-o", "json"}, ExitFailure, []string{`"type":"MODIFIED"`, "410 Expired: too old resource version"}},
		{"logs", []string{"logs", "a"}, ExitOK, []string{"--- attempt 1 started (run echo-s-1)", `hello \x1b[31mworld`, "--- attempt 1 succeeded, exit code 0"}},
		{"logs json", []string{"logs", "-f", "a", "-o", "json"}, ExitOK, []string{`"line":"hello \u001b[31mworld"`, `"seq":3`}},
		{"delete conflict", []string{"delete", "y", "--resource-version", "3"}, ExitFailure, []string{"409 Conflict: resourceVersion is 7, not 3"}},
		{"delete", []string{"delete", "z"}, ExitOK, []string{"task/z deleted"}},
		{"delete missing", []string{"delete", "z"}, ExitFailure, []string{"404 NotFound"}},
		{"runners", []string{"runners"}, ExitOK, []string{"echo", "tenant", "echo.wasm", "solti.io/v1/Wasm", "sha256:0123456789ab"}},
		{"push", []string{"push", "../../tests/testdata/modules/ok.wasm", "--as", "10-ok.wasm"}, ExitOK, []string{"runner/ok pushed as 10-ok.wasm"}},
		{"push rejected", []string{"push", writeFile(t, "junk.wasm", "junk")}, ExitFailure, []string{"rejected: junk.wasm: compile: magic header not detected"}},
		{"push bad name", []string{"push", "x.wasm", "--as", "../x.wasm"}, ExitUsage, []string{"--as ../x.wasm"}},
		{"route remote", []string{"route", "-f", "../../examples/tasks/manifest.json"}, ExitOK, []string{"transform  chosen", "chosen: transform"}},
		{"route remote none", []string{"route", "-f", writeFile(t, "nomatch.json", `{"nomatch":1}`), "-o", "json"}, ExitNoRunner, []string{`"chosen": ""`}},
		{"route both", []string{"route", "--runners", ".", "-f", "x.json"}, ExitUsage, []string{"not both"}},
	}
	// The commands share one server, so they run in order.
	for _, tt := range tests {
		code, stdout, stderr := run(t, t.Context(), append(tt.args, remote...)...)
		for _, w := range tt.want {
			if code != tt.code || !strings.Contains(stdout+stderr, w) {
				t.Errorf("%s: exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", tt.name, code, tt.code, w, stdout, stderr)
				break
			}
		}
	}
}

// TestClientCommandsAuthAndReach sets the environment, so it is not parallel.
func TestClientCommandsAuthAndReach(t *testing.T) {
	server := newAPIFake(t)
	loose := writeFile(t, "loose", testToken)
	_ = os.Chmod(loose, 0o644)
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"no token", nil, []string{"get", "tasks", "--server", server}, ExitUnreachable, "401 Unauthorized: a bearer token is required (give the token with --token-file or $SOLTI_TOKEN)"},
		{"wrong token", []string{"SOLTI_TOKEN=nope"}, []string{"get", "tasks", "--server", server}, ExitUnreachable, "401"},
		{"env token", []string{"SOLTI_TOKEN=" + testToken, "SOLTI_SERVER=" + server}, []string{"get", "tasks"}, ExitOK, "No tasks."},
		{"loose token file", nil, []string{"get", "tasks", "--server", server, "--token-file", loose}, ExitUsage, "mode 0644"},
		{"unreachable", []string{"SOLTI_TOKEN=x"}, []string{"get", "tasks", "--server", "http://127.0.0.1:1"}, ExitUnreachable, "connection refused"},
		{"bad server", nil, []string{"runners", "--server", "127.0.0.1:7070"}, ExitUsage, `--server: server "127.0.0.1:7070": want an http:// or https:// URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// t.Setenv forbids t.Parallel: these cases run in order.
			for _, kv := range tt.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			t.Setenv("XDG_DATA_HOME", t.TempDir()) // no default token file
			code, stdout, stderr := run(t, context.Background(), tt.args...)
			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, tt.code, tt.want, stdout, stderr)
			}
		})
	}
}

func TestTokenCommand(t *testing.T) {
	t.Parallel()
	code, stdout, _ := run(t, t.Context(), "token", "new")
	var tok, hash string
	if _, err := fmt.Sscanf(stdout, "token: %s\ntokenSha256: %s\n", &tok, &hash); code != ExitOK || err != nil || len(hash) != 64 {
		t.Fatalf("token new: exit %d: %q (%v)", code, stdout, err)
	}
	var out bytes.Buffer
	root := newRootCmd(&out, io.Discard)
	root.SetIn(strings.NewReader(tok + "\n"))
	root.SetArgs([]string{"token", "hash"})
	if err := root.Execute(); err != nil || strings.TrimSpace(out.String()) != hash {
		t.Errorf("token hash: %q, %v; want %s", out.String(), err, hash)
	}
}

func TestYAMLJSON(t *testing.T) {
	t.Parallel()
	docs, err := yamlToJSON([]byte("b: 1\na: [x, 2.5, true, null, \"007\", 0x10]\nc: &r {k: v}\nd: *r\n---\n---\nz: 1\n"))
	if err != nil || len(docs) != 2 || string(docs[0]) != `{"b":1,"a":["x",2.5,true,null,"007",16],"c":{"k":"v"},"d":{"k":"v"}}` || string(docs[1]) != `{"z":1}` {
		t.Fatalf("%q %v", docs, err)
	}
	for _, bad := range []string{"? [a]\n: b\n", "a: .inf\n", "a: !!binary aGk=\n"} {
		if _, err := yamlToJSON([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("%q: %v, want an error naming the line", bad, err)
		}
	}
	var b bytes.Buffer
	if err := jsonToYAML(&b, []byte(`{"z":"true","a":{"n":1,"s":"x y","l":[]}}`)); err != nil || b.String() != "z: \"true\"\na:\n  n: 1\n  s: x y\n  l: []\n" {
		t.Errorf("jsonToYAML: %q %v", b.String(), err)
	}
}

func TestCompleteTaskNames(t *testing.T) {
	t.Parallel()
	server := newAPIFake(t)
	tokenFile := writeFile(t, "token", testToken)
	if code, _, stderr := run(t, t.Context(), "apply", "-f", "../../examples/tasks/manifest.json", "--server", server, "--token-file", tokenFile); code != 0 {
		t.Fatal(stderr)
	}
	for _, args := range [][]string{{"logs", "trans"}, {"get", "tasks", "trans"}, {"delete", ""}} {
		// The word being completed is the last one.
		line := append([]string{"__complete", "--server", server, "--token-file", tokenFile}, args...)
		code, stdout, stderr := run(t, t.Context(), line...)
		if code != 0 || !strings.Contains(stdout, "transform-manifest-demo\n") {
			t.Errorf("complete %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	if _, stdout, _ := run(t, t.Context(), "__complete", "get", ""); !strings.Contains(stdout, "tasks\n") {
		t.Errorf("complete get: %s", stdout)
	}
}
