package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "secret-token"

// fake is a small in-memory server of the API's wire shapes: what the client must read and
// write, not the server's semantics.
type fake struct {
	mu    sync.Mutex
	tasks map[string]Task
	rv    int
	// logs are the SSE events of every task; dropAfter cuts the first connection after that
	// many events (0: never), to test resumption.
	logs      []LogEvent
	dropAfter int
	lastIDs   []string
	pushed    map[string][]byte
}

func newFake(t *testing.T) (*fake, *Client) {
	t.Helper()
	f := &fake{tasks: map[string]Task{}, pushed: map[string][]byte{}}
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, Options{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "v1", "kind": "Status", "metadata": map[string]any{}, "status": "Failure", "message": msg, "reason": reason, "code": code})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fake) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "2")
		writeStatus(w, 503, "ServiceUnavailable", "host is not ready")
	})
	mux.HandleFunc("POST "+TasksPath, f.create)
	mux.HandleFunc("PUT "+TasksPath+"/{name}", f.apply)
	mux.HandleFunc("GET "+TasksPath+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		t, ok := f.tasks[r.PathValue("name")]
		f.mu.Unlock()
		if !ok {
			writeStatus(w, 404, "NotFound", "task "+r.PathValue("name")+" not found")
			return
		}
		writeJSON(w, 200, t)
	})
	mux.HandleFunc("DELETE "+TasksPath+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		t, ok := f.tasks[r.PathValue("name")]
		switch {
		case !ok:
			writeStatus(w, 404, "NotFound", "not found")
		case r.URL.Query().Get("uid") != "" && r.URL.Query().Get("uid") != t.Metadata.UID,
			r.URL.Query().Get("resourceVersion") != "" && r.URL.Query().Get("resourceVersion") != t.Metadata.ResourceVersion:
			writeStatus(w, 409, "Conflict", "precondition failed")
		default:
			delete(f.tasks, t.Metadata.Name)
			w.WriteHeader(204)
		}
	})
	mux.HandleFunc("GET "+TasksPath, f.list)
	mux.HandleFunc("GET "+TasksPath+"/{name}/runs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"runs": []map[string]any{{
			"workload": map[string]string{"apiVersion": "solti.io/v1", "kind": "Wasm"}, "generation": 1, "attempt": 1,
			"phase": "succeeded", "startedAt": "2026-12-01T10:00:00Z", "finishedAt": "", "exitCode": 0, "runId": "echo-s-7",
		}}})
	})
	mux.HandleFunc("GET "+TasksPath+"/{name}/logs", f.sse)
	mux.HandleFunc("GET "+RunnersBase+"/runners", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"runners": []map[string]any{{"name": "echo", "scope": "tenant", "file": "echo.wasm", "digest": "sha256:ab", "kinds": []string{"solti.io/v1/Wasm"}, "loadedAt": "2026-12-01T10:00:00Z", "meters": map[string]any{"calls": 3}}}})
	})
	mux.HandleFunc("GET "+RunnersBase+"/runners/{name}", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, 404, "NotFound", "runner "+r.PathValue("name")+" not found")
	})
	mux.HandleFunc("DELETE "+RunnersBase+"/runners/{name}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	mux.HandleFunc("POST "+RunnersBase+"/runners", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/wasm" {
			writeStatus(w, 415, "UnsupportedMediaType", "want application/wasm")
			return
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) != "\x00asm" {
			writeStatus(w, 400, "Invalid", r.URL.Query().Get("file")+": compile: not a module")
			return
		}
		f.mu.Lock()
		f.pushed[r.URL.Query().Get("file")] = b
		f.mu.Unlock()
		writeJSON(w, 201, map[string]any{"name": "x", "file": r.URL.Query().Get("file")})
	})
	mux.HandleFunc("POST "+RunnersBase+"/routes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"verdicts": []RouteVerdict{{Runner: "a", Verdict: "unsupported"}, {Runner: "b", Verdict: "selected"}}})
	})
	mux.HandleFunc("GET "+RunnersBase+"/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		for _, ty := range []string{"loaded", "swapped"} {
			fmt.Fprintf(w, `{"type":%q,"runner":"echo","file":"echo.wasm","time":"2026-12-01T10:00:00Z"}`+"\n", ty)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a live feed: it ends when the client goes
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && r.URL.Path != "/readyz" && r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeStatus(w, 401, "Unauthorized", "a bearer token is required")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (f *fake) store(w http.ResponseWriter, r *http.Request, mustBeNew bool) {
	var m Task
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Kind != "Task" {
		writeStatus(w, 400, "BadRequest", fmt.Sprintf("not a Task manifest: %v", err))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old, exists := f.tasks[m.Metadata.Name]
	if exists && mustBeNew {
		writeStatus(w, 409, "AlreadyExists", "task "+m.Metadata.Name+" already exists")
		return
	}
	f.rv++
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	m.Metadata.ResourceVersion = strconv.Itoa(f.rv)
	m.Metadata.UID, m.Metadata.Generation, m.Metadata.CreationTimestamp = "uid-"+m.Metadata.Name, 1, Time{now}
	if exists {
		m.Metadata.Generation = old.Metadata.Generation + 1
	}
	m.Status = TaskStatus{Phase: "pending"}
	f.tasks[m.Metadata.Name] = m
	code := 201
	if exists {
		code = 200
	}
	writeJSON(w, code, m)
}

func (f *fake) create(w http.ResponseWriter, r *http.Request) { f.store(w, r, true) }
func (f *fake) apply(w http.ResponseWriter, r *http.Request)  { f.store(w, r, false) }

func (f *fake) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("watch") == "true" {
		f.watch(w, r)
		return
	}
	if q.Get("continue") == "expired" {
		writeStatus(w, 410, "Expired", "the continue token expired")
		return
	}
	f.mu.Lock()
	var names []string
	for n, t := range f.tasks {
		if q.Get("slot") == "" || strings.Contains(string(t.Spec), `"slot":"`+q.Get("slot")+`"`) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	after := q.Get("continue")
	limit, _ := strconv.Atoi(q.Get("limit"))
	l := TaskList{Kind: "TaskList", Metadata: ListMeta{ResourceVersion: strconv.Itoa(f.rv)}}
	for _, n := range names {
		if n <= after {
			continue
		}
		if limit > 0 && len(l.Items) == limit {
			l.Metadata.Continue = l.Items[len(l.Items)-1].Metadata.Name
			break
		}
		l.Items = append(l.Items, f.tasks[n])
	}
	f.mu.Unlock()
	writeJSON(w, 200, l)
}

func (f *fake) watch(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("resourceVersion") == "1" {
		w.WriteHeader(200)
		fmt.Fprintln(w, `{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","code":410,"reason":"Expired","message":"too old resource version: 1"}}`)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	f.mu.Lock()
	for _, t := range f.tasks {
		b, _ := json.Marshal(map[string]any{"type": "ADDED", "object": t})
		fmt.Fprintf(w, "%s\n", b)
	}
	f.mu.Unlock()
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

func (f *fake) sse(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.lastIDs = append(f.lastIDs, r.Header.Get("Last-Event-ID"))
	first := len(f.lastIDs) == 1
	evs := slices.Clone(f.logs)
	f.mu.Unlock()
	after, _ := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64)
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, ": keepalive\n\n")
	sent := 0
	for _, ev := range evs {
		// Resumption must skip what the server repeats: this server repeats the last event.
		if ev.Seq+1 <= after {
			continue
		}
		data, _ := json.Marshal(map[string]any{"type": ev.Type, "attempt": ev.Attempt, "stream": ev.Stream,
			"line": base64.StdEncoding.EncodeToString([]byte(ev.Line)), "ts": ev.Time.UnixMilli(), "exitCode": ev.ExitCode})
		fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Type, data)
		w.(http.Flusher).Flush()
		sent++
		if first && f.dropAfter > 0 && sent == f.dropAfter {
			// Cut the connection mid-stream, as a crashed proxy or server would.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
	}
}

func manifest(name, slot string) []byte {
	return []byte(`{"apiVersion":"solti.io/v1","kind":"Task","metadata":{"name":"` + name + `"},"spec":{"slot":"` + slot + `"}}`)
}

func TestTasks(t *testing.T) {
	t.Parallel()
	_, c := newFake(t)
	ctx := t.Context()
	task, err := c.Create(ctx, manifest("a", "s1"))
	if err != nil {
		t.Fatal(err)
	}
	if task.Metadata.Name != "a" || task.Metadata.UID != "uid-a" || task.Metadata.ResourceVersion != "1" || string(task.Spec) != `{"slot":"s1"}` {
		t.Errorf("created %+v", task)
	}
	_, err = c.Create(ctx, manifest("a", "s1"))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 409 || se.Reason != "AlreadyExists" || !errors.Is(err, ErrAlreadyExists) || errors.Is(err, ErrConflict) {
		t.Errorf("second create: %v", err)
	}
	if !strings.Contains(err.Error(), "409 AlreadyExists: task a already exists") || !strings.Contains(err.Error(), "POST http://") {
		t.Errorf("message %q", err)
	}
	applied, created, err := c.Apply(ctx, "a", manifest("a", "s2"))
	if err != nil || created || applied.Metadata.Generation != 2 {
		t.Errorf("apply: %+v %v %v", applied, created, err)
	}
	if _, created, err := c.Apply(ctx, "b", manifest("b", "s1")); err != nil || !created {
		t.Errorf("apply new: %v %v", created, err)
	}
	got, err := c.Get(ctx, "a")
	if err != nil || got.Metadata.ResourceVersion != applied.Metadata.ResourceVersion {
		t.Errorf("get: %+v %v", got, err)
	}
	if _, err := c.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get missing: %v", err)
	}
	for _, n := range []string{"c", "d", "e"} {
		if _, err := c.Create(ctx, manifest(n, "s1")); err != nil {
			t.Fatal(err)
		}
	}
	page, err := c.List(ctx, ListOptions{Limit: 2})
	if err != nil || len(page.Items) != 2 || page.Metadata.Continue != "b" {
		t.Fatalf("page: %+v %v", page, err)
	}
	all, rv, err := c.ListAll(ctx, ListOptions{Limit: 2, Slot: "s1"})
	var names []string
	for _, t := range all {
		names = append(names, t.Metadata.Name)
	}
	if err != nil || strings.Join(names, ",") != "b,c,d,e" || rv == "" {
		t.Errorf("list all: %v %q %v", names, rv, err)
	}
	if _, err := c.List(ctx, ListOptions{Continue: "expired"}); !errors.Is(err, ErrGone) {
		t.Errorf("expired continue: %v", err)
	}
	runs, err := c.Runs(ctx, "a")
	if err != nil || len(runs) != 1 || runs[0].RunID != "echo-s-7" || !runs[0].FinishedAt.IsZero() || runs[0].StartedAt.Year() != 2026 || *runs[0].ExitCode != 0 || runs[0].Workload.Kind != "Wasm" {
		t.Errorf("runs: %+v %v", runs, err)
	}
	if err := c.Delete(ctx, "a", Preconditions{UID: "other"}); !errors.Is(err, ErrConflict) {
		t.Errorf("delete with a wrong uid: %v", err)
	}
	if err := c.Delete(ctx, "a", Preconditions{UID: "uid-a", ResourceVersion: got.Metadata.ResourceVersion}); err != nil {
		t.Errorf("delete: %v", err)
	}
	if err := c.Delete(ctx, "a", Preconditions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete again: %v", err)
	}
}

func TestAuthAndStatusErrors(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	_ = f
	anon, err := New(c.Server(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.Get(t.Context(), "a")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 401 || !errors.Is(err, ErrUnauthorized) {
		t.Errorf("no token: %v", err)
	}
	if err := anon.Healthz(t.Context()); err != nil {
		t.Errorf("healthz: %v", err)
	}
	err = anon.Ready(t.Context())
	if !errors.As(err, &se) || !errors.Is(err, ErrUnavailable) || se.RetryAfter != 2*time.Second || !strings.Contains(err.Error(), "retry after 2s") {
		t.Errorf("readyz: %v", err)
	}
	// A body that is not a Status still gives a StatusError, its text the message.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream down", http.StatusBadGateway)
	}))
	defer srv.Close()
	proxy, _ := New(srv.URL, Options{})
	_, err = proxy.Get(t.Context(), "a")
	if !errors.As(err, &se) || se.Code != 502 || se.Reason != "BadGateway" || se.Message != "upstream down" {
		t.Errorf("plain error: %#v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "127.0.0.1:7070", "ftp://x", "http://", "http://x/?a=b", "://"} {
		if _, err := New(s, Options{}); err == nil {
			t.Errorf("New(%q): no error", s)
		}
	}
	if _, err := New("http://x", Options{Token: "a\nb"}); err == nil {
		t.Error("a token with a line break was accepted")
	}
	c, err := New("http://x:1/prefix/", Options{})
	if err != nil || c.url(TasksPath+"/a%2Fb", nil) != "http://x:1/prefix/apis/solti.io/v1/tasks/a%252Fb" {
		t.Errorf("prefix: %v %s", err, c.url(TasksPath, nil))
	}
}

func TestWatch(t *testing.T) {
	t.Parallel()
	_, c := newFake(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for _, n := range []string{"a", "b"} {
		if _, err := c.Create(ctx, manifest(n, "s")); err != nil {
			t.Fatal(err)
		}
	}
	w, err := c.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 2 {
		ev, err := w.Next()
		if err != nil || ev.Type != "ADDED" || ev.Task == nil {
			t.Fatalf("event %+v %v", ev, err)
		}
		seen[ev.Task.Metadata.Name] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("seen %v", seen)
	}
	cancel()
	if _, err := w.Next(); err == nil {
		t.Error("Next after cancel: no error")
	}
	w.Close()
	w.Close()

	expired, err := c.Watch(t.Context(), "1")
	if err != nil {
		t.Fatal(err)
	}
	defer expired.Close()
	_, err = expired.Next()
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 410 || !errors.Is(err, ErrGone) || !strings.Contains(se.Message, "too old") {
		t.Errorf("expired watch: %v", err)
	}
	if _, again := expired.Next(); again != err {
		t.Errorf("Next after the end: %v, want the same error", again)
	}
}

func logEvents(n int) []LogEvent {
	var evs []LogEvent
	base := time.UnixMilli(1764583200000)
	evs = append(evs, LogEvent{Seq: 1, Type: LogRunStarted, Attempt: 1, Time: base})
	for i := 2; i < n; i++ {
		evs = append(evs, LogEvent{Seq: uint64(i), Type: LogChunk, Attempt: 1, Stream: "stdout", Line: fmt.Sprintf("line %d: ünïcode", i), Time: base.Add(time.Duration(i) * time.Millisecond)})
	}
	zero := 0
	evs = append(evs, LogEvent{Seq: uint64(n), Type: LogRunFinished, Attempt: 1, ExitCode: &zero, Time: base.Add(time.Second)})
	return evs
}

func readAll(t *testing.T, s *LogStream) []LogEvent {
	t.Helper()
	var out []LogEvent
	for {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		out = append(out, ev)
	}
}

func TestLogs(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	f.logs = logEvents(10)
	s, err := c.Logs(t.Context(), "a", LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := readAll(t, s)
	if len(got) != 10 || got[3].Line != "line 4: ünïcode" || got[3].Seq != 4 || got[0].Type != LogRunStarted || !got[0].Time.Equal(f.logs[0].Time) {
		t.Fatalf("events %+v", got)
	}
	if last := got[9]; last.Type != LogRunFinished || last.ExitCode == nil || *last.ExitCode != 0 || s.Last() != 10 {
		t.Errorf("last %+v", last)
	}
	if s.Reconnected != 0 {
		t.Errorf("reconnected %d times", s.Reconnected)
	}
}

// TestLogsResume cuts the first connection after 4 events: the stream reconnects with
// Last-Event-ID 4, skips the event the server repeats, and reads each event once.
func TestLogsResume(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	f.logs, f.dropAfter = logEvents(12), 4
	s, err := c.Logs(t.Context(), "a", LogOptions{Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := readAll(t, s)
	for i, ev := range got {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d: %+v", i, ev.Seq, got)
		}
	}
	f.mu.Lock()
	ids := slices.Clone(f.lastIDs)
	f.mu.Unlock()
	if len(got) != 12 || s.Reconnected != 1 || strings.Join(ids, ",") != ",4" {
		t.Errorf("%d events, %d reconnections, Last-Event-IDs %q", len(got), s.Reconnected, ids)
	}
	// A new stream resumes where the last ended.
	again, err := c.Logs(t.Context(), "a", LogOptions{After: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if rest := readAll(t, again); len(rest) != 2 || rest[0].Seq != 11 {
		t.Errorf("resumed after 10: %+v", rest)
	}
}

func TestLogsNoReconnect(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	f.logs, f.dropAfter = logEvents(12), 4
	s, err := c.Logs(t.Context(), "a", LogOptions{Reconnects: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 4 {
		if _, err := s.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Next(); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("a cut stream without reconnection: %v, want an error other than EOF", err)
	}
}

func TestDecodeLogEvent(t *testing.T) {
	t.Parallel()
	ev, err := decodeLogEvent("", "lagged", `{"seq":9,"skipped":3,"ts":"2026-12-01T10:00:00Z"}`)
	if err != nil || ev.Seq != 9 || ev.Type != "lagged" || ev.Skipped != 3 || ev.Time.Year() != 2026 {
		t.Errorf("%+v %v", ev, err)
	}
	for _, bad := range []struct{ id, data, want string }{
		{"x", `{}`, "not a sequence number"},
		{"1", `{"line":"%%%"}`, "not base64"},
		{"1", `{"ts":true}`, "ts true"},
		{"1", `{`, "data"},
	} {
		if _, err := decodeLogEvent(bad.id, "chunk", bad.data); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want %q", bad.data, err, bad.want)
		}
	}
}

func TestRunners(t *testing.T) {
	t.Parallel()
	f, c := newFake(t)
	ctx := t.Context()
	rs, err := c.Runners(ctx)
	if err != nil || len(rs) != 1 || rs[0].Name != "echo" || rs[0].Meters.Calls != 3 || rs[0].Kinds[0] != "solti.io/v1/Wasm" {
		t.Errorf("runners: %+v %v", rs, err)
	}
	if _, err := c.Runner(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("runner: %v", err)
	}
	r, err := c.Push(ctx, "m.wasm", []byte("\x00asm"))
	if err != nil || r.File != "m.wasm" || string(f.pushed["m.wasm"]) != "\x00asm" {
		t.Errorf("push: %+v %v", r, err)
	}
	_, err = c.Push(ctx, "bad.wasm", []byte("junk"))
	var se *StatusError
	if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) || se.Message != "bad.wasm: compile: not a module" {
		t.Errorf("push rejected: %v", err)
	}
	for _, name := range []string{"", "../m.wasm", "m.wat", "a/m.wasm"} {
		if _, err := c.Push(ctx, name, nil); err == nil || !strings.Contains(err.Error(), "base file name") {
			t.Errorf("push %q: %v", name, err)
		}
	}
	if err := c.DeleteRunner(ctx, "echo"); err != nil {
		t.Errorf("delete runner: %v", err)
	}
	vs, err := c.Route(ctx, manifest("a", "s"))
	if err != nil || len(vs) != 2 || vs[1].Verdict != "selected" {
		t.Errorf("route: %+v %v", vs, err)
	}
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	evs, err := c.Events(ectx)
	if err != nil {
		t.Fatal(err)
	}
	defer evs.Close()
	for _, want := range []string{"loaded", "swapped"} {
		if ev, err := evs.Next(); err != nil || ev.Type != want || ev.File != "echo.wasm" {
			t.Errorf("event %+v %v, want %s", ev, err, want)
		}
	}
}
