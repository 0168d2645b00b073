package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/host"
	"github.com/solti-wasm/solti-wasm/httpapi"
	promx "github.com/solti-wasm/solti-wasm/metrics/prometheus"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/runtime"
	"github.com/solti-wasm/solti-wasm/store/boltstore"
	"github.com/solti-wasm/solti-wasm/store/memstore"
	"github.com/solti-wasm/solti-wasm/tenant"
)

func newServeCmd(o *globalOptions) *cobra.Command {
	f := serveFlags{grace: defaultGrace, logFormat: "text"}
	cmd := &cobra.Command{
		Use:   "serve --runners DIR [--data-dir DIR] [--listen ADDR] [--config FILE]",
		Short: "Serve tenants' tasks over HTTP: solti's task API with a durable store",
		Long: `Runs the multi-tenant host as a service. Tasks are accepted over HTTP (solti's task
API under /apis/solti.io/v1, this project's runner resources under /apis/wasm.solti.dev/v1alpha1),
written to a durable store before they are acknowledged (DATA_DIR/` + dbFile + `, a bbolt file,
and its write-ahead log ` + dbFile + `-log, synced for every batch of writes),
routed among the tenant's hot-reloaded runners, and run under the supervisor; on restart every
task not yet finished resumes (an attempt the stop cut short is recorded as interrupted, then
its restart policy decides). /healthz, /readyz and /metrics (with a token) are served too.

Without --config, serve has one tenant, "default", whose runners are --runners, and listens
only on a loopback address: its bearer token is generated on the first start, printed once,
and kept in DATA_DIR/token (mode 0600; a file others can read is refused); the client
commands on this machine find it there. With --config FILE (YAML), the tenants are the file's,
each with its own token hash (solti-wasm token new), runners directory, limits and
capabilities; --runners then names the shared runners every tenant routes to after its own.

SIGTERM or SIGINT drains: creates get 503 at once, running tasks get --grace to finish, then
they are canceled and their state persisted, and serve exits 0; a second signal stops at once.
Logs are structured (--log-format json for one JSON object per line) on stderr.`,
		Example: `  solti-wasm serve --runners examples/runners
  solti-wasm serve --config tenants.yaml --listen 0.0.0.0:7070 --data-dir /var/lib/solti-wasm`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), o, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.runners, "runners", "", "without --config: the default tenant's runners directory (required); with it: the shared runners directory")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory of the durable store ("+dbFile+") and the no-config token (default $XDG_DATA_HOME/solti-wasm or ~/.local/share/solti-wasm)")
	fl.StringVar(&f.listen, "listen", "", "HOST:PORT to serve on (default: the config's listen, else "+defaultListen+"); without --config, a loopback address only")
	fl.StringVar(&f.config, "config", "", "tenants config (YAML): tenants with token hashes, runners, limits and capabilities")
	fl.DurationVar(&f.grace, "grace", f.grace, "on SIGTERM, how long running tasks may finish before they are canceled")
	fl.Var(&f.logFormat, "log-format", "structured logs on stderr: text or json")
	fl.IntVar(&f.workers, "workers", 0, "tasks routed and built at once, across tenants (0: the host's default)")
	return cmd
}

