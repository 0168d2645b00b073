package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/httpapi"
)

func TestMain(m *testing.M) {
	// Streams are validated as the sequence of their lines (NDJSON) or events (SSE), as the
	// document describes them.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", ndjsonDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", sseDecoder)
	goleak.VerifyTestMain(m)
}

func ndjsonDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	items := []any{}
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue // keepalive
		}
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, fmt.Errorf("NDJSON line %q: %w", line, err)
		}
		items = append(items, v)
	}
	return items, sc.Err()
}

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	ID, Event, Data string
}

// parseSSE reads complete events (a partial last one is left out); comments are skipped.
func parseSSE(b []byte) ([]sseEvent, error) {
	var out []sseEvent
	blocks := strings.Split(string(b), "\n\n")
	for _, blk := range blocks[:len(blocks)-1] {
		var ev sseEvent
		for _, line := range strings.Split(blk, "\n") {
			k, v, _ := strings.Cut(line, ": ")
			switch k {
			case "id":
				ev.ID = v
			case "event":
				ev.Event = v
			case "data":
				ev.Data = v
			case "":
				if !strings.HasPrefix(line, ":") && line != "" {
					return nil, fmt.Errorf("SSE line %q", line)
				}
			default:
				if !strings.HasPrefix(line, ":") {
					return nil, fmt.Errorf("SSE field %q", k)
				}
			}
		}
		if ev.ID != "" || ev.Event != "" || ev.Data != "" {
			out = append(out, ev)
		}
	}
	return out, nil
}

func sseDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	evs, err := parseSSE(b)
	if err != nil {
		return nil, err
	}
	items := []any{}
	for _, ev := range evs {
		var data any
		if err := json.Unmarshal([]byte(ev.Data), &data); err != nil {
			return nil, fmt.Errorf("SSE data %q: %w", ev.Data, err)
		}
		items = append(items, map[string]any{"id": ev.ID, "event": ev.Event, "data": data})
	}
	return items, nil
}

// spec is the served OpenAPI document, loaded once, with its router.
var spec = sync.OnceValues(func() (routers.Router, error) {
	b, err := httpapi.OpenAPI()
	if err != nil {
		return nil, err
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("loading the document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the document is not valid OpenAPI: %w", err)
	}
	return legacy.NewRouter(doc)
})

// validating checks every response against the OpenAPI document: the operation's declared
// status, headers and body; a response with no operation (an unknown path, a wrong method)
// must be a Status. A stream is checked when its body is closed, on what was read.
type validating struct {
	t    errorer
	next http.RoundTripper
}

func (v *validating) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/x-ndjson" || mt == "text/event-stream" {
		resp.Body = &checkOnClose{ReadCloser: resp.Body, check: func(b []byte) { v.check(req, resp, b) }}
		return resp, nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	v.check(req, resp, b)
	return resp, nil
}

func (v *validating) check(req *http.Request, resp *http.Response, body []byte) {
	v.t.Helper()
	router, err := spec()
	if err != nil {
		v.t.Errorf("OpenAPI document: %v", err)
		return
	}
	route, params, err := router.FindRoute(req)
	if err == nil && (route.Method != req.Method || strings.ReplaceAll(route.Path, "{name}", params["name"]) != req.URL.Path) {
		// The router is lenient (an empty {name}, a trailing slash): that is no operation.
		err = fmt.Errorf("%s %s is not an operation of the document", req.Method, req.URL.Path)
	}
	if err != nil {
		// No operation: the handler must still answer with a Status.
		var st httpapi.Status
		if jerr := json.Unmarshal(body, &st); jerr != nil || st.Kind != "Status" || st.Code != resp.StatusCode || st.Message == "" {
			v.t.Errorf("%s %s (no operation: %v): %d %q is not a Status", req.Method, req.URL, err, resp.StatusCode, body)
		}
		return
	}
	// The same response to the same operation has the same verdict: each validation compiles
	// the schema (tens of ms under -race), and the idle-stream test sends 300 alike.
	sum := sha256.Sum256(body)
	key := fmt.Sprintf("%s %s %d %s %s %x", req.Method, route.Path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), sum)
	validateMu.Lock() // one at a time, so that alike responses wait for the first's verdict
	defer validateMu.Unlock()
	if verdict, ok := verdicts.Load(key); ok {
		if verdict != "" {
			v.t.Errorf("%s %s: response %d does not match the OpenAPI document: %v\nbody: %.2000s", req.Method, req.URL, resp.StatusCode, verdict, body)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	err = openapi3filter.ValidateResponse(context.Background(), in)
	verdict := ""
	if err != nil {
		verdict = err.Error()
	}
	verdicts.Store(key, verdict)
	if err != nil {
		v.t.Errorf("%s %s: response %d does not match the OpenAPI document: %v\nbody: %.2000s", req.Method, req.URL, resp.StatusCode, err, body)
	}
}

// verdicts caches validations by operation, status, headers checked and body digest.
var (
	verdicts   sync.Map
	validateMu sync.Mutex
)

// checkOnClose keeps what a stream's reader read and checks it on Close.
type checkOnClose struct {
	io.ReadCloser
	buf   bytes.Buffer
	check func([]byte)
	once  sync.Once
}

func (c *checkOnClose) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.buf.Write(p[:n])
	return n, err
}

