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
)

func newServeCmd(o *globalOptions) *cobra.Command {
	f := serveFlags{grace: defaultGrace, logFormat: "text"}
	cmd := &cobra.Command{
		Use:   "serve --runners DIR [--data-dir DIR] [--listen ADDR] [--config FILE]",
		Short: "Serve solti's task API over hot-reloaded runner modules, for one or many tenants",
		Long: `Runs the host as a service: tasks created through solti's task API
(/apis/solti.io/v1/tasks) are persisted, routed among each tenant's hot-reloaded runner
modules, built, run under a supervisor and recorded until they end; runner modules are listed,
uploaded and removed through /apis/wasm.solti.dev/v1alpha1. /healthz, /readyz, /metrics and
/openapi.json beside them.

State is kept in DATA_DIR/` + dbFile + ` (bbolt; a create is answered once it is on disk); a
restarted serve resumes every unfinished task from its persisted plan. Execution is at least
once: an attempt cut short by a crash runs again under the same run id, the key a runner uses
to make its work idempotent.

Without --config, serve has one tenant, "default", whose runners are --runners, on a loopback
address only; its bearer token is made once, printed once, and kept in DATA_DIR/token (mode
0600), where the client commands on this machine find it. With --config (YAML: tenants with
their hashed tokens, runner directories, limits and capabilities; see the README), each tenant
sees only its own tasks and runners, plus the shared runners (--runners or the config's
sharedRunners).

SIGTERM or SIGINT: creates are refused (503), running tasks get --grace to finish, then
they are canceled and their state persisted; a second signal stops at once.`,
		Example: `  solti-wasm serve --runners examples/runners
  solti-wasm serve --runners examples/runners --data-dir /var/lib/solti-wasm --listen 127.0.0.1:7070
  solti-wasm serve --config tenants.yaml --log-format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if fl := cmd.Flag("log-level"); fl == nil || !fl.Changed {
				o.logLevel = logLevelFlag(slog.LevelInfo) // a service says what it does
			}
			return serve(cmd.Context(), o, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.runners, "runners", "", "directory of runner modules: the default tenant's without --config, the shared runners with one")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory of serve's state (the task store, the default tenant's token); default: the user's data directory")
	fl.StringVar(&f.listen, "listen", "", "HOST:PORT to serve the API on (default "+defaultListen+", or the config's listen)")
	fl.StringVar(&f.config, "config", "", "YAML file of the tenants, their tokens, runners, limits and capabilities")
	fl.DurationVar(&f.grace, "grace", defaultGrace, "on SIGTERM, how long running tasks may finish before they are canceled")
	fl.Var(&f.logFormat, "log-format", "log format on stderr: text or json")
	fl.IntVar(&f.workers, "workers", 0, "tasks routed and built at once (0: the host's default)")
	return cmd
}

// serve runs the daemon until a signal, then shuts it down within the grace.
func serve(ctx context.Context, o *globalOptions, f *serveFlags) error {
	p, err := f.resolve()
	if err != nil {
		return err
	}
	log := f.logFormat.logger(o.stderr, slog.Level(o.logLevel))
	if p.newToken {
		fmt.Fprint(o.stderr, tokenNotice(p))
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := boltstore.Open(p.dbPath, boltstore.Options{})
	if err != nil {
		return fail(ExitFailure, "--data-dir %s: %w", p.dataDir, err)
	}
	defer st.Close()
	queue := memstore.NewQueue(0)
	defer queue.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	timeout := o.callTimeout
	if timeout == 0 {
		timeout = runtime.NoCallTimeout
	}
	h, err := host.New(ctx, host.Config{
		Store:         st,
		Queue:         queue,
		Tenants:       p.set.Tenants(),
		SharedRunners: p.shared,
		Engine:        string(o.engine),
		CacheDir:      o.cacheDir,
		Logger:        log,
		Metrics:       tenantMetrics{reg},
		Workers:       f.workers,
		Defaults:      host.Limits{CallTimeout: timeout, MaxMemoryPages: o.maxMemoryPages},
	})
	if err != nil {
		return fail(ExitFailure, "serve: %w", err)
	}
	ln, err := net.Listen("tcp", p.listen)
	if err != nil {
		_ = h.Shutdown(context.Background())
		return usageError("--listen %s: %v", p.listen, err)
	}
	api := httpapi.New(h, p.set, httpapi.Options{
		Logger:  log,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	})
	srv := httpapi.NewServer(p.listen, api, httpapi.ServerOptions{Logger: log})
	served := make(chan error, 1)
	// The API answers (503 not ready) while the host loads the runners and resumes tasks.
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	if err := h.Start(ctx); err != nil {
		_ = srv.Close()
		<-served
		_ = h.Shutdown(context.Background())
		if ctx.Err() != nil {
			return canceled(ctx)
		}
		return fail(ExitFailure, "serve: %w", err)
	}
	log.Info("serving", "url", url, "tenants", len(p.set.Tenants()), "dataDir", p.dataDir)

	select {
	case <-ctx.Done():
	case err := <-served:
		_ = h.Shutdown(context.Background())
		return fail(ExitFailure, "serve: %w", err)
	}
	// The first signal: the host stops intake and drains within the grace; a second one (the
	// default action once stop restores it) kills the process.
	stop()
	log.Info("shutting down", "grace", f.grace)
	graceCtx, cancel := context.WithTimeout(context.Background(), f.grace)
	defer cancel()
	herr := h.Shutdown(graceCtx)
	// Streams (watches, logs) end with the host; give requests in flight a moment.
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("API server", "error", err)
	}
	if herr != nil && !errors.Is(herr, context.DeadlineExceeded) {
		return fail(ExitFailure, "serve: shutdown: %w", herr)
	}
	log.Info("stopped")
	return nil
}

// tenantMetrics gives each tenant its Prometheus meters, every series labelled with the
// tenant's name (host.Metrics).
type tenantMetrics struct{ reg prometheus.Registerer }

func (m tenantMetrics) Tenant(name string) (router.MetricsBackend, runtime.Observer, error) {
	pm, err := promx.New(prometheus.WrapRegistererWith(prometheus.Labels{"tenant": name}, m.reg))
	if err != nil {
		return nil, nil, err
	}
	return pm, pm, nil
}
