package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/tenant"
)

// TestServeEndToEnd starts serve without a config (one tenant, a generated token) and drives
// it with every client command, then with raw HTTP as curl would, then stops and restarts it.
func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	runners := runnersDir(t, quickModule, loopModule, "examples/runners/go-transform.wasm")
	d := startDaemon(t, data, "--runners", runners)

	// The token is printed once and kept 0600.
	tok, err := tenant.ReadTokenFile(filepath.Join(data, tenant.TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.stderr.String(), tok) {
		t.Errorf("the new token was not printed:\n%s", d.stderr)
	}
	ctx := t.Context()
	expect := func(code int, args ...string) string {
		t.Helper()
		got, stdout, stderr := d.cli(ctx, tok, args...)
		if got != code {
			t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, got, code, stdout, stderr)
		}
		return stdout + stderr
	}

	// apply, get, logs of a guest task.
	if out := expect(0, "apply", "-f", "../../examples/tasks/manifest.json"); !strings.Contains(out, "task/transform-manifest-demo created") {
		t.Errorf("apply: %s", out)
	}
	c := d.client(tok)
	if task := waitTerminal(t, c, "transform-manifest-demo", 20*time.Second); task.Status.Phase != "succeeded" {
		t.Fatalf("transform task: %+v", task.Status)
	}
	if out := expect(0, "get", "tasks"); !strings.Contains(out, "transform-manifest-demo") || !strings.Contains(out, "succeeded") {
		t.Errorf("get tasks:\n%s", out)
	}
	if out := expect(0, "get", "tasks", "transform-manifest-demo", "-o", "yaml"); !strings.Contains(out, "phase: succeeded") || !strings.Contains(out, "slot: manifest-demo") {
		t.Errorf("get -o yaml:\n%s", out)
	}
	if out := expect(0, "logs", "transform-manifest-demo"); !strings.Contains(out, "--- attempt 1 started") || !strings.Contains(out, "--- attempt 1 succeeded") {
		t.Errorf("logs:\n%s", out)
	}

	// get -w sees a task applied after it started.
	wctx, stopWatch := context.WithCancel(ctx)
	watch := exec.CommandContext(wctx, bin, "get", "tasks", "-w", "-o", "json", "--server", d.URL)
	watch.Env = append(os.Environ(), "SOLTI_TOKEN="+tok)
	wout, _ := watch.StdoutPipe()
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(wout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			seen <- sc.Text()
		}
		close(seen)
	}()
	time.Sleep(200 * time.Millisecond) // the listing is printed first; the watch follows
	manifest := filepath.Join(t.TempDir(), "quick.json")
	_ = os.WriteFile(manifest, guestTask("quick-1", "Quick", 5000), 0o644)
	expect(0, "apply", "-f", manifest)
	gotSucceeded := false
	for deadline := time.After(20 * time.Second); !gotSucceeded; {
		select {
		case line, ok := <-seen:
			if !ok {
				t.Fatal("the watch ended")
			}
			gotSucceeded = strings.Contains(line, `"name":"quick-1"`) && strings.Contains(line, `"phase":"succeeded"`)
		case <-deadline:
			t.Fatal("the watch did not show quick-1 succeed")
		}
	}
	stopWatch()
	_ = watch.Wait()
	for range seen {
	}

	// logs -f follows a task until it ends (a loop stopped by its 1s timeout).
	_ = os.WriteFile(manifest, guestTask("loop-1", "Loop", 1000), 0o644)
	expect(0, "apply", "-f", manifest)
	if out := expect(0, "logs", "-f", "loop-1"); !strings.Contains(out, "--- attempt 1 timeout") {
		t.Errorf("logs -f:\n%s", out)
	}

	// delete, then the task is gone.
	if out := expect(0, "delete", "quick-1"); !strings.Contains(out, "task/quick-1 deleted") {
		t.Errorf("delete: %s", out)
	}
	expect(1, "get", "tasks", "quick-1")
	expect(1, "delete", "quick-1")

	// runners, push (accepted and rejected), route on the server.
	if out := expect(0, "runners"); !strings.Contains(out, "serve-quick") || !strings.Contains(out, "serve-loop") {
		t.Errorf("runners:\n%s", out)
	}
	if out := expect(0, "push", "../../tests/testdata/modules/ok.wasm", "--as", "50-ok.wasm"); !strings.Contains(out, "pushed as 50-ok.wasm") {
		t.Errorf("push: %s", out)
	}
	if _, err := os.Stat(filepath.Join(runners, "50-ok.wasm")); err != nil {
		t.Errorf("the pushed module is not in the runners directory: %v", err)
	}
	junk := filepath.Join(t.TempDir(), "junk.wasm")
	_ = os.WriteFile(junk, []byte("not wasm"), 0o644)
	if out := expect(1, "push", junk); !strings.Contains(out, "rejected") {
		t.Errorf("push junk: %s", out)
	}
	if _, err := os.Stat(filepath.Join(runners, "junk.wasm")); !os.IsNotExist(err) {
		t.Errorf("a rejected module was written: %v", err)
	}
	_ = os.WriteFile(manifest, guestTask("route-1", "Quick", 5000), 0o644)
	if out := expect(0, "route", "-f", manifest); !strings.Contains(out, "chosen: serve-quick") {
		t.Errorf("route --server:\n%s", out)
	}

	// Raw HTTP, as curl: a create, a Status error, auth.
	req, _ := http.NewRequest("POST", d.URL+"/apis/solti.io/v1/tasks", bytes.NewReader(guestTask("curl-1", "Quick", 5000)))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var created struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name, UID, ResourceVersion string
		} `json:"metadata"`
	}
	if resp.StatusCode != 201 || json.Unmarshal(body, &created) != nil || created.Kind != "Task" || created.Metadata.UID == "" || created.Metadata.ResourceVersion == "" {
		t.Errorf("POST: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(d.URL + "/apis/solti.io/v1/tasks/curl-1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(body), `"kind":"Status"`) || !strings.Contains(strings.ToLower(resp.Header.Get("WWW-Authenticate")), "bearer") {
		t.Errorf("GET without a token: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(d.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", p, resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}

	// SIGTERM drains and exits 0; a restart reuses the token and prints none, and the tasks
	// are still there.
	if code := d.term(15 * time.Second); code != 0 {
		t.Fatalf("serve exited %d on SIGTERM:\n%s", code, d.stderr)
	}
	d2 := startDaemon(t, data, "--runners", runners)
	if strings.Contains(d2.stderr.String(), tok) {
		t.Errorf("the token was printed again on restart")
	}
	if task := waitTerminal(t, d2.client(tok), "curl-1", 20*time.Second); task.Status.Phase != "succeeded" {
		t.Errorf("curl-1 after restart: %+v", task.Status)
	}
	if code := d2.term(15 * time.Second); code != 0 {
		t.Errorf("second serve exited %d", code)
	}
}

// TestServeRefusesPublicWithoutConfig: a non-loopback --listen needs a config.
func TestServeRefusesPublicWithoutConfig(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(bin, "serve", "--runners", t.TempDir(), "--data-dir", t.TempDir(), "--listen", "0.0.0.0:0")
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "--listen \"0.0.0.0:0\": without --config") {
		t.Errorf("exit %v: %s", err, out)
	}
}
