package executor_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/executor"
	"github.com/solti-wasm/solti-wasm/router"
	"github.com/solti-wasm/solti-wasm/supervisor"
)

// TestExecEnvPolicy runs a real shell that records that it started and prints LD_PRELOAD and
// FOO: a refused variable never reaches a process, because none starts.
func TestExecEnvPolicy(t *testing.T) {
	tests := []struct {
		name    string
		allow   []string
		env     map[string]string
		refused string // the refusal names this; "" runs
		stdout  string
	}{
		{"default denies LD_PRELOAD", nil, map[string]string{"LD_PRELOAD": "/tmp/evil.so"}, `exec env "LD_PRELOAD" denied by policy: it matches LD_*, denied by default`, ""},
		{"default denies BASH_ENV", nil, map[string]string{"BASH_ENV": "/tmp/x"}, `exec env "BASH_ENV" denied by policy`, ""},
		{"default denies PATH", nil, map[string]string{"PATH": "/tmp"}, `exec env "PATH" denied by policy`, ""},
		{"default allows others", nil, map[string]string{"FOO": "bar"}, "", "[] [bar]"},
		{"a name holding =", []string{"*"}, map[string]string{"LD_PRELOAD=/tmp/evil.so#": "x"}, `exec env "LD_PRELOAD=/tmp/evil.so#" denied by policy: not a variable name`, ""},
		{"an allow-list refuses the rest", []string{"APP_*"}, map[string]string{"FOO": "bar"}, `exec env "FOO" denied by policy: a plan may set only the allowed names (APP_*)`, ""},
		{"a pattern never grants a denied name", []string{"*"}, map[string]string{"LD_PRELOAD": "/tmp/evil.so"}, `exec env "LD_PRELOAD" denied by policy`, ""},
		{"a pattern grants the others", []string{"F*"}, map[string]string{"FOO": "bar"}, "", "[] [bar]"},
		{"an exact name grants a denied one", []string{"LD_PRELOAD"}, map[string]string{"LD_PRELOAD": "", "FOO": "x"}, `exec env "FOO" denied by policy`, ""},
		{"an exact name grants a denied one", []string{"LD_PRELOAD", "FOO"}, map[string]string{"LD_PRELOAD": "", "FOO": "x"}, "", "[] [x]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "started")
			var l lines
			e := execTask("sh", []string{"-c", `touch "$0"; echo "[$LD_PRELOAD] [$FOO]"`, marker}, func(e *executor.Exec) {
				e.Plan.Env = abi.EnvFromMap(tt.env)
				e.Policy.Env = tt.allow
				e.BaseEnv = []string{"PATH=" + os.Getenv("PATH")}
			})
			_, err := e.Execute(t.Context(), attempt, l.sink)
			_, statErr := os.Stat(marker)
			if tt.refused == "" {
				if err != nil || statErr != nil || !slices.Equal(l.byStream(supervisor.Stdout), []string{tt.stdout}) {
					t.Fatalf("error %v, started %v, stdout %q; want %q", err, statErr == nil, l.all(), tt.stdout)
				}
				return
			}
			if !errors.Is(err, executor.ErrPolicy) || fatalKind(err) != router.ErrorBackendConfigFailed || !strings.Contains(err.Error(), tt.refused) {
				t.Fatalf("error %v, want a fatal policy error naming %q", err, tt.refused)
			}
			if statErr == nil || len(l.all()) != 0 {
				t.Errorf("the process started (%q) although the policy refused it", l.all())
			}
		})
	}
}

// TestExecCwdPolicy: a plan's cwd must resolve, symlinks followed, inside an allowed directory;
// the process starts in the resolved directory.
func TestExecCwdPolicy(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	allowed := filepath.Join(root, "allowed")
	outside := filepath.Join(root, "outside")
	for _, d := range []string{filepath.Join(allowed, "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mustLink := func(target, link string) {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	mustLink(outside, filepath.Join(allowed, "escape"))    // inside by name, outside in fact
	mustLink(allowed, filepath.Join(root, "via-link"))     // outside by name, inside in fact
	mustLink(allowed, filepath.Join(root, "allowed-link")) // an allowed directory named by a link
	tests := []struct {
		name, cwd string
		policy    []string
		refused   string
		pwd       string
	}{
		{"no cwd: the host's", "", nil, "", ""},
		{"no allowed directory", allowed, nil, "no working directory is allowed", ""},
		{"the directory itself", allowed, []string{allowed}, "", allowed},
		{"below it", filepath.Join(allowed, "sub"), []string{allowed}, "", filepath.Join(allowed, "sub")},
		{"a symlink inside pointing out", filepath.Join(allowed, "escape"), []string{allowed}, `exec cwd "` + filepath.Join(allowed, "escape") + `" denied by policy: it resolves to ` + outside + ", not inside an allowed directory", ""},
		{"dot-dot out", filepath.Join(allowed, "sub", "..", "..", "outside"), []string{allowed}, "not inside an allowed directory (allowed: " + allowed + ")", ""},
		{"a symlink outside pointing in", filepath.Join(root, "via-link", "sub"), []string{allowed}, "", filepath.Join(allowed, "sub")},
		{"an allowed directory given as a link", filepath.Join(allowed, "sub"), []string{filepath.Join(root, "allowed-link")}, "", filepath.Join(allowed, "sub")},
		{"a prefix is not a parent", allowed + "-not", []string{allowed}, "", ""},
	}
	if err := os.Mkdir(allowed+"-not", 0o755); err != nil {
		t.Fatal(err)
	}
	tests[len(tests)-1].refused = "not inside an allowed directory"
	host, _ := os.Getwd()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l lines
			e := execTask("pwd", nil, func(e *executor.Exec) { e.Plan.Cwd, e.Policy.Cwd = tt.cwd, tt.policy })
			_, err := e.Execute(t.Context(), attempt, l.sink)
			if tt.refused != "" {
				if !errors.Is(err, executor.ErrPolicy) || !strings.Contains(err.Error(), tt.refused) {
					t.Fatalf("error %v, want a policy error naming %q", err, tt.refused)
				}
				return
			}
			want := tt.pwd
			if want == "" {
				want = host
			}
			if err != nil || !slices.Equal(l.byStream(supervisor.Stdout), []string{want}) {
				t.Fatalf("error %v, lines %q; want pwd %s", err, l.all(), want)
			}
		})
	}
}

func TestValidatePatterns(t *testing.T) {
	if err := executor.ValidatePatterns([]string{"A", "APP_*", "*_URL"}); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "A=B", "[A"} {
		if err := executor.ValidatePatterns([]string{bad}); err == nil || !strings.Contains(err.Error(), "env pattern") {
			t.Errorf("%q: %v, want an error naming the pattern", bad, err)
		}
	}
}
