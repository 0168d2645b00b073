package httpapi

import (
	"context"
	"net/http"
	"time"
)

// stream writes a long response (a watch, the runner events, a log): each write gets its own
// write deadline and is flushed. The server's ReadTimeout does not end it: net/http lifts the
// read deadline once the request is read (its background read watches for the client
// going), which TestWatchKeepaliveOutlivesReadTimeout holds it to.
type stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// startStream sends the 200 header of a stream of content type ct.
func (a *api) startStream(w http.ResponseWriter, ct string) (*stream, error) {
	s := &stream{w: w, rc: http.NewResponseController(w), timeout: a.opt.WriteTimeout}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	// Proxies (nginx) buffer responses unless told not to; a buffered stream is no stream.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return s, s.flush()
}

// write sends p and flushes it, within the write timeout.
func (s *stream) write(p []byte) error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil && err != http.ErrNotSupported {
		return err
	}
	if _, err := s.w.Write(p); err != nil {
		return err
	}
	return s.flush()
}

func (s *stream) flush() error {
	if err := s.rc.Flush(); err != nil && err != http.ErrNotSupported {
		return err
	}
	return nil
}

// pump writes each of events with send until ctx ends or events closes, and keepalive every
// period (proxies and clients drop idle connections; the keepalive is what the format
// ignores: a blank NDJSON line, an SSE comment). The period is not reset by events: send may
// write nothing (a watch's filtered event), and a keepalive after an event costs a byte.
func pump[E any](ctx context.Context, s *stream, every time.Duration, keepalive string, events <-chan E, send func(E) error) error {
	keep := time.NewTicker(every)
	defer keep.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-keep.C:
			if err := s.write([]byte(keepalive)); err != nil {
				return err
			}
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if err := send(ev); err != nil {
				return err
			}
		}
	}
}
