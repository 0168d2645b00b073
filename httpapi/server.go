package httpapi

import (
	"log/slog"
	"net/http"
)

// NewServer returns an *http.Server for h on addr with bounded reads: ReadHeaderTimeout
// (a client that sends headers slowly is cut off), ReadTimeout (headers and body),
// IdleTimeout and MaxHeaderBytes. It sets no WriteTimeout, which would end every watch and
// log stream: the handler New returns bounds each write itself (Options.WriteTimeout).
func NewServer(addr string, h http.Handler, opt ServerOptions) *http.Server {
	if opt.ReadHeaderTimeout <= 0 {
		opt.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if opt.ReadTimeout <= 0 {
		opt.ReadTimeout = DefaultReadTimeout
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = DefaultIdleTimeout
	}
	if opt.MaxHeaderBytes <= 0 {
		opt.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: opt.ReadHeaderTimeout,
		ReadTimeout:       opt.ReadTimeout,
		IdleTimeout:       opt.IdleTimeout,
		MaxHeaderBytes:    opt.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
