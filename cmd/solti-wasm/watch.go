package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/registry"
)

type watchFlags struct {
	runners   string
	output    outputFormat
	debounce  time.Duration
	rescan    time.Duration
	trapLimit int
	order     []string
	// metricsAddr: --metrics-addr (metrics.go).
	metricsAddr string
}

func newWatchCmd(o *globalOptions) *cobra.Command {
	var f watchFlags
	cmd := &cobra.Command{
		Use:   "watch --runners DIR",
		Short: "Hot-reload a runners directory and print what happens to its modules, live",
		Long: `Loads the runners directory as run and route do, then keeps it loaded as its files
change, and prints one line per event until SIGINT or SIGTERM (exit 0):

  loaded       a file's first version serves
  swapped      a new version of a file serves in place of the previous one
  rejected     a version was refused (invalid, failed its sample smoke test, incompatible
               with the running version, a runner name an earlier file owns, quarantined);
               the previous version, if any, keeps serving
  rolled-back  a version that kept faulting was replaced by the previous version
  removed      the file was deleted or renamed away

Each line has the time, the event, the file, the runner and the sha256 digest (12 hex
digits; --output json prints whole digests, one JSON object per line). Write modules to a
temporary name and rename them into place; a file is loaded once it has been quiet for
--debounce and is a complete wasm binary. Routing order is the lexical order of file name,
or the order file ` + registry.OrderFileName + ` in DIR (one file name per line, listed files first),
or --order.`,
		Example: `  solti-wasm watch --runners examples/runners
  solti-wasm watch --runners /srv/runners --output json --debounce 250ms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return watch(cmd.Context(), o, &f)
		},
	}
	cmd.Flags().StringVar(&f.runners, "runners", "", "directory of runner modules (*.wasm) to watch (required)")
	_ = cmd.MarkFlagRequired("runners")
	addOutputFlag(cmd, &f.output)
	cmd.Flags().DurationVar(&f.debounce, "debounce", registry.DefaultDebounce, "how long a file must stay unwritten before it is loaded")
	cmd.Flags().DurationVar(&f.rescan, "rescan", registry.DefaultRescan, "interval of the safety-net rescan, which reads every module again for changes no event reported; 0 disables it")
	cmd.Flags().IntVar(&f.trapLimit, "trap-limit", registry.DefaultTrapLimit, "consecutive faulting calls of one export after which a version is rolled back; 0 disables")
	cmd.Flags().StringSliceVar(&f.order, "order", nil, "module file names to route first, in this order (overrides the order file)")
	addMetricsFlag(cmd, &f.metricsAddr)
	return cmd
}

func watch(ctx context.Context, o *globalOptions, f *watchFlags) error {
	if f.debounce < 0 {
		return usageError("--debounce %v: must be >= 0 (0: no wait)", f.debounce)
	}
	if f.trapLimit < 0 {
		return usageError("--trap-limit %d: must be >= 0 (0 disables rollback)", f.trapLimit)
	}
	switch fi, err := os.Stat(f.runners); {
	case f.runners == "":
		return usageError("--runners: must name a directory of runner modules")
	case errors.Is(err, fs.ErrNotExist):
		return fail(ExitNoRunner, "--runners %s: no such directory", f.runners)
	case err != nil:
		return fail(ExitNoRunner, "--runners %s: %w", f.runners, err)
	case !fi.IsDir():
		return fail(ExitNoRunner, "--runners %s: not a directory", f.runners)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ms, err := startMetrics(o, f.metricsAddr)
	if err != nil {
		return err
	}
	defer ms.Close()
	rt, err := o.newRuntime(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rt.Close(context.Background()) }()

	cfg := registry.Config{Dir: f.runners, Runtime: rt, Watch: true, Debounce: f.debounce, TrapLimit: f.trapLimit, Logger: o.logger, Rescan: f.rescan}
	if f.rescan <= 0 {
		cfg.Rescan = -1
	}
	if f.debounce == 0 {
		cfg.Debounce = -1
	}
	if f.trapLimit == 0 {
		cfg.TrapLimit = -1
	}
	if len(f.order) > 0 {
		cfg.Order = f.order
	}
	reg, err := registry.New(cfg)
	if err != nil {
		return fail(ExitNoRunner, "--runners %s: %w", f.runners, err)
	}
	events, _ := reg.Subscribe(4096)
	if err := reg.Start(ctx); err != nil {
		return fail(ExitNoRunner, "--runners %s: %w", f.runners, err)
	}
	enc := json.NewEncoder(o.stdout)
	enc.SetEscapeHTML(false)
	var werr error
	for werr == nil {
		select {
		case <-ctx.Done():
			_ = reg.Close(context.Background())
			return nil
		case e := <-events:
			ms.registryEvent(e)
			if f.output == outputJSON {
				werr = enc.Encode(e)
			} else {
				_, werr = fmt.Fprintln(o.stdout, safeText(e.String()))
			}
		}
	}
	_ = reg.Close(context.Background())
	return fail(ExitFailure, "writing events: %w", werr)
}
