package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/httpapi"
)

const runners = httpapi.RunnersGroupPath + "/runners"

func TestRunners(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	e.f.setRunners("", []host.RunnerInfo{{Name: "shared-echo", Scope: "shared", File: "shared-echo.wasm", Digest: "sha256:11",
		Kinds: []string{"shell"}, LoadedAt: epoch, History: []host.RunnerVersion{{Digest: "sha256:10", LoadedAt: epoch, Ended: "swapped"}}}})

	// The event feed sees the upload.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evResp := e.openCtx(ctx, "GET", httpapi.RunnersGroupPath+"/events", tokenA, "", nil)
	defer evResp.Body.Close()
	if evResp.StatusCode != http.StatusOK {
		t.Fatalf("events: %d", evResp.StatusCode)
	}

	const wasm = "application/wasm"
	resp, b := e.do("POST", runners+"?file=mine.wasm", tokenA, wasm, []byte("\x00asm\x01\x00\x00\x00"))
	wantCode(t, resp, b, http.StatusCreated)
	var info host.RunnerInfo
	if err := json.Unmarshal(b, &info); err != nil || info.Name != "mine" || info.File != "mine.wasm" {
		t.Fatalf("pushed %s", b)
	}
	line, err := bufio.NewReader(evResp.Body).ReadString('\n')
	var ev host.RunnerEvent
	if err != nil || json.Unmarshal([]byte(line), &ev) != nil || ev.Type != "loaded" || ev.Runner != "mine" {
		t.Fatalf("event %q %v", line, err)
	}

	// A module the checks refuse: 422 naming file, stage and cause.
	resp, b = e.do("POST", runners+"?file=bad.wasm", tokenA, wasm, []byte("not wasm"))
	st := status(t, resp, b, http.StatusUnprocessableEntity, httpapi.ReasonInvalid)
	if !strings.Contains(st.Message, "bad.wasm") || !strings.Contains(st.Message, "validate") ||
		st.Details == nil || st.Details.Name != "bad.wasm" || st.Details.Causes[0].Reason != "validate" || !strings.Contains(st.Details.Causes[0].Message, "not a wasm file") {
		t.Fatalf("rejection %+v", st)
	}
	resp, b = e.do("POST", runners+"?file=trap.wasm", tokenA, wasm, []byte("\x00asm nosmoke"))
	st = status(t, resp, b, http.StatusUnprocessableEntity, httpapi.ReasonInvalid)
	if st.Details.Causes[0].Reason != "smoke" || !strings.Contains(st.Message, "trap") {
		t.Fatalf("wrapped rejection %+v", st)
	}
	for _, q := range []string{"", "?file=../x.wasm", "?file=x.so", "?file=.hidden.wasm", "?file=a%2Fb.wasm"} {
		resp, b = e.do("POST", runners+q, tokenA, wasm, []byte("\x00asm"))
		status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)
	}
	resp, b = e.do("POST", runners+"?file=x.wasm", tokenA, "application/octet-stream", []byte("\x00asm"))
	status(t, resp, b, http.StatusUnsupportedMediaType, httpapi.ReasonUnsupportedMedia)

	resp, b = e.do("GET", runners, tokenA, "", nil)
	wantCode(t, resp, b, http.StatusOK)
	var l httpapi.RunnerList
	if err := json.Unmarshal(b, &l); err != nil || len(l.Runners) != 2 || l.Runners[0].Name != "mine" || l.Runners[1].History[0].Ended != "swapped" {
		t.Fatalf("list %s", b)
	}
	resp, b = e.do("GET", runners, tokenB, "", nil)
	if err := json.Unmarshal(b, &l); err != nil || len(l.Runners) != 1 || l.Runners[0].Scope != "shared" {
		t.Fatalf("tenant b sees %s", b)
	}
	resp, b = e.do("GET", runners+"/mine", tokenA, "", nil)
	wantCode(t, resp, b, http.StatusOK)
	resp, b = e.do("GET", runners+"/mine", tokenB, "", nil)
	status(t, resp, b, http.StatusNotFound, httpapi.ReasonNotFound)

	// Route: a manifest, or a bare TaskSpec.
	route := httpapi.RunnersGroupPath + "/routes"
	resp, b = e.do("POST", route, tokenA, jsonCT, manifest("r", "s", nil))
	wantCode(t, resp, b, http.StatusOK)
	var rr httpapi.RouteResult
	if err := json.Unmarshal(b, &rr); err != nil || len(rr.Verdicts) != 2 || rr.Verdicts[0].Verdict != "unsupported" {
		t.Fatalf("route %s", b)
	}
	resp, b = e.do("POST", route, tokenA, jsonCT, []byte(`{"slot":"s","kind":{"extension":{"type":"echo","spec":{}}},"timeout":100}`))
	wantCode(t, resp, b, http.StatusOK)
	if err := json.Unmarshal(b, &rr); err != nil || rr.Verdicts[0].Verdict != "selected" {
		t.Fatalf("route v1 spec %s", b)
	}
	resp, b = e.do("POST", route, tokenA, jsonCT, []byte(`{"slot":"s","kind":{"extension":{"type":"echo","spec":{}}},"timeout":"1s"}`))
	st = status(t, resp, b, http.StatusBadRequest, httpapi.ReasonInvalid)
	if st.Details.Causes[0].Field != "timeout" {
		t.Fatalf("validation %+v", st)
	}

	resp, b = e.do("DELETE", runners+"/mine", tokenB, "", nil)
	status(t, resp, b, http.StatusNotFound, httpapi.ReasonNotFound)
	resp, b = e.do("DELETE", runners+"/mine", tokenA, "", nil)
	wantCode(t, resp, b, http.StatusNoContent)
	resp, b = e.do("DELETE", runners+"/mine", tokenA, "", nil)
	status(t, resp, b, http.StatusNotFound, httpapi.ReasonNotFound)
}

func TestModuleLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{MaxModuleBytes: 1 << 10})
	resp, b := e.do("POST", runners+"?file=big.wasm", tokenA, "application/wasm", make([]byte, 1<<10+1))
	st := status(t, resp, b, http.StatusRequestEntityTooLarge, httpapi.ReasonRequestTooLarge)
	if !strings.Contains(st.Message, "1 KiB") {
		t.Fatalf("message %q", st.Message)
	}
	resp, b = e.do("POST", runners+"?file=ok.wasm", tokenA, "application/wasm", append([]byte("\x00asm"), make([]byte, 1<<10-4)...))
	wantCode(t, resp, b, http.StatusCreated)
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write([]byte("solti_tasks_total{tenant=\"a\"} 1\n"))
	})
	e := newEnv(t, httpapi.Options{Metrics: metrics})
	resp, b := e.do("GET", "/healthz", "", "", nil)
	wantCode(t, resp, b, http.StatusOK)
	resp, b = e.do("GET", "/readyz", "", "", nil)
	wantCode(t, resp, b, http.StatusOK)
	e.f.setReady(host.ErrNotReady)
	resp, b = e.do("GET", "/readyz", "", "", nil)
	st := status(t, resp, b, http.StatusServiceUnavailable, httpapi.ReasonServiceUnavailable)
	if st.Message != host.ErrNotReady.Error() {
		t.Fatalf("readyz says %q", st.Message)
	}
	e.f.setReady(errors.New("store: disk full"))
	resp, b = e.do("GET", "/readyz", "", "", nil)
	status(t, resp, b, http.StatusServiceUnavailable, httpapi.ReasonServiceUnavailable)
	// Draining: still healthy (serving), not ready, and creates are 503.
	e.f.setReady(host.ErrDraining)
	resp, b = e.do("GET", "/healthz", "", "", nil)
	wantCode(t, resp, b, http.StatusOK)
	resp, b = e.do("GET", "/readyz", "", "", nil)
	status(t, resp, b, http.StatusServiceUnavailable, httpapi.ReasonServiceUnavailable)
	e.f.failWith(host.ErrDraining)
	resp, b = e.do("POST", tasks, tokenA, jsonCT, manifest("late", "s", nil))
	status(t, resp, b, http.StatusServiceUnavailable, httpapi.ReasonServiceUnavailable)

	// /metrics needs a token by default.
	resp, b = e.do("GET", "/metrics", "", "", nil)
	status(t, resp, b, http.StatusUnauthorized, httpapi.ReasonUnauthorized)
	resp, b = e.do("GET", "/metrics", tokenB, "", nil)
	wantCode(t, resp, b, http.StatusOK)
	if !strings.Contains(string(b), "solti_tasks_total") {
		t.Fatalf("metrics %q", b)
	}
	pub := newEnv(t, httpapi.Options{Metrics: metrics, PublicMetrics: true})
	resp, b = pub.do("GET", "/metrics", "", "", nil)
	wantCode(t, resp, b, http.StatusOK)
	none := newEnv(t, httpapi.Options{})
	resp, b = none.do("GET", "/metrics", tokenA, "", nil)
	status(t, resp, b, http.StatusNotFound, httpapi.ReasonNotFound)

	resp, b = e.do("GET", "/openapi.json", "", "", nil)
	wantCode(t, resp, b, http.StatusOK)
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil || doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %v", err)
	}
}

func TestQuotaRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	e.f.failWith(&host.QuotaError{Tenant: "a", Limit: "createRate", RetryAfter: 1200 * time.Millisecond})
	resp, b := e.do("POST", tasks, tokenA, jsonCT, manifest("q", "s", nil))
	st := status(t, resp, b, http.StatusTooManyRequests, httpapi.ReasonTooManyRequests)
	if resp.Header.Get("Retry-After") != "2" || st.Details.RetryAfterSeconds != 2 || !strings.Contains(st.Message, "createRate") {
		t.Fatalf("Retry-After %q, %+v", resp.Header.Get("Retry-After"), st)
	}
	e.f.failWith(&host.QuotaError{Tenant: "a", Limit: "queuedTasks"})
	resp, b = e.do("PUT", tasks+"/q", tokenA, jsonCT, manifest("q", "s", nil))
	status(t, resp, b, http.StatusTooManyRequests, httpapi.ReasonTooManyRequests)
	if resp.Header.Get("Retry-After") != "" {
		t.Fatalf("Retry-After %q without a known delay", resp.Header.Get("Retry-After"))
	}
	e.f.failWith(errors.New("bolt: tx closed"))
	resp, b = e.do("POST", tasks, tokenA, jsonCT, manifest("q", "s", nil))
	st = status(t, resp, b, http.StatusInternalServerError, httpapi.ReasonInternalError)
	if st.Message != "bolt: tx closed" {
		t.Fatalf("500 message %q", st.Message)
	}
}

// TestWriteDeadlineStartsWithTheResponse: a Backend call slower than WriteTimeout (a large
// module's smoke test) still gets its answer written.
func TestWriteDeadlineStartsWithTheResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{WriteTimeout: 100 * time.Millisecond})
	e.f.mu.Lock()
	e.f.routeDelay = 300 * time.Millisecond
	e.f.mu.Unlock()
	resp, b := e.do("POST", httpapi.RunnersGroupPath+"/routes", tokenA, jsonCT, manifest("r", "s", nil))
	wantCode(t, resp, b, http.StatusOK)
}
