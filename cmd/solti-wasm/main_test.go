package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// These tests call execute in-process, so that go test -race sees the command's goroutines
// (the run and its deadline). The end-to-end tests, which build the binary, are in tests/.
// They use the small WAT fixtures and no on-disk cache.

const fixtures = "../../tests/testdata/modules"

func TestMain(m *testing.M) {
	// wazero v1.12.0 caches its version in a package variable without synchronisation
	// (wazero/wazero#2532, fixed upstream after v1.12.0): two runtimes compiling their first
	// module at once in one process race on it. The CLI makes one runtime per process; these
	// tests make many at once, so one compilation runs first, alone.
	if code := execute(context.Background(), []string{"--cache-dir=", "inspect", filepath.Join(fixtures, "ok.wasm")}, io.Discard, io.Discard); code != ExitOK {
		fmt.Fprintf(os.Stderr, "TestMain: inspecting fixture ok: exit %d\n", code)
		os.Exit(1)
	}
	code := m.Run()
	if code == 0 {
		// No command may leave a goroutine behind (a run's deadline, a signal watcher).
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "TestMain: goroutines left running: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// runnersDir returns a directory holding the named fixture modules, in the given routing
// order.
func runnersDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i, n := range names {
		b, err := os.ReadFile(filepath.Join(fixtures, n+".wasm"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d-%s.wasm", i, n)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fixtureTask(t *testing.T, timeoutMs string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "task.json")
	if err := os.WriteFile(p, []byte(`{"slot":"s","kind":{"extension":{"type":"fixture"}},"timeout":`+timeoutMs+`}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(ctx, append([]string{`--cache-dir=`}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestExecuteExitCodes(t *testing.T) {
	t.Parallel()
	task := fixtureTask(t, "300")
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout or stderr
	}{
		{"success", []string{"run", "--runners", runnersDir(t, "ok"), "--env", "K=v", task}, ExitOK, `"env":{"K":"v"}`},
		{"guest trap", []string{"run", "--runners", runnersDir(t, "trap-run"), task}, ExitFailure, "outcome:  failure"},
		{"task timeout", []string{"run", "--runners", runnersDir(t, "loop-run"), task}, ExitTimeout, "outcome:  timeout"},
		{"route", []string{"route", "--runners", runnersDir(t, "trap-supports", "ok"), task}, ExitOK, "supports-error"},
		{"no runner", []string{"run", "--runners", runnersDir(t, "trap-supports"), task}, ExitNoRunner, "no suitable runner for task kind: fixture"},
		{"invalid task", []string{"run", "--runners", runnersDir(t, "ok"), "missing.json"}, ExitInvalidTask, "missing.json"},
		{"inspect invalid", []string{"inspect", filepath.Join(fixtures, "no-marker.wasm")}, ExitFailure, "not a solti runner"},
		{"bad flag", []string{"--log-level=loud", "version"}, ExitUsage, "--log-level"},
		{"version", []string{"version"}, ExitOK, "abi:     v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, t.Context(), tt.args...)
			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, tt.code, tt.want, stdout, stderr)
			}
		})
	}
}

// TestExecuteCanceled cancels the command's context while the guest loops: the outcome is
// canceled, as for SIGINT.
func TestExecuteCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	code, stdout, stderr := run(t, ctx, "run", "--runners", runnersDir(t, "loop-run"), fixtureTask(t, "60000"))
	if code != ExitCanceled {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, ExitCanceled, stdout, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}
