package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/httpapi"
	"github.com/solti-wasm/solti-wasm/store"
)

// watchLine is a watch event as read off the wire.
type watchLine struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

type lineReader struct {
	t  *testing.T
	br *bufio.Reader
	// blanks counts the keepalive lines skipped.
	blanks int
}

func (r *lineReader) next() watchLine {
	r.t.Helper()
	for {
		line, err := r.br.ReadBytes('\n')
		if err != nil {
			r.t.Fatalf("reading the stream: %v (read %q)", err, line)
		}
		if strings.TrimSpace(string(line)) == "" {
			r.blanks++
			continue
		}
		var ev watchLine
		if err := json.Unmarshal(line, &ev); err != nil {
			r.t.Fatalf("line %q: %v", line, err)
		}
		return ev
	}
}

func (r *lineReader) expect(typ, name string) {
	r.t.Helper()
	ev := r.next()
	var obj struct {
		Metadata struct{ Name string }
	}
	_ = json.Unmarshal(ev.Object, &obj)
	if ev.Type != typ || obj.Metadata.Name != name {
		r.t.Fatalf("got %s %s, want %s %s", ev.Type, obj.Metadata.Name, typ, name)
	}
}

func openWatch(t *testing.T, e *env, query string) (*lineReader, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	resp := e.openCtx(ctx, "GET", tasks+"?"+query, tokenA, "", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("watch: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &lineReader{t: t, br: bufio.NewReader(resp.Body)}, func() { resp.Body.Close(); cancel() }
}

func TestWatchFromRevision(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	resp, b := e.do("POST", tasks, tokenA, jsonCT, manifest("w1", "s", nil))
	wantCode(t, resp, b, http.StatusCreated)
	rv := decodeTask(t, b).Metadata.ResourceVersion

	w, done := openWatch(t, e, "watch=true&resourceVersion="+rv)
	defer done()
	e.do("POST", tasks, tokenB, jsonCT, manifest("other-tenant", "s", nil)) // never seen by a
	e.do("POST", tasks, tokenA, jsonCT, manifest("w2", "s", nil))
	e.f.setPhase(store.Key{Tenant: "a", Name: "w1"}, store.PhaseRunning, 1)
	e.do("DELETE", tasks+"/w2", tokenA, "", nil)
	w.expect("ADDED", "w2")
	w.expect("MODIFIED", "w1")
	w.expect("DELETED", "w2")
}

func TestWatchListsThenFollows(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	for _, n := range []string{"a1", "a2"} {
		e.do("POST", tasks, tokenA, jsonCT, manifest(n, "s", map[string]string{"keep": "yes"}))
	}
	e.do("POST", tasks, tokenA, jsonCT, manifest("a3", "s", nil))
	w, done := openWatch(t, e, "watch=1&labelSelector="+url.QueryEscape("keep=yes"))
	defer done()
	w.expect("ADDED", "a1")
	w.expect("ADDED", "a2")
	e.do("POST", tasks, tokenA, jsonCT, manifest("a4", "s", nil)) // filtered out
	e.do("POST", tasks, tokenA, jsonCT, manifest("a5", "s", map[string]string{"keep": "yes"}))
	w.expect("ADDED", "a5")
}

func TestWatchExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	for _, n := range []string{"x1", "x2", "x3"} {
		e.do("POST", tasks, tokenA, jsonCT, manifest(n, "s", nil))
	}
	e.f.compact()
	w, done := openWatch(t, e, "watch=true&resourceVersion=1")
	defer done()
	ev := w.next()
	var st httpapi.Status
	if err := json.Unmarshal(ev.Object, &st); err != nil || ev.Type != "ERROR" || st.Code != http.StatusGone || st.Reason != httpapi.ReasonExpired {
		t.Fatalf("got %s %s", ev.Type, ev.Object)
	}
	if _, err := w.br.ReadByte(); err == nil {
		t.Fatal("the stream goes on after the ERROR event")
	}
}

func TestWatchKeepaliveOutlivesReadTimeout(t *testing.T) {
	t.Parallel()
	// The server's ReadTimeout (200ms) would end a stream's context if the handler did not
	// lift the read deadline; WriteTimeout is per write, so a long stream is fine.
	e := newEnv(t, httpapi.Options{WatchKeepalive: 20 * time.Millisecond, WriteTimeout: 100 * time.Millisecond},
		httpapi.ServerOptions{ReadTimeout: 200 * time.Millisecond})
	w, done := openWatch(t, e, "watch=true&resourceVersion=0")
	defer done()
	time.Sleep(500 * time.Millisecond)
	e.do("POST", tasks, tokenA, jsonCT, manifest("late", "s", nil))
	w.expect("ADDED", "late")
	if w.blanks < 5 {
		t.Fatalf("%d keepalives in 500ms at a 20ms period", w.blanks)
	}
}

func TestWatchTimeoutSeconds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	start := time.Now()
	resp, b := e.do("GET", tasks+"?watch=true&timeoutSeconds=1", tokenA, "", nil)
	wantCode(t, resp, b, http.StatusOK)
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Fatalf("timeoutSeconds=1 ended after %v", d)
	}
	resp, b = e.do("GET", tasks+"?watch=true&timeoutSeconds=0", tokenA, "", nil)
	status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)
}
