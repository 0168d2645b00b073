package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	promx "github.com/solti-wasm/solti-wasm/metrics/prometheus"
	"github.com/solti-wasm/solti-wasm/registry"
)

// metricsServer serves /metrics for --metrics-addr: solti's task metrics, the wasm meters,
// and the Go and process collectors.
type metricsServer struct {
	metrics *promx.Metrics
	srv     *http.Server
	done    chan struct{}
}

func addMetricsFlag(cmd *cobra.Command, addr *string) {
	cmd.Flags().StringVar(addr, "metrics-addr", "", "serve Prometheus metrics on HOST:PORT at /metrics (solti_runner_* and solti_wasm_*); empty: off")
}

// startMetrics listens on addr and serves /metrics until Close; with addr "" it returns nil.
// It sets o.observer, so the runtime made afterwards is metered.
func startMetrics(o *globalOptions, addr string) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	m, err := promx.New(reg)
	if err != nil {
		return nil, err
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageError("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: nil}))
	s := &metricsServer{metrics: m, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.logger.Error("metrics server stopped", "addr", addr, "error", err)
		}
	}()
	o.logger.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	o.observer = m
	return s, nil
}

// Close stops the server, letting a scrape in progress finish (up to a second).
func (s *metricsServer) Close() {
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.done
}

// registryEvent meters what only the registry knows: swaps (and rollbacks, which swap back)
// and the rejections of its own stages. Rejections at runtime.Load's stages (read, compile,
// abi, instantiate, name, describe) are metered by the runtime's observer already.
func (s *metricsServer) registryEvent(e registry.Event) {
	if s == nil {
		return
	}
	switch e.Type {
	case registry.EventSwapped, registry.EventRolledBack:
		s.metrics.ModuleSwapped(e.Runner)
	case registry.EventCooledDown:
		s.metrics.SupportsCooledDown(e.Runner, e.Time.Add(time.Duration(e.CooldownMs)*time.Millisecond))
	case registry.EventRejected:
		switch e.Stage {
		case "smoke", "compat", "register", "quarantine":
			s.metrics.ModuleRejected(e.Path, e.Stage)
		}
	}
}
