package httpapi

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults of Options and ServerOptions.
const (
	// DefaultMaxBodyBytes is solti's body limit: 4 MiB (413 beyond it).
	DefaultMaxBodyBytes = 4 << 20
	// DefaultWriteTimeout bounds writing one response, or one event of a stream.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultWatchKeepalive is how often an idle watch, event or log stream writes a
	// keepalive, so that proxies and clients see a live connection.
	DefaultWatchKeepalive = 30 * time.Second

	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a request, headers and body: a 64 MiB module upload
	// needs about 1 MB/s.
	DefaultReadTimeout    = time.Minute
	DefaultIdleTimeout    = 2 * time.Minute
	DefaultMaxHeaderBytes = 64 << 10

	// MaxListLimit is the largest page a list may ask for (400 beyond it); a limit of 0 asks
	// for DefaultListLimit.
	MaxListLimit     = 1000
	DefaultListLimit = 100
)

// Options configure the handler New returns. The zero value is usable.
type Options struct {
	// Logger receives one record per failed request (5xx) and per stream error; nil
	// discards.
	Logger *slog.Logger
	// MaxBodyBytes bounds a JSON request body (0: DefaultMaxBodyBytes). A module upload is
	// bounded by MaxModuleBytes instead.
	MaxBodyBytes int64
	// MaxModuleBytes bounds a module upload (0: runtime.DefaultMaxModuleBytes, 64 MiB).
	MaxModuleBytes int64
	// Metrics serves GET /metrics (the caller's Prometheus handler, so that this package
	// does not depend on an exporter); nil: /metrics is 404.
	Metrics http.Handler
	// PublicMetrics serves /metrics without a token. Off by default: the meters carry
	// tenant labels, which one tenant should not learn of another.
	PublicMetrics bool
	// WatchKeepalive is the keepalive period of streams (0: DefaultWatchKeepalive).
	WatchKeepalive time.Duration
	// WriteTimeout bounds writing a response, from its first byte, and each write of a
	// stream (0: DefaultWriteTimeout). It is applied per handler through
	// http.ResponseController, so the server has no WriteTimeout that would cut long streams.
	WriteTimeout time.Duration
	// ContinueKey signs list continuation tokens (HMAC-SHA256). Nil: a random key per New,
	// so tokens do not survive a restart (they are then refused with 400, and the client
	// lists again); give a persistent key to keep them valid across restarts.
	ContinueKey []byte
}

// ServerOptions configure the *http.Server NewServer returns; zero fields take the defaults
// above.
type ServerOptions struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// Logger receives the server's own errors (TLS handshakes, panics); nil: slog.Default.
	Logger *slog.Logger
}
