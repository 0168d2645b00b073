package client

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxSSELine bounds one line of the log stream: a chunk's line is at most 64 KiB of text,
// which base64 and JSON make about 90 KiB; anything far longer is not this API.
const maxSSELine = 1 << 20

// LogOptions say where a log stream starts and how it survives a dropped connection.
type LogOptions struct {
	// After resumes after this Seq (0: from the first event the server still holds).
	After uint64
	// Reconnects bounds the reconnections after the connection drops mid-stream, each
	// resuming with Last-Event-ID after the last event read (0: 5; negative: none).
	Reconnects int
	// Backoff is the first wait before a reconnection, doubled up to 2 s (0: 100 ms).
	Backoff time.Duration
}

// LogStream is a task's log, read with Next. The server ends it once the task is terminal
// and every event was sent (Next then returns io.EOF).
type LogStream struct {
	c    *Client
	ctx  context.Context
	name string
	opt  LogOptions
	last uint64 // the Seq of the last event returned

	body io.ReadCloser
	r    *bufio.Reader
	err  error
	// Reconnected counts the reconnections made so far.
	Reconnected int
}

// Logs opens the task's log stream (SSE), replaying what the server still buffers after
// opt.After, then live.
func (c *Client) Logs(ctx context.Context, name string, opt LogOptions) (*LogStream, error) {
	if opt.Reconnects == 0 {
		opt.Reconnects = 5
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 100 * time.Millisecond
	}
	s := &LogStream{c: c, ctx: ctx, name: name, opt: opt, last: opt.After}
	if err := s.connect(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *LogStream) connect() error {
	h := http.Header{"Accept": {"text/event-stream"}}
	if s.last > 0 {
		h.Set("Last-Event-ID", strconv.FormatUint(s.last, 10))
	}
	resp, err := s.c.send(s.ctx, request{method: http.MethodGet, path: taskPath(s.name) + "/logs", header: h})
	if err != nil {
		return err
	}
	s.body, s.r = resp.Body, bufio.NewReaderSize(resp.Body, 32<<10)
	return nil
}

// Last is the Seq of the last event Next returned (or LogOptions.After): where a new
// stream resumes.
func (s *LogStream) Last() uint64 { return s.last }

// Next returns the next event; io.EOF when the stream ended. A connection dropped mid-stream
// is reopened (LogOptions.Reconnects) after the last event read; events the new stream
// repeats are skipped.
func (s *LogStream) Next() (LogEvent, error) {
	for {
		if s.err != nil {
			return LogEvent{}, s.err
		}
		ev, err := s.read()
		if err == nil {
			if ev.Seq != 0 && ev.Seq <= s.last {
				continue // replayed after a reconnection
			}
			if ev.Seq != 0 {
				s.last = ev.Seq
			}
			return ev, nil
		}
		_ = s.body.Close()
		if errors.Is(err, io.EOF) || s.ctx.Err() != nil || s.Reconnected >= s.opt.Reconnects {
			if s.ctx.Err() != nil {
				err = s.ctx.Err()
			}
			s.err = err
			return LogEvent{}, err
		}
		if err := s.reconnect(); err != nil {
			s.err = err
			return LogEvent{}, err
		}
	}
}

func (s *LogStream) reconnect() error {
	wait := s.opt.Backoff
	for {
		s.Reconnected++
		t := time.NewTimer(wait)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return s.ctx.Err()
		case <-t.C:
		}
		err := s.connect()
		var se *StatusError
		if err == nil || errors.As(err, &se) && se.Code != http.StatusServiceUnavailable || s.Reconnected >= s.opt.Reconnects {
			return err // connected, or a real answer (a deleted task is 404), or out of tries
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// Close ends the stream; it may be called more than once.
func (s *LogStream) Close() error {
	if s.err == nil {
		s.err = io.EOF
	}
	if s.body != nil {
		_ = s.body.Close()
	}
	return nil
}

// read parses one SSE event. A clean end of the body is io.EOF; a body cut mid-event, or
// any read error, is returned as is (a reconnection follows).
func (s *LogStream) read() (LogEvent, error) {
	var id, event string
	var data strings.Builder
	started := false
	for {
		line, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			rest, err := s.readLong(line)
			if err != nil {
				return LogEvent{}, err
			}
			line = rest
		} else if err != nil {
			if errors.Is(err, io.EOF) && (started || len(line) > 0) {
				return LogEvent{}, io.ErrUnexpectedEOF
			}
			return LogEvent{}, err
		}
		l := strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
		if l == "" {
			if !started {
				continue
			}
			return decodeLogEvent(id, event, data.String())
		}
		if strings.HasPrefix(l, ":") {
			continue // a comment: the server's keepalive
		}
		field, value, _ := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		started = true
		switch field {
		case "id":
			id = value
		case "event":
			event = value
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(value)
		}
	}
}

// readLong reads the rest of a line longer than the reader's buffer, up to maxSSELine.
func (s *LogStream) readLong(first []byte) ([]byte, error) {
	buf := append([]byte(nil), first...)
	for {
		more, err := s.r.ReadSlice('\n')
		buf = append(buf, more...)
		if len(buf) > maxSSELine {
			return nil, fmt.Errorf("log stream: a line longer than %d bytes", maxSSELine)
		}
		if err == nil {
			return buf, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// wireLog is a log event's data: flat JSON with the event's type, its time in ms since the
// epoch and a chunk's line in base64.
type wireLog struct {
	Seq       uint64          `json:"seq"`
	Type      string          `json:"type"`
	Attempt   int             `json:"attempt"`
	RunID     string          `json:"runId"`
	Stream    string          `json:"stream"`
	Line      string          `json:"line"`
	Truncated bool            `json:"truncated"`
	Phase     string          `json:"phase"`
	ExitCode  *int            `json:"exitCode"`
	Error     string          `json:"error"`
	Skipped   uint64          `json:"skipped"`
	TS        json.RawMessage `json:"ts"`
}

func decodeLogEvent(id, event, data string) (LogEvent, error) {
	var w wireLog
	if err := json.Unmarshal([]byte(data), &w); err != nil {
		return LogEvent{}, fmt.Errorf("log event %s: data: %w", id, err)
	}
	ev := LogEvent{
		Seq: w.Seq, Type: w.Type, Attempt: w.Attempt, RunID: w.RunID, Stream: w.Stream, Truncated: w.Truncated,
		Phase: w.Phase, ExitCode: w.ExitCode, Error: w.Error, Skipped: w.Skipped,
	}
	if id != "" {
		seq, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return LogEvent{}, fmt.Errorf("log event id %q: not a sequence number", id)
		}
		ev.Seq = seq
	}
	if ev.Type == "" {
		ev.Type = event
	}
	if w.Line != "" {
		b, err := base64.StdEncoding.DecodeString(w.Line)
		if err != nil {
			return LogEvent{}, fmt.Errorf("log event %d: line is not base64: %w", ev.Seq, err)
		}
		ev.Line = string(b)
	}
	if len(w.TS) > 0 && string(w.TS) != "null" {
		var ms int64
		if err := json.Unmarshal(w.TS, &ms); err == nil {
			ev.Time = time.UnixMilli(ms)
		} else if err := json.Unmarshal(w.TS, &ev.Time); err != nil {
			return LogEvent{}, fmt.Errorf("log event %d: ts %s: want ms since the epoch", ev.Seq, w.TS)
		}
	}
	return ev, nil
}
