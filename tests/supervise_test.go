package tests

import (
	"bufio"

	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests of run under the supervisor: exec, wasi and guest plans with live
// output, restarts, Ctrl-C and --metrics-addr.

// shTask writes a subprocess task running sh -c script, with extra top-level fields.
func shTask(t *testing.T, script, extra string) string {
	t.Helper()
	args, _ := json.Marshal([]string{"-c", script})
	return writeFile(t, t.TempDir(), "sh.json", fmt.Sprintf(
		`{"slot":"sh","kind":{"subprocess":{"mode":{"command":{"command":"sh","args":%s}}}},"timeout":20000%s}`, args, extra))
}

type runRecordFull struct {
	runRecord
	Phase    string `json:"phase"`
	Attempts int    `json:"attempts"`
	ExitCode *int   `json:"exitCode"`
	Lines    []struct {
		Attempt int    `json:"attempt"`
		Stream  string `json:"stream"`
		Text    string `json:"text"`
	} `json:"lines"`
}

func (r runRecordFull) lines() []string {
	var out []string
	for _, l := range r.Lines {
		out = append(out, fmt.Sprintf("%d %s %s", l.Attempt, l.Stream, l.Text))
	}
	return out
}

func TestRunExecStreamsLines(t *testing.T) {
	t.Parallel()
	task := shTask(t, "echo out; echo err >&2; echo $GREETING", `,"labels":{"x":"y"}`)
	r := cli(t, "run", "--runners", examples, "--allow-exec", "sh", "--env", "GREETING=hi", "-o", "json", task)
	expect(t, r, exitOK, nil, nil)
	var rec runRecordFull
	decode(t, r, &rec)
	got := rec.lines()
	for _, want := range []string{"1 stdout out", "1 stderr err", "1 stdout hi"} {
		if !slices.Contains(got, want) {
			t.Errorf("lines %q lack %q", got, want)
		}
	}
	if rec.Phase != "succeeded" || rec.Attempts != 1 || rec.ExitCode == nil || *rec.ExitCode != 0 {
		t.Errorf("phase %q, attempts %d, exit code %v", rec.Phase, rec.Attempts, rec.ExitCode)
	}
}

func TestRunRestartUntilExhausted(t *testing.T) {
	t.Parallel()
	task := shTask(t, "echo try; exit 3", `,"restart":{"type":"onFailure"},"maxRetries":1,"backoff":{"jitter":"none","firstMs":10,"maxMs":10,"factor":1}`)
	r := cli(t, "run", "--runners", examples, "--allow-exec", "sh", task)
	expect(t, r, exitFailure, []string{
		"stdout | try\nattempt 1: failure: process exited with non-zero code: 3; restarting\nstdout | try\n",
		"exit code: 3", "error:    process exited with non-zero code: 3", "phase:    exhausted after 2 attempts", "outcome:  failure (",
	}, nil)
}

func TestRunNonZeroAllowed(t *testing.T) {
	t.Parallel()
	args, _ := json.Marshal([]string{"-c", "exit 7"})
	task := writeFile(t, t.TempDir(), "t.json", fmt.Sprintf(
		`{"slot":"sh","kind":{"subprocess":{"mode":{"command":{"command":"sh","args":%s}},"failOnNonZero":false}},"timeout":5000}`, args))
	r := cli(t, "run", "--runners", examples, "--allow-exec", "sh", task)
	expect(t, r, exitOK, []string{"exit code: 7", "phase:    succeeded"}, nil)
}

func TestRunWasiPlan(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{"wasi-plan.wasm": fixture("wasi-plan")})
	if err := os.Mkdir(filepath.Join(dir, "wasi"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cliRoot, fixture("wasi-echo")))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "wasi"), "wasi-echo.wasm", string(b))
	r := cli(t, "run", "--runners", dir, fixtureTask(t, 5000))
	// wasi-echo exits with its number of arguments: 2, a failure like a process's.
	expect(t, r, exitFailure, []string{"plan:     wasi", "stdout | a\n", "stdout | b\n", "stderr | K=V\n", "exit code: 2",
		"error:    process exited with non-zero code: 2", "phase:    failed after 1 attempt"}, nil)
	if r.stderr != "" {
		t.Errorf("stderr %q, want nothing (the wasi subdirectory is not a runner module)", r.stderr)
	}

	// Without the module: a fatal load error, not retried.
	empty := t.TempDir()
	r = cli(t, "run", "--runners", dir, "--wasi-dir", empty, fixtureTask(t, 5000))
	expect(t, r, exitFailure, []string{"error:    ", "wasi-echo.wasm: read: open", "phase:    failed after 1 attempt"}, nil)
}

func TestRunGuestEmitsLines(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{"emit-run.wasm": fixture("emit-run")})
	r := cli(t, "run", "--runners", dir, fixtureTask(t, 5000))
	expect(t, r, exitOK, []string{"plan:     guest\nstdout | one\nstdout | two\nstderr | careful\nlog    | WARN logged\noutput:   done\n",
		"phase:    succeeded after 1 attempt"}, nil)
}

