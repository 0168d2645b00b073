package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/store"
)

// LogData is the data of one SSE log event: flat JSON with its type, times in Unix
// milliseconds and a chunk's line in standard base64 (solti's CONTRACT: output need not be
// UTF-8).
type LogData struct {
	Type      string `json:"type"`
	Seq       uint64 `json:"seq"`
	Attempt   int    `json:"attempt,omitempty"`
	RunID     string `json:"runId,omitempty"`
	Stream    string `json:"stream,omitempty"`
	Line      string `json:"line,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	Phase     string `json:"phase,omitempty"`
	ExitCode  *int   `json:"exitCode,omitempty"`
	Error     string `json:"error,omitempty"`
	Skipped   uint64 `json:"skipped,omitempty"`
	TS        int64  `json:"ts"`
}

func logDataOf(ev *host.LogEvent) LogData {
	d := LogData{Type: ev.Type, Seq: ev.Seq, Attempt: ev.Attempt, RunID: ev.RunID, Stream: ev.Stream,
		Truncated: ev.Truncated, Phase: ev.Phase, ExitCode: ev.ExitCode, Error: ev.Error, Skipped: ev.Skipped,
		TS: ev.Time.UnixMilli()}
	if ev.Type == host.LogChunk {
		d.Line = base64.StdEncoding.EncodeToString([]byte(ev.Line))
	}
	return d
}

// taskLogs streams a task's log as server-sent events: `id: <seq>`, `event: <type>`
// (run-started, chunk, run-finished, lagged) and `data: <LogData>`. A client that
// reconnects with Last-Event-ID gets the events after that seq that the host still buffers
// (a gap is a lagged event). The stream ends when the task is terminal and all was sent, or
// when the client goes; an idle stream writes an SSE comment every WatchKeepalive.
func (a *api) taskLogs(w http.ResponseWriter, r *http.Request, c *call) error {
	var after uint64
	if v := strings.TrimSpace(r.Header.Get("Last-Event-ID")); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return badRequest("Last-Event-ID %q: want the seq of an event this stream sent (a whole number)", v)
		}
		after = n
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	events, err := a.b.TaskLogs(ctx, store.Key{Tenant: c.tenant, Name: c.name}, after)
	if err != nil {
		return taskRef(c.name, err)
	}
	s, err := a.startStream(w, "text/event-stream")
	if err != nil {
		return err
	}
	return pump(ctx, s, a.opt.WatchKeepalive, ": keepalive\n\n", events, func(ev host.LogEvent) error {
		data, err := json.Marshal(logDataOf(&ev))
		if err != nil {
			return err
		}
		// The type is the host's constant and data is one line of JSON: neither can break
		// the SSE framing.
		return s.write(fmt.Appendf(nil, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, sseToken(ev.Type), data))
	})
}

// sseToken keeps an event name on its line.
func sseToken(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
}