func serve(ctx context.Context, o *globalOptions, f *serveFlags) error {
	p, err := f.resolve()
	if err != nil {
		return err
	}
	level := slog.Level(o.logLevel)
	if level > slog.LevelInfo {
		level = slog.LevelInfo // a daemon logs its lifecycle unless asked to be quieter
	}
	log := f.logFormat.logger(o.stderr, level)
	o.logger = log

	// The first signal drains; the second cancels the grace at once; a third is the default
	// (the process dies).
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	st, err := boltstore.Open(p.dbPath, boltstore.Options{})
	if err != nil {
		return fail(ExitFailure, "--data-dir %s: opening the store: %v", p.dataDir, err)
	}
	storeOpen := true
	defer func() {
		if storeOpen {
			_ = st.Close()
		}
	}()
	queue := memstore.NewQueue(0)
	defer queue.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	h, err := host.New(runCtx, host.Config{
		Store:         st,
		Queue:         queue,
		Tenants:       p.set.Tenants(),
		SharedRunners: p.shared,
		Engine:        string(o.engine),
		CacheDir:      o.cacheDir,
		Logger:        log,
		Metrics:       tenantMetrics(reg),
		Workers:       f.workers,
		// The global --call-timeout and --max-memory-pages are the defaults of a tenant
		// whose limits leave them out.
		Defaults: host.Limits{CallTimeout: o.callTimeout, MaxMemoryPages: o.maxMemoryPages},
	})
	if err != nil {
		return fail(ExitFailure, "starting the host: %v", err)
	}
	if err := h.Start(runCtx); err != nil {
		return fail(ExitFailure, "starting the host: %v", err)
	}

	// A kept key: a list's continue token stays valid across a restart.
	key, _, err := tenant.LoadOrCreateSecret(filepath.Join(p.dataDir, continueKeyFile))
	if err != nil {
		shutdownHost(h, 0, log)
		return fail(ExitFailure, "--data-dir %s: the continue-token key: %v", p.dataDir, err)
	}
	handler := httpapi.New(h, p.set, httpapi.Options{Logger: log, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ContinueKey: []byte(key)})
	srv := httpapi.NewServer(p.listen, handler, httpapi.ServerOptions{Logger: log})
	ln, err := net.Listen("tcp", p.listen)
	if err != nil {
		shutdownHost(h, 0, log)
		return usageError("--listen %s: %v", p.listen, err)
	}
	if p.newToken {
		fmt.Fprint(o.stderr, tokenNotice(p))
	}
	addr := ln.Addr().String()
	log.Info("serving", "url", "http://"+addr, "dataDir", p.dataDir, "tenants", len(p.set.Tenants()), "pid", os.Getpid())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		shutdownHost(h, 0, log)
		return fail(ExitFailure, "serving on %s: %v", addr, err)
	case <-ctx.Done():
	case s := <-sigs:
		log.Info("draining", "signal", s.String(), "grace", f.grace)
	}

	// Drain: the host refuses new tasks (503) and gives the running ones the grace, while the
	// API still answers reads; a second signal ends the grace at once.
	graceCtx, cancelGrace := context.WithTimeout(context.Background(), f.grace)
	defer cancelGrace()
	go func() {
		select {
		case s := <-sigs:
			log.Warn("stopping at once", "signal", s.String())
			cancelGrace()
		case <-graceCtx.Done():
		}
	}()
	hostErr := h.Shutdown(graceCtx)
	// Streams (watch, logs) end with the server; a second is enough for replies in flight.
	httpCtx, cancelHTTP := context.WithTimeout(context.Background(), time.Second)
	defer cancelHTTP()
	if err := srv.Shutdown(httpCtx); err != nil {
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("server", "error", err)
	}
	stopRun()
	storeOpen = false
	if err := st.Close(); err != nil {
		return fail(ExitFailure, "closing the store %s: %v", p.dbPath, err)
	}
	if hostErr != nil && !errors.Is(hostErr, context.DeadlineExceeded) && !errors.Is(hostErr, context.Canceled) {
		return fail(ExitFailure, "shutting down: %v", hostErr)
	}
	log.Info("stopped")
	return nil
}

// tenantMetrics gives each tenant its meters on reg, every series labelled with the tenant.
func tenantMetrics(reg prometheus.Registerer) host.Metrics {
	return host.MetricsFunc(func(name string) (router.MetricsBackend, runtime.Observer, error) {
		m, err := promx.New(prometheus.WrapRegistererWith(prometheus.Labels{"tenant": name}, reg))
		if err != nil {
			return nil, nil, err
		}
		return m, m, nil
	})
}

// shutdownHost stops a host that never served, within grace.
func shutdownHost(h *host.Host, grace time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Error("shutting down the host", "error", err)
	}
}