// startCLI starts solti-wasm and returns a scanner over its stdout and one over stderr.
func startCLI(t *testing.T, args ...string) (*cliProcess, error) {
	t.Helper()
	cmd := cliCommand(t.Context(), args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errp, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &cliProcess{cmd: cmd, stdout: make(chan string, 1000), stderr: make(chan string, 1000)}
	pump := func(r io.Reader, ch chan string) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}
	go pump(out, p.stdout)
	go pump(errp, p.stderr)
	return p, nil
}

type cliProcess struct {
	cmd            interface{ Wait() error }
	stdout, stderr chan string
}

// waitLine reads ch until a line matches re, and returns the line.
func waitLine(t *testing.T, ch chan string, re *regexp.Regexp) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended before a line matching %s", re)
			}
			if re.MatchString(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line matching %s", re)
		}
	}
}

func drain(ch chan string) (all []string) {
	for l := range ch {
		all = append(all, l)
	}
	return all
}

// TestRunSIGINTKillsProcessGroup: Ctrl-C during an exec plan kills the process and what it
// started, and the task ends canceled.
func TestRunSIGINTKillsProcessGroup(t *testing.T) {
	t.Parallel()
	task := shTask(t, "sleep 300 & echo $!; wait", "")
	p, err := startCLI(t, "run", "--runners", examples, "--allow-exec", "sh", task)
	if err != nil {
		t.Fatal(err)
	}
	line := waitLine(t, p.stdout, regexp.MustCompile(`^stdout \| \d+$`))
	pid, _ := strconv.Atoi(strings.TrimPrefix(line, "stdout | "))
	cmd := p.cmd.(interface{ Wait() error })
	proc := cliProcOf(p)
	if err := proc.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest := strings.Join(drain(p.stdout), "\n")
	drain(p.stderr)
	err = cmd.Wait()
	if code := exitCodeOf(err); code != exitCanceled {
		t.Errorf("exit code %d, want %d; stdout:\n%s", code, exitCanceled, rest)
	}
	for _, want := range []string{"phase:    canceled after 1 attempt", "outcome:  canceled (", "interrupt"} {
		if !strings.Contains(rest, want) {
			t.Errorf("stdout lacks %q:\n%s", want, rest)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for processRuns(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("the task's background process %d survived Ctrl-C", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunMetricsAddr scrapes /metrics while a guest runs, then stops it with SIGINT.
func TestRunMetricsAddr(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := runnersDir(t, map[string]string{"loop-run.wasm": fixture("loop-run")})
	p, err := startCLI(t, "--log-level=info", "run", "--runners", dir, "--metrics-addr", addr, fixtureTask(t, 60000))
	if err != nil {
		t.Fatal(err)
	}
	waitLine(t, p.stderr, regexp.MustCompile(`msg="run started"`))
	// "run started" is logged just before the task is submitted: poll until the attempt and
	// its calls show up, rather than racing the supervisor.
	wants := []string{
		`solti_runner_tasks_started_total{runner="wasm"} 1`,
		`solti_wasm_calls_total{digest="`,
		`export="build",runner="loop-run"} 1`,
		`solti_wasm_module_loads_total{runner="loop-run"} 1`,
		"go_goroutines",
	}
	var missing []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		missing = missing[:0]
		for _, want := range wants {
			if !strings.Contains(string(body), want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range missing {
		t.Errorf("/metrics lacks %q", want)
	}
	if err := cliProcOf(p).Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	drain(p.stdout)
	drain(p.stderr)
	if code := exitCodeOf(p.cmd.Wait()); code != exitCanceled {
		t.Errorf("exit code %d, want %d", code, exitCanceled)
	}
}

func TestRunMetricsAddrInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := cli(t, "run", "--runners", examples, "--metrics-addr", ln.Addr().String(), "examples/tasks/echo.json")
	expect(t, r, exitUsage, nil, []string{"--metrics-addr " + ln.Addr().String(), "address already in use"})
}

// TestWatchMetricsAddr: watch serves the same metrics; a loaded module is counted.
func TestWatchMetricsAddr(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := runnersDir(t, map[string]string{"ok.wasm": fixture("ok")})
	p, err := startCLI(t, "watch", "--runners", dir, "--metrics-addr", addr)
	if err != nil {
		t.Fatal(err)
	}
	waitLine(t, p.stdout, regexp.MustCompile(`loaded`))
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `solti_wasm_module_loads_total{runner="fixture-ok"} 1`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %q", want)
	}
	if err := cliProcOf(p).Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	drain(p.stdout)
	drain(p.stderr)
	if code := exitCodeOf(p.cmd.Wait()); code != exitOK {
		t.Errorf("exit code %d, want 0", code)
	}
}

func TestRunWarmRuns(t *testing.T) {
	t.Parallel()
	r := cli(t, "run", "--runners", examples, "--warm-runs", "100", "-o", "json", "examples/tasks/transform.json")
	expect(t, r, exitOK, nil, nil)
	var rec runRecord
	decode(t, r, &rec)
	checkTransformOutput(t, "examples/tasks/transform.json", rec.Output)
	r = cli(t, "run", "--runners", examples, "--warm-runs", "-1", "examples/tasks/transform.json")
	expect(t, r, exitUsage, nil, []string{"--warm-runs -1: must be >= 0"})
}
