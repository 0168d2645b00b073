package tenant

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const hashA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" // sha256("test")

// configDir makes a directory with runners directories a and b and a wasi dir, for configs
// with relative paths.
func configDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"a", "b", "wasi", "src"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestParseFull(t *testing.T) {
	t.Parallel()
	dir := configDir(t)
	hashB := HashToken("b-token")
	cfg := `
listen: 127.0.0.1:9000
sharedRunners: b
tenants:
  - name: alpha
    tokenSha256: ` + strings.ToUpper(hashA) + `
    runners: a
    limits:
      maxRunning: 4
      maxQueued: 100
      createRate: 50.5
      createBurst: 10
      maxMemoryPages: 16
      maxTotalMemoryPages: 64
      callFuel: 1000
      runFuel: 100000
      callTimeout: 250ms
      maxOutputBytes: 4096
    capabilities:
      exec: [echo, /bin/true]
      execEnv: [APP_*]
      execCwd: [src]
      wasiDir: wasi
      wasiMounts: ["src:/src", "a:/data:rw"]
      env: [HOME]
  - name: beta
    tokenSha256: ` + hashB + `
    runners: ` + filepath.Join(dir, "b") + `
`
	c, err := Parse([]byte(cfg), dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.SharedRunners != filepath.Join(dir, "b") || len(c.Tenants) != 2 {
		t.Fatalf("config %+v", c)
	}
	a := c.Tenants[0]
	l := a.Limits
	if a.Name != "alpha" || a.Runners != filepath.Join(dir, "a") || l.MaxRunning != 4 || l.MaxQueued != 100 ||
		l.CreateRate != 50.5 || l.CreateBurst != 10 || l.MaxMemoryPages != 16 || l.MaxTotalMemoryPages != 64 ||
		l.CallFuel != 1000 || l.RunFuel != 100000 || l.CallTimeout != 250*time.Millisecond || l.MaxOutputBytes != 4096 {
		t.Errorf("tenant alpha %+v", a)
	}
	caps := a.Capabilities
	if strings.Join(caps.Exec, ",") != "echo,/bin/true" || caps.ExecEnv[0] != "APP_*" || caps.ExecCwd[0] != filepath.Join(dir, "src") ||
		caps.WasiDir != filepath.Join(dir, "wasi") || caps.Env[0] != "HOME" ||
		strings.Join(caps.WasiMounts, ",") != filepath.Join(dir, "src")+":/src:ro,"+filepath.Join(dir, "a")+":/data:rw" {
		t.Errorf("capabilities %+v", caps)
	}
	s := NewSet(c)
	if name, ok := s.Authenticate("test"); !ok || name != "alpha" {
		t.Errorf("Authenticate(test) = %q, %v", name, ok)
	}
	if name, ok := s.Authenticate("b-token"); !ok || name != "beta" {
		t.Errorf("Authenticate(b-token) = %q, %v", name, ok)
	}
	for _, bad := range []string{"", "tes", "test ", "b-token\n", hashA} {
		if name, ok := s.Authenticate(bad); ok {
			t.Errorf("Authenticate(%q) = %q, want refused", bad, name)
		}
	}
	if s.SharedRunners() != c.SharedRunners || len(s.Tenants()) != 2 {
		t.Errorf("set %+v", s)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	dir := configDir(t)
	one := func(extra string) string {
		return "tenants:\n  - name: alpha\n    tokenSha256: " + hashA + "\n    runners: a\n" + extra
	}
	tests := []struct {
		name, cfg string
		want      string // in the error
		line      int
	}{
		{"empty", "", "empty", 0},
		{"no tenants", "listen: x\n", "tenants: none", 0},
		{"unknown top key", "listen: x\nlisen: y\n", `config:2: field lisen not found`, 2},
		{"unknown limit", one("    limits:\n      maxRuning: 3\n"), "field maxRuning not found", 6},
		{"unknown capability", one("    capabilities:\n      exek: [echo]\n"), "field exek not found", 6},
		{"wrong type", one("    limits:\n      maxRunning: many\n"), "cannot unmarshal", 6},
		{"two documents", one("---\ntenants: []\n"), "second YAML document", 5},
		{"bad name", "tenants:\n  - name: Alpha_1\n    tokenSha256: " + hashA + "\n    runners: a\n", "tenants[0].name", 2},
		{"missing hash", "tenants:\n  - name: alpha\n    runners: a\n", "tenants[0].tokenSha256: missing", 2},
		{"short hash", "tenants:\n  - name: alpha\n    tokenSha256: abc\n    runners: a\n", "want 64 hex digits", 3},
		{"missing runners", "tenants:\n  - name: alpha\n    tokenSha256: " + hashA + "\n", "tenants[0].runners: missing", 2},
		{"runners not a dir", "tenants:\n  - name: alpha\n    tokenSha256: " + hashA + "\n    runners: file\n", "is not a directory", 4},
		{"runners missing dir", "tenants:\n  - name: alpha\n    tokenSha256: " + hashA + "\n    runners: nope\n", "no such file", 4},
		{"duplicate name", one("  - name: alpha\n    tokenSha256: " + HashToken("x") + "\n    runners: b\n"), `tenants[1].name: "alpha" is also tenants[0]'s name`, 5},
		{"duplicate token", one("  - name: beta\n    tokenSha256: " + hashA + "\n    runners: b\n"), "tenants[1].tokenSha256: the same token hash as tenants[0] (alpha)", 6},
		{"negative limit", one("    limits:\n      maxQueued: -1\n"), "tenants[0].limits.maxQueued: -1: must be >= 0", 6},
		{"negative rate", one("    limits:\n      createRate: -0.5\n"), "limits.createRate", 6},
		{"bad duration", one("    limits:\n      callTimeout: 5x\n"), `limits.callTimeout: "5x": not a Go duration`, 6},
		{"negative duration", one("    limits:\n      callTimeout: -1s\n"), "must be >= 0", 6},
		{"too many pages", one("    limits:\n      maxMemoryPages: 70000\n"), "at most 65536", 6},
		{"total below one", one("    limits:\n      maxMemoryPages: 10\n      maxTotalMemoryPages: 5\n"), "below maxMemoryPages", 7},
		{"bad mount", one("    capabilities:\n      wasiMounts: [src]\n"), "capabilities.wasiMounts: [0]", 6},
		{"mount not a dir", one("    capabilities:\n      wasiMounts: [\"nope:/x\"]\n"), "no such file", 6},
		{"mount twice", one("    capabilities:\n      wasiMounts: [\"src:/x\", \"a:/x\"]\n"), "/x is already granted", 6},
		{"bad env pattern", one("    capabilities:\n      execEnv: [\"A=B\"]\n"), "capabilities.execEnv", 6},
		{"bad env name", one("    capabilities:\n      env: [\"\"]\n"), "capabilities.env: [0]", 6},
		{"empty exec", one("    capabilities:\n      exec: [\"\"]\n"), "capabilities.exec: [0] is empty", 6},
		{"bad wasi dir", one("    capabilities:\n      wasiDir: file\n"), "capabilities.wasiDir", 6},
		{"bad cwd", one("    capabilities:\n      execCwd: [nope]\n"), "capabilities.execCwd: [0]", 6},
		{"bad shared", "sharedRunners: nope\n" + one(""), "sharedRunners: ", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.cfg), dir)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			var ce *ConfigError
			if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a ConfigError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if ce.Line != tt.line {
				t.Errorf("error %q: line %d, want %d", err, ce.Line, tt.line)
			}
		})
	}
}

func TestLoadRelativeToFile(t *testing.T) {
	t.Parallel()
	dir := configDir(t)
	path := filepath.Join(dir, "tenants.yaml")
	if err := os.WriteFile(path, []byte("tenants:\n  - name: alpha\n    tokenSha256: "+hashA+"\n    runners: a\n    limits: {callTimeout: 1x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":5: tenants[0].limits.callTimeout") {
		t.Errorf("error %v, want it to name %s:5", err, path)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}
