package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Stream is a stream of NDJSON events (a watch, the runner events): one JSON object a line.
// Next returns them in order; Close ends the stream (and its request).
type Stream[T any] struct {
	body   io.ReadCloser
	dec    *json.Decoder
	decode func(json.RawMessage) (T, error)
	once   sync.Once
	err    error // the error that ended the stream, returned again by each later Next
}

func newStream[T any](resp *http.Response, decode func(json.RawMessage) (T, error)) *Stream[T] {
	return &Stream[T]{body: resp.Body, dec: json.NewDecoder(resp.Body), decode: decode}
}

// Next waits for the next event. It returns io.EOF when the server ended the stream, a
// *StatusError for a stream's ERROR event, or the read's error (the context's, once it ended).
func (s *Stream[T]) Next() (T, error) {
	var zero T
	if s.err != nil {
		return zero, s.err
	}
	var raw json.RawMessage
	if err := s.dec.Decode(&raw); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("stream cut mid-event: %w", err)
		}
		s.err = err
		return zero, err
	}
	v, err := s.decode(raw)
	if err != nil {
		s.err = err
		return zero, err
	}
	return v, nil
}

// Close ends the stream; it may be called more than once.
func (s *Stream[T]) Close() error {
	s.once.Do(func() { _ = s.body.Close() })
	return nil
}

func decodeWatchEvent(raw json.RawMessage) (WatchEvent, error) {
	var ev struct {
		Type   string          `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return WatchEvent{}, fmt.Errorf("watch event: %w", err)
	}
	if ev.Type == "ERROR" {
		var st status
		if err := json.Unmarshal(ev.Object, &st); err != nil {
			return WatchEvent{}, fmt.Errorf("watch ERROR event: %w", err)
		}
		return WatchEvent{}, &StatusError{Code: st.Code, Reason: st.Reason, Message: st.Message, Method: "WATCH", URL: TasksPath}
	}
	var t Task
	if err := json.Unmarshal(ev.Object, &t); err != nil {
		return WatchEvent{}, fmt.Errorf("watch %s event: %w", ev.Type, err)
	}
	return WatchEvent{Type: ev.Type, Task: &t}, nil
}

func decodeJSON[T any](raw json.RawMessage) (T, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}