func (c *checkOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.once.Do(func() {
		b := c.buf.Bytes()
		// Only complete lines and events are checked: the reader may stop mid-way.
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			b = b[:i+1]
		} else {
			b = nil
		}
		c.check(b)
	})
	return err
}

// env is one test's server: a fake backend behind the API on loopback, two tenants.
type env struct {
	t      *testing.T
	f      *fake
	srv    *httptest.Server
	client *http.Client
}

const (
	tokenA = "token-of-a"
	tokenB = "token-of-b"
)

func newEnv(t *testing.T, opt httpapi.Options, sopt ...httpapi.ServerOptions) *env {
	t.Helper()
	f := newFake()
	h := httpapi.New(f, tokens{tokenA: "a", tokenB: "b"}, opt)
	srv := httptest.NewUnstartedServer(h)
	var so httpapi.ServerOptions
	if len(sopt) > 0 {
		so = sopt[0]
	}
	srv.Config = httpapi.NewServer("", h, so)
	srv.Start()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	e := &env{t: t, f: f, srv: srv, client: &http.Client{Transport: &validating{t: t, next: tr}, Timeout: 20 * time.Second}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return e
}

// do sends a request with token (none if ""), a body of content type ct, and returns the
// response with its body read.
func (e *env) do(method, path, token, ct string, body []byte, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	resp := e.open(method, path, token, ct, body, hdr...)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return resp, b
}

// open sends a request and returns the response with its body unread (a stream).
func (e *env) open(method, path, token, ct string, body []byte, hdr ...string) *http.Response {
	e.t.Helper()
	return e.openCtx(context.Background(), method, path, token, ct, body, hdr...)
}

func (e *env) openCtx(ctx context.Context, method, path, token, ct string, body []byte, hdr ...string) *http.Response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// status decodes a Status body and checks its code and reason.
func status(t *testing.T, resp *http.Response, b []byte, code int, reason string) httpapi.Status {
	t.Helper()
	var st httpapi.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%d: not a Status: %q", resp.StatusCode, b)
	}
	if resp.StatusCode != code || st.Code != code || st.Reason != reason {
		t.Fatalf("got %d %s (%s), want %d %s", resp.StatusCode, st.Reason, st.Message, code, reason)
	}
	return st
}

func wantCode(t *testing.T, resp *http.Response, b []byte, code int) {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("%s %s: got %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, code, b)
	}
}

// manifest returns a valid Task manifest named name, with slot and labels.
func manifest(name, slot string, labels map[string]string) []byte {
	m := map[string]any{
		"apiVersion": "solti.io/v1", "kind": "Task",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"slot":      slot,
			"workload":  map[string]any{"apiVersion": "echo.example.com/v1", "kind": "Echo", "spec": map[string]any{"say": "hi"}},
			"timeout":   5000,
			"restart":   map[string]any{"type": "never"},
			"backoff":   map[string]any{"jitter": "none", "firstMs": 100, "maxMs": 1000, "factor": 2},
			"admission": "dropIfRunning",
		},
	}
	if labels != nil {
		m["metadata"].(map[string]any)["labels"] = labels
	}
	b, _ := json.Marshal(m)
	return b
}

const jsonCT = "application/json"

func decodeTask(t *testing.T, b []byte) httpapi.Task {
	t.Helper()
	var task httpapi.Task
	if err := json.Unmarshal(b, &task); err != nil {
		t.Fatalf("not a Task: %v: %s", err, b)
	}
	return task
}

// errorer is what the validator reports to: a *testing.T, or a recorder in the test that
// shows it catches drift.
type errorer interface {
	Helper()
	Errorf(format string, args ...any)
}
