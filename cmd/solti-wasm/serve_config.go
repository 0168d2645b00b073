package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/solti-wasm/solti-wasm/tenant"
)

// serveFlags are serve's flags.
type serveFlags struct {
	runners   string
	dataDir   string
	listen    string
	config    string
	grace     time.Duration
	logFormat logFormatFlag
	workers   int
}

// defaultGrace is how long serve's shutdown lets running tasks finish.
const defaultGrace = 30 * time.Second

// dbFile is the durable store's file in the data directory; continueKeyFile the key that
// signs list continuation tokens (mode 0600).
const (
	dbFile          = "solti.db"
	continueKeyFile = "continue.key"
)

// servePlan is what serve's flags resolve to, before anything starts.
type servePlan struct {
	listen  string
	dataDir string
	dbPath  string
	set     *tenant.Set
	// shared is the shared runners directory; "" when there is none.
	shared string
	// token is the no-config mode's token; newToken says it was just made (printed once).
	token    string
	newToken bool
}

// resolve checks serve's flags and the config, makes the data directory, and in the
// no-config mode loads (or makes) the token. Errors name the flag and its value.
func (f *serveFlags) resolve() (*servePlan, error) {
	if f.grace < 0 {
		return nil, usageError("--grace %v: must be >= 0", f.grace)
	}
	if f.workers < 0 {
		return nil, usageError("--workers %d: must be >= 0 (0: the host's default)", f.workers)
	}
	p := &servePlan{dataDir: f.dataDir}
	if p.dataDir == "" {
		d, err := defaultDataDir()
		if err != nil {
			return nil, usageError("--data-dir: %v; name one", err)
		}
		p.dataDir = d
	}
	if err := os.MkdirAll(p.dataDir, 0o700); err != nil {
		return nil, usageError("--data-dir %q: %v", p.dataDir, err)
	}
	if fi, err := os.Stat(p.dataDir); err != nil || !fi.IsDir() {
		return nil, usageError("--data-dir %q: not a directory", p.dataDir)
	}
	p.dbPath = filepath.Join(p.dataDir, dbFile)
	if f.runners != "" {
		if fi, err := os.Stat(f.runners); err != nil || !fi.IsDir() {
			return nil, usageError("--runners %q: not a directory", f.runners)
		}
	}

	if f.config != "" {
		cfg, err := tenant.Load(f.config)
		if err != nil {
			return nil, usageError("--config: %v", err)
		}
		if f.runners != "" && cfg.SharedRunners != "" {
			return nil, usageError("--runners %s and the config's sharedRunners %s: name the shared runners once", f.runners, cfg.SharedRunners)
		}
		p.listen = firstOf(f.listen, cfg.Listen, defaultListen)
		p.set = tenant.NewSet(cfg)
		p.shared = firstOf(cfg.SharedRunners, f.runners)
		if _, _, err := net.SplitHostPort(p.listen); err != nil {
			return nil, usageError("--listen %q: want HOST:PORT: %v", p.listen, err)
		}
		return p, nil
	}

	// Without a config: one tenant, its runners --runners, on a loopback address only, since
	// its token was printed on a terminal rather than handed out.
	if f.runners == "" {
		return nil, usageError("--runners: without --config, name the default tenant's runners directory")
	}
	p.listen = firstOf(f.listen, defaultListen)
	host, _, err := net.SplitHostPort(p.listen)
	if err != nil {
		return nil, usageError("--listen %q: want HOST:PORT: %v", p.listen, err)
	}
	if !loopbackHost(host) {
		return nil, usageError("--listen %q: without --config, serve binds only a loopback address (127.0.0.1, ::1, localhost): its one tenant's token is meant for this machine; give a --config with tenants to serve others", p.listen)
	}
	abs, err := filepath.Abs(f.runners)
	if err != nil {
		return nil, usageError("--runners %q: %v", f.runners, err)
	}
	if p.token, p.newToken, err = tenant.LoadOrCreateToken(p.dataDir); err != nil {
		return nil, usageError("--data-dir %q: the token: %v", p.dataDir, err)
	}
	p.set = tenant.Default(abs, p.token)
	return p, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// logFormatFlag is --log-format: text or json.
type logFormatFlag string

func (l *logFormatFlag) String() string { return string(*l) }
func (l *logFormatFlag) Type() string   { return "format" }
func (l *logFormatFlag) Set(s string) error {
	switch s {
	case "text", "json":
		*l = logFormatFlag(s)
		return nil
	}
	return fmt.Errorf("want text or json")
}

// logger is serve's structured logger on w, in the --log-format.
func (l logFormatFlag) logger(w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if l == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// tokenNotice is what serve prints, once, for a token it just made.
func tokenNotice(p *servePlan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "solti-wasm serve: a new bearer token for tenant %q (shown once; kept in %s, mode 0600):\n", tenant.DefaultTenant, filepath.Join(p.dataDir, tenant.TokenFile))
	fmt.Fprintf(&b, "    %s\n", p.token)
	fmt.Fprintf(&b, "the client commands on this machine read it from there; elsewhere: export %s=<token>\n", envToken)
	return b.String()
}
