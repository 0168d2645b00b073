package httpapi_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/httpapi"
	"github.com/solti-wasm/solti-wasm/store"
)

// readSSE reads n events off a stream.
func readSSE(t *testing.T, br *bufio.Reader, n int) []sseEvent {
	t.Helper()
	var buf strings.Builder
	var evs []sseEvent
	for len(evs) < n {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d events: %v", len(evs), err)
		}
		buf.WriteString(line)
		if line == "\n" {
			got, err := parseSSE([]byte(buf.String()))
			if err != nil {
				t.Fatal(err)
			}
			evs = got
		}
	}
	return evs
}

func TestLogsSSEResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{})
	e.do("POST", tasks, tokenA, jsonCT, manifest("lg", "s", nil))
	k := store.Key{Tenant: "a", Name: "lg"}
	e.f.appendLog(k, host.LogEvent{Type: host.LogRunStarted, Attempt: 1, RunID: "echo-s-1"}, false)
	e.f.appendLog(k, host.LogEvent{Type: host.LogChunk, Attempt: 1, RunID: "echo-s-1", Stream: "stdout", Line: "hello\xff"}, false)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp := e.openCtx(ctx, "GET", tasks+"/lg/logs", tokenA, "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(resp.Body)
	evs := readSSE(t, br, 2)
	if evs[0].ID != "1" || evs[0].Event != "run-started" || evs[1].ID != "2" || evs[1].Event != "chunk" {
		t.Fatalf("events %+v", evs)
	}
	var d httpapi.LogData
	if err := json.Unmarshal([]byte(evs[1].Data), &d); err != nil {
		t.Fatal(err)
	}
	line, _ := base64.StdEncoding.DecodeString(d.Line)
	if d.Type != "chunk" || string(line) != "hello\xff" || d.TS != epoch.UnixMilli() || d.Stream != "stdout" {
		t.Fatalf("data %+v", d)
	}
	// Live: a new event arrives on the open stream.
	e.f.appendLog(k, host.LogEvent{Type: host.LogChunk, Attempt: 1, Stream: "stderr", Line: "oops"}, false)
	if evs = readSSE(t, br, 1); evs[0].ID != "3" {
		t.Fatalf("live event %+v", evs[0])
	}
	resp.Body.Close()

	// Resume after seq 2: event 3, then the rest; the stream ends when the task is done.
	e.f.appendLog(k, host.LogEvent{Type: host.LogRunFinished, Attempt: 1, Phase: "succeeded", ExitCode: new(int)}, true)
	resp, b := e.do("GET", tasks+"/lg/logs", tokenA, "", nil, "Last-Event-ID", "2")
	wantCode(t, resp, b, http.StatusOK)
	evs, err := parseSSE(b)
	if err != nil || len(evs) != 2 || evs[0].ID != "3" || evs[1].Event != "run-finished" {
		t.Fatalf("resumed: %v %q", err, b)
	}

	resp, b = e.do("GET", tasks+"/lg/logs", tokenA, "", nil, "Last-Event-ID", "x")
	status(t, resp, b, http.StatusBadRequest, httpapi.ReasonBadRequest)
	resp, b = e.do("GET", tasks+"/nope/logs", tokenA, "", nil)
	status(t, resp, b, http.StatusNotFound, httpapi.ReasonNotFound)
	resp, b = e.do("GET", tasks+"/lg/logs", tokenB, "", nil)
	status(t, resp, b, http.StatusNotFound, httpapi.ReasonNotFound)
}

func TestLogsKeepalive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Options{WatchKeepalive: 10 * time.Millisecond})
	e.do("POST", tasks, tokenA, jsonCT, manifest("quiet", "s", nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp := e.openCtx(ctx, "GET", tasks+"/quiet/logs", tokenA, "", nil)
	defer resp.Body.Close()
	b := make([]byte, len(": keepalive\n\n"))
	if _, err := io.ReadFull(resp.Body, b); err != nil || string(b) != ": keepalive\n\n" {
		t.Fatalf("%q %v", b, err)
	}
}
