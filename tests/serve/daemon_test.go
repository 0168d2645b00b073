package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/client"
)

// daemon is one serve process.
type daemon struct {
	t       *testing.T
	cmd     *exec.Cmd
	URL     string
	dataDir string
	stderr  *syncBuffer
	done    chan struct{}
	exit    error
}

// syncBuffer is the daemon's stderr, written by the process's pipe reader and read by tests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDaemon starts serve on a free loopback port with the data directory dataDir and
// waits until it is ready (/readyz 200).
func startDaemon(t *testing.T, dataDir string, args ...string) *daemon {
	t.Helper()
	all := append([]string{"--cache-dir", cacheDir, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--log-format", "json", "--grace", "5s"}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Env = append(os.Environ(), "SOLTI_SERVER=", "SOLTI_TOKEN=")
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	d := &daemon{t: t, cmd: cmd, dataDir: dataDir, stderr: &syncBuffer{}, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting serve: %v", err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(d.stderr, line)
			var rec struct {
				Msg string `json:"msg"`
				URL string `json:"url"`
			}
			if !sent && json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" && rec.URL != "" {
				urls <- rec.URL
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		d.exit = cmd.Wait()
		pw.Close()
		close(d.done)
	}()
	t.Cleanup(func() { d.kill() })
	select {
	case d.URL = <-urls:
	case <-d.done:
		t.Fatalf("serve exited before serving: %v\n%s", d.exit, d.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not log its address in 30s:\n%s", d.stderr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(d.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve at %s not ready in 30s (%v):\n%s", d.URL, err, d.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill SIGKILLs the daemon (if it still runs) and waits for it.
func (d *daemon) kill() {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Kill()
	<-d.done
}

// term sends SIGTERM and returns the exit code once the daemon has stopped.
func (d *daemon) term(timeout time.Duration) int {
	d.t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(timeout):
		d.kill()
		d.t.Fatalf("serve did not stop within %v of SIGTERM:\n%s", timeout, d.stderr)
	}
	return d.cmd.ProcessState.ExitCode()
}

// client is a Go client of the daemon with token.
func (d *daemon) client(token string) *client.Client {
	d.t.Helper()
	c, err := client.New(d.URL, client.Options{Token: token})
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

// cli runs a client command of the binary against the daemon, with token in SOLTI_TOKEN.
func (d *daemon) cli(ctx context.Context, token string, args ...string) (code int, stdout, stderr string) {
	d.t.Helper()
	cmd := exec.CommandContext(ctx, bin, append(args, "--server", d.URL)...)
	cmd.Env = append(os.Environ(), "SOLTI_TOKEN="+token, "SOLTI_SERVER=", "XDG_DATA_HOME="+d.t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		d.t.Fatalf("running %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// runnersDir makes a runners directory holding the named modules (a path from the module
// root, copied under its base name).
func runnersDir(t *testing.T, modules ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, m := range modules {
		b, err := os.ReadFile(filepath.Join("..", "..", m))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(m)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	quickModule = "tests/serve/testdata/serve-quick.wasm"
	loopModule  = "tests/serve/testdata/serve-loop.wasm"
	hogModule   = "tests/serve/testdata/serve-hog.wasm"
	execModule  = "examples/runners/go-subprocess.wasm"
)

// policy is the restart, backoff and admission every test task carries.
const policy = `"restart":{"type":"never"},"backoff":{"jitter":"none","firstMs":50,"maxMs":50,"factor":1},"admission":"queue"`

// guestTask is a manifest of a task for one of the test modules: kind Quick, Loop or Hog.
func guestTask(name, kind string, timeoutMs int) []byte {
	group := strings.ToLower(kind) + ".test.solti.dev/v1"
	return fmt.Appendf(nil, `{"apiVersion":"solti.io/v1","kind":"Task","metadata":{"name":%q},"spec":{"slot":%q,"workload":{"apiVersion":%q,"kind":%q,"spec":{}},"timeout":%d,%s}}`,
		name, name, group, kind, timeoutMs, policy)
}

// execTask is a manifest of an exec task that runs sh -c script, restarted on failure.
func execTask(name, script string, timeoutMs int, restart string) []byte {
	args, _ := json.Marshal([]string{"-c", script})
	return fmt.Appendf(nil, `{"apiVersion":"solti.io/v1","kind":"Task","metadata":{"name":%q},"spec":{"slot":%q,"workload":{"apiVersion":"solti.io/v1","kind":"Subprocess","spec":{"mode":{"command":{"command":"sh","args":%s}}}},"timeout":%d,"restart":%s,"maxRetries":5,"backoff":{"jitter":"none","firstMs":50,"maxMs":50,"factor":1},"admission":"queue"}}`,
		name, name, args, timeoutMs, restart)
}

// waitTerminal polls the task until its phase is terminal, and returns it.
func waitTerminal(t *testing.T, c *client.Client, name string, timeout time.Duration) *client.Task {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		task, err := c.Get(context.Background(), name)
		if err == nil && task.Status.Terminal() {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s not terminal after %v: %+v %v", name, timeout, task, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeTenants writes a tenants config and returns its path.
func writeTenants(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tenants.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// clientListAll lists everything.
var clientListAll = client.ListOptions{}
