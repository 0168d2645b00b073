package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/internal/testengine"
	"github.com/solti-wasm/solti-wasm/runtime"
	"go.uber.org/goleak"
)

// raceCompileTimeout replaces the 30 s compile budget for the Go guests these tests compile
// in-process: under the race detector, on a loaded 2-core machine, wazero compiles a Go guest
// several times slower than the budget assumes (over 30 s seen in CI-like runs).
const raceCompileTimeout = 10 * time.Minute

// The CLI tests drive a solti-wasm binary that TestMain builds once, as a user would: through
// its arguments, exit code, stdout and stderr. Every invocation gets --cache-dir: the machine's
// shared test cache (internal/testcache), or without it a temporary directory shared by the
// whole package, so that the Go example modules (about a second each to compile) are compiled
// once; wazero's file cache is safe for concurrent processes. (The CLI, a program with its
// module's build information, files its entries under wazero's version; the race-built test
// binary's in-process runtimes under "dev": the two never mix.) Commands run in the module
// root, so the example paths read as in the docs.

var (
	cliBin   string // the solti-wasm binary
	cliCache string // compiled-code cache shared by every invocation
	cliRoot  string // the module root, the commands' working directory
	// cliGlobal are the flags every invocation gets: the cache and, with SOLTI_TEST_ENGINE,
	// the engine (the binary is then built with that engine's build tag).
	cliGlobal []string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "solti-wasm-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	cliRoot, cliCache, cliBin = root, filepath.Join(tmp, "cache"), filepath.Join(tmp, "solti-wasm")
	if d := testcache.Dir(); d != "" {
		cliCache = d
	}
	if err := testengine.Select(runtime.Engines()); err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	cliGlobal = []string{"--cache-dir", cliCache}
	buildArgs := []string{"build", "-o", cliBin}
	if cliCache == testcache.Dir() {
		// The CLI then files its entries where the test binaries and testcache.Warm do.
		buildArgs = append(buildArgs, testcache.DevVersionFlag)
	}
	if e := testengine.Name(); e != "" {
		cliGlobal = append(cliGlobal, "--engine", e)
		if e == "wasmtime" {
			buildArgs = append(buildArgs, "-tags", "wasmtime")
		}
	}
	// The Go examples, compiled outside the race detector while the CLI builds: the entries the
	// in-process runtimes (TestWireFormsLookAlikeToEveryRunner) and the CLI's runs read.
	inProcess := make(chan struct{})
	go func() {
		defer close(inProcess)
		if testengine.Name() == "" {
			examples, _ := filepath.Glob(filepath.Join(root, "examples", "runners", "*.wasm"))
			if err := testcache.Warm(testcache.Product, examples...); err != nil && !errors.Is(err, testcache.ErrNoCache) {
				fmt.Fprintln(os.Stderr, "TestMain: warning: the shared compilation cache is not warm:", err)
			}
		}
	}()
	build := exec.Command("go", append(buildArgs, "./cmd/solti-wasm")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		<-inProcess
		fmt.Fprintf(os.Stderr, "TestMain: the CLI does not build: go build -o %s ./cmd/solti-wasm: %v\n%s", cliBin, err, out)
		return 1
	}
	// Warm the CLI's cache before the tests run in parallel, so that they do not all compile
	// the Go examples at once (and time out on a small machine): with the shared cache, a
	// lookup of what the warm-up compiled.
	<-inProcess
	warm := exec.Command(cliBin, append(cliGlobal, "route", "--runners", "examples/runners", "examples/tasks/transform.json")...)
	warm.Dir = root
	out, err := warm.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "TestMain: warming the compilation cache: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	if code == 0 {
		// No test may leave a goroutine behind (a CLI's output copier, a watcher).
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "TestMain: goroutines left running: %v\n", err)
			return 1
		}
	}
	return code
}

// cliResult is one finished invocation.
type cliResult struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("solti-wasm %s\nexit %d\n--- stdout:\n%s--- stderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// cliTimeout bounds every invocation: the slowest, a task timeout, takes well under a second.
const cliTimeout = 30 * time.Second

// cliCommand prepares an invocation with the shared cache.
func cliCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, cliBin, append(slices.Clip(cliGlobal), args...)...)
	cmd.Dir = cliRoot
	return cmd
}

// cli runs solti-wasm with args and returns what it did.
func cli(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := cliCommand(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("still running after %v:\n%s", cliTimeout, res)
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("solti-wasm %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// expect fails the test unless r exited with code and its stdout and stderr hold the given
// strings (matched as substrings).
func expect(t *testing.T, r cliResult, code int, stdout, stderr []string) {
	t.Helper()
	ok := r.code == code
	if !ok {
		t.Errorf("exit code %d, want %d", r.code, code)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q", s)
			ok = false
		}
	}
	for _, s := range stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q", s)
			ok = false
		}
	}
	if !ok {
		t.Logf("%s", r)
	}
}

// decode parses r's stdout as one JSON object into v.
func decode(t *testing.T, r cliResult, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", r)
	}
}

// runRecord is run --output json's object.
type runRecord struct {
	RunID      string          `json:"runId"`
	Runner     string          `json:"runner"`
	Module     string          `json:"module"`
	Plan       json.RawMessage `json:"plan"`
	Output     json.RawMessage `json:"output"`
	Outcome    string          `json:"outcome"`
	Error      *string         `json:"error"`
	DurationMs float64         `json:"durationMs"`
}

// routeReport is route --output json's object.
type routeReport struct {
	Task    string      `json:"task"`
	Kind    string      `json:"kind"`
	Runners []routeLine `json:"runners"`
	Chosen  *routeLine  `json:"chosen"`
}

type routeLine struct {
	Position int               `json:"position"`
	Runner   string            `json:"runner"`
	Module   string            `json:"module"`
	Labels   map[string]string `json:"labels"`
	Verdict  string            `json:"verdict"`
	Detail   string            `json:"detail"`
}

// verdicts lists "file verdict" for each line of a route report, in order.
func verdicts(rep routeReport) []string {
	out := make([]string, len(rep.Runners))
	for i, l := range rep.Runners {
		out[i] = filepath.Base(l.Module) + " " + l.Verdict
	}
	return out
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runnersDir makes a temporary runners directory: each key is a file name in it, each value
// the file to copy, relative to the module root.
func runnersDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		b, err := os.ReadFile(filepath.Join(cliRoot, src))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, name, string(b))
	}
	return dir
}

// fixture is the path of a test module.
func fixture(name string) string { return "tests/testdata/modules/" + name + ".wasm" }

// fixtureTask is a task of the fixture modules' kind, with the given timeout in ms.
func fixtureTask(t *testing.T, timeoutMs int) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "fixture.json",
		fmt.Sprintf(`{"slot":"fx","kind":{"extension":{"type":"fixture"}},"timeout":%d}`, timeoutMs))
}

// cliProcOf returns the OS process of a started CLI.
func cliProcOf(p *cliProcess) *os.Process { return p.cmd.(*exec.Cmd).Process }

// exitCodeOf returns the exit code of a finished command's Wait error.
func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// processRuns reports whether pid runs: a killed orphan stays a zombie until init reaps it.
func processRuns(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// skipOnWasmtime skips a test of what the wasmtime engine does not do yet, naming it; the
// same test runs on wazero in the main suite.
func skipOnWasmtime(t *testing.T, what string) {
	t.Helper()
	if testengine.Name() == "wasmtime" {
		t.Skipf("wasmtime engine: %s is not implemented yet (this test runs on wazero in the main suite)", what)
	}
}
