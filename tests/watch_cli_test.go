package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// watchEvent is one line of solti-wasm watch --output json.
type watchEvent struct {
	Seq        int    `json:"seq"`
	Type       string `json:"type"`
	Path       string `json:"path"`
	Runner     string `json:"runner"`
	Digest     string `json:"digest"`
	PrevDigest string `json:"prevDigest"`
	Stage      string `json:"stage"`
	Reason     string `json:"reason"`
}

// TestCLIWatch drives solti-wasm watch as an operator would: it prints one event per line as
// the directory changes, and exits 0 on SIGINT.
func TestCLIWatch(t *testing.T) {
	t.Parallel()
	for _, output := range []string{"json", "text"} {
		t.Run(output, func(t *testing.T) {
			t.Parallel()
			dir := runnersDir(t, map[string]string{"hot.wasm": fixture("hot-a")})
			ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
			defer cancel()
			cmd := cliCommand(ctx, "watch", "--runners", dir, "--output", output, "--debounce", "10ms")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			next := func(typ string) string {
				t.Helper()
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("watch ended; stderr:\n%s", stderr.String())
					}
					if output == "json" {
						var e watchEvent
						if err := json.Unmarshal([]byte(l), &e); err != nil {
							t.Fatalf("not a JSON line: %q: %v", l, err)
						}
						if e.Type != typ || filepath.Base(e.Path) != "hot.wasm" || (typ != "rejected" && e.Runner != "hot") || len(e.Digest) != 64 {
							t.Fatalf("event %s, want %s", l, typ)
						}
					} else if f := strings.Fields(l); len(f) < 4 || f[1] != typ || f[2] != "hot.wasm" {
						t.Fatalf("line %q, want a %s event of hot.wasm", l, typ)
					}
					return l
				case <-time.After(10 * time.Second):
					t.Fatalf("no %s event within 10s; stderr:\n%s", typ, stderr.String())
				}
				return ""
			}
			put := func(fx string) {
				t.Helper()
				b, err := os.ReadFile(filepath.Join(cliRoot, fixture(fx)))
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, dir, "hot.wasm.tmp", string(b))
				if err := os.Rename(filepath.Join(dir, "hot.wasm.tmp"), filepath.Join(dir, "hot.wasm")); err != nil {
					t.Fatal(err)
				}
			}
			next("loaded")
			put("hot-b")
			if l := next("swapped"); output == "text" && !strings.Contains(l, " runner=hot digest=") {
				t.Errorf("swapped line %q", l)
			}
			put("abi-v2")
			if l := next("rejected"); !strings.Contains(l, "ABI v2") {
				t.Errorf("rejected line %q does not say why", l)
			}
			if err := os.Remove(filepath.Join(dir, "hot.wasm")); err != nil {
				t.Fatal(err)
			}
			next("removed")
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			for range lines {
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if errors.As(err, &ee) || err != nil {
				t.Fatalf("watch after SIGINT: %v, want exit 0; stderr:\n%s", err, stderr.String())
			}
		})
	}
}

func TestCLIWatchUsage(t *testing.T) {
	t.Parallel()
	r := cli(t, "watch", "--runners", filepath.Join(t.TempDir(), "nope"))
	expect(t, r, exitNoRunner, nil, []string{"no such directory"})
	r = cli(t, "watch")
	expect(t, r, exitUsage, nil, []string{"runners"})
}

// run and route load a directory with the registry's rules: an order file puts the files it
// lists first, and the failed modules' lines follow that order too.
func TestCLIRouteOrderFile(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{"a.wasm": fixture("ok"), "m.wasm": fixture("abi-v2"), "z.wasm": fixture("build-error")})
	task := fixtureTask(t, 1000)
	r := cli(t, "route", "--runners", dir, "--output", "json", task)
	expect(t, r, exitOK, nil, nil)
	var rep routeReport
	decode(t, r, &rep)
	if got := strings.Join(verdicts(rep), ", "); got != "a.wasm chosen, m.wasm not-loaded, z.wasm not-asked" {
		t.Errorf("lexical order: %s", got)
	}
	writeFile(t, dir, "runners.order", "# z first\nz.wasm\nm.wasm\n")
	r = cli(t, "route", "--runners", dir, "--output", "json", task)
	expect(t, r, exitOK, nil, nil)
	rep = routeReport{}
	decode(t, r, &rep)
	if got := strings.Join(verdicts(rep), ", "); got != "z.wasm chosen, m.wasm not-loaded, a.wasm not-asked" {
		t.Errorf("with the order file: %s", got)
	}
}
