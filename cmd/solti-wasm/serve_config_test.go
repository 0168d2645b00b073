package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/tenant"
)

func TestServeResolve(t *testing.T) {
	t.Parallel()
	runners := t.TempDir()
	cfgDir := t.TempDir()
	if err := os.Mkdir(filepath.Join(cfgDir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(cfgDir, "tenants.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 0.0.0.0:9000\nsharedRunners: a\ntenants:\n  - name: alpha\n    tokenSha256: "+tenant.HashToken("tok-a")+"\n    runners: a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badCfg := filepath.Join(cfgDir, "bad.yaml")
	_ = os.WriteFile(badCfg, []byte("tenants: [{name: alpha, runnerz: a}]\n"), 0o644)

	tests := []struct {
		name string
		f    serveFlags
		want string // "" for success
	}{
		{"no runners", serveFlags{}, "--runners: without --config"},
		{"runners not a dir", serveFlags{runners: "/nonexistent"}, `--runners "/nonexistent": not a directory`},
		{"public without config", serveFlags{runners: runners, listen: "0.0.0.0:7070"}, `--listen "0.0.0.0:7070": without --config, serve binds only a loopback address`},
		{"all interfaces without config", serveFlags{runners: runners, listen: ":7070"}, "loopback"},
		{"bad listen", serveFlags{runners: runners, listen: "localhost"}, `--listen "localhost": want HOST:PORT`},
		{"negative grace", serveFlags{runners: runners, grace: -1}, "--grace -1ns: must be >= 0"},
		{"bad config", serveFlags{config: badCfg}, "--config: " + badCfg + ":1: field runnerz not found"},
		{"shared twice", serveFlags{config: cfg, runners: runners}, "name the shared runners once"},
		{"loopback v6", serveFlags{runners: runners, listen: "[::1]:0"}, ""},
		{"config public", serveFlags{config: cfg}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.f.dataDir = t.TempDir()
			p, err := tt.f.resolve()
			if tt.want != "" {
				var ee *exitError
				if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.As(err, &ee) || ee.code != ExitUsage {
					t.Errorf("error %v, want a usage error with %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.dbPath != filepath.Join(tt.f.dataDir, dbFile) {
				t.Errorf("db %s", p.dbPath)
			}
		})
	}
}

func TestServeResolveToken(t *testing.T) {
	t.Parallel()
	runners, data := t.TempDir(), filepath.Join(t.TempDir(), "data")
	f := serveFlags{runners: runners, dataDir: data}
	p, err := f.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if !p.newToken || p.listen != defaultListen || !strings.Contains(tokenNotice(p), p.token) {
		t.Fatalf("first start: %+v", p)
	}
	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode: %v %v", fi.Mode(), err)
	}
	if name, ok := p.set.Authenticate(p.token); !ok || name != tenant.DefaultTenant {
		t.Errorf("authenticate: %q %v", name, ok)
	}
	again, err := f.resolve()
	if err != nil || again.newToken || again.token != p.token {
		t.Errorf("restart: %+v %v", again, err)
	}
	// A token file others can read is refused, not reused.
	_ = os.Chmod(filepath.Join(data, tenant.TokenFile), 0o644)
	if _, err := f.resolve(); err == nil || !strings.Contains(err.Error(), "mode 0644") {
		t.Errorf("loose token file: %v", err)
	}
}

func TestServeConfigListen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_ = os.Mkdir(filepath.Join(dir, "r"), 0o755)
	cfg := filepath.Join(dir, "c.yaml")
	_ = os.WriteFile(cfg, []byte("tenants:\n  - name: a\n    tokenSha256: "+tenant.HashToken("x")+"\n    runners: r\n"), 0o644)
	p, err := (&serveFlags{config: cfg, dataDir: t.TempDir(), listen: "0.0.0.0:0", runners: dir}).resolve()
	if err != nil || p.listen != "0.0.0.0:0" || p.shared != dir || p.token != "" {
		t.Errorf("%+v %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(p.dataDir, tenant.TokenFile)); !os.IsNotExist(err) {
		t.Errorf("a config's serve wrote a token file: %v", err)
	}
}
