package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// Exit codes of solti-wasm, as its help documents them.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInvalidTask = 3
	exitNoRunner    = 4
	exitNotExecuted = 5
	exitTimeout     = 124
	exitCanceled    = 130
)

const examples = "examples/runners"

// transformOps are go-transform's ops, to compute what a transform task must return.
var transformOps = map[string]func(string) string{
	"upper":  strings.ToUpper,
	"lower":  strings.ToLower,
	"trim":   strings.TrimSpace,
	"squash": func(s string) string { return strings.Join(strings.Fields(s), " ") },
	"reverse": func(s string) string {
		r := []rune(s)
		slices.Reverse(r)
		return string(r)
	},
	"sortwords": func(s string) string { w := strings.Fields(s); slices.Sort(w); return strings.Join(w, " ") },
}

// transformSpec reads the extension spec of a transform task file.
func transformSpec(t *testing.T, path string) (text string, ops []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cliRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	var task struct {
		Kind struct {
			Extension struct {
				Spec struct {
					Text string   `json:"text"`
					Ops  []string `json:"ops"`
				} `json:"spec"`
			} `json:"extension"`
		} `json:"kind"`
	}
	if err := json.Unmarshal(b, &task); err != nil {
		t.Fatal(err)
	}
	return task.Kind.Extension.Spec.Text, task.Kind.Extension.Spec.Ops
}

// checkTransformOutput checks a transform run's output against its task file.
func checkTransformOutput(t *testing.T, taskPath string, output json.RawMessage) {
	t.Helper()
	text, ops := transformSpec(t, taskPath)
	want := text
	for _, op := range ops {
		want = transformOps[op](want)
	}
	var got struct {
		Result string   `json:"result"`
		Ops    []string `json:"ops"`
		Counts struct {
			Bytes, Runes, Words, Lines int
		} `json:"counts"`
	}
	if err := json.Unmarshal(output, &got); err != nil {
		t.Fatalf("output %s: %v", output, err)
	}
	if got.Result != want {
		t.Errorf("result %q, want %q", got.Result, want)
	}
	if !slices.Equal(got.Ops, ops) {
		t.Errorf("ops %v, want %v", got.Ops, ops)
	}
	c := got.Counts
	if c.Bytes != len(want) || c.Runes != utf8.RuneCountInString(want) || c.Words != len(strings.Fields(want)) || c.Lines != 1 {
		t.Errorf("counts %+v, want bytes %d, runes %d, words %d, lines 1", c, len(want), utf8.RuneCountInString(want), len(strings.Fields(want)))
	}
}

func TestRunTransform(t *testing.T) {
	t.Parallel()
	const task = "examples/tasks/transform.json"
	t.Run("text", func(t *testing.T) {
		t.Parallel()
		r := cli(t, "run", "--runners", examples, task)
		expect(t, r, exitOK, []string{
			"run id:   go-transform-transform-demo-",
			"runner:   go-transform (examples/runners/go-transform.wasm)",
			"plan:     guest",
			`output:   {"result":"SOLTI-WASM ROUTES EACH TASK`,
			"outcome:  success (",
		}, nil)
	})
	t.Run("json", func(t *testing.T) {
		t.Parallel()
		r := cli(t, "run", "--runners", examples, "--output", "json", task)
		expect(t, r, exitOK, nil, nil)
		var rec runRecord
		decode(t, r, &rec)
		if rec.Runner != "go-transform" || rec.Outcome != "success" || rec.Error != nil {
			t.Errorf("runner %q, outcome %q, error %v; want go-transform, success, none", rec.Runner, rec.Outcome, rec.Error)
		}
		checkTransformOutput(t, task, rec.Output)
	})
}

func TestRunSelector(t *testing.T) {
	t.Parallel()
	const task = "examples/tasks/selector.json"
	r := cli(t, "run", "--runners", examples, "-o", "json", task)
	expect(t, r, exitOK, nil, nil)
	var rec runRecord
	decode(t, r, &rec)
	if rec.Runner != "go-transform" {
		t.Errorf("runner %q, want go-transform (the only runner labelled lang=go that handles transform)", rec.Runner)
	}
	checkTransformOutput(t, task, rec.Output)
	var out struct{ Result string }
	if err := json.Unmarshal(rec.Output, &out); err != nil || out.Result != "SLEBAL YB DETUOR" {
		t.Errorf("output %s (%v): want the text upper-cased, then reversed", rec.Output, err)
	}
}

func TestRunEcho(t *testing.T) {
	t.Parallel()
	r := cli(t, "run", "--runners", examples, "--output=json", "examples/tasks/echo.json")
	expect(t, r, exitOK, nil, nil)
	var rec runRecord
	decode(t, r, &rec)
	if rec.Runner != "wat-echo" || rec.Module != "examples/runners/wat-echo.wasm" {
		t.Errorf("runner %q (%s), want wat-echo", rec.Runner, rec.Module)
	}
	b, err := os.ReadFile(filepath.Join(cliRoot, "examples/tasks/echo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var task struct {
		Kind struct{ Extension struct{ Spec any } }
	}
	if err := json.Unmarshal(b, &task); err != nil {
		t.Fatal(err)
	}
	var got any
	if err := json.Unmarshal(rec.Output, &got); err != nil {
		t.Fatalf("output is not JSON: %v: %s", err, rec.Output)
	}
	if !reflect.DeepEqual(got, task.Kind.Extension.Spec) {
		t.Errorf("output %s, want the task's extension spec %v", rec.Output, task.Kind.Extension.Spec)
	}
}

// TestRunJSONFields checks that --output json has every documented field, with its type.
func TestRunJSONFields(t *testing.T) {
	t.Parallel()
	r := cli(t, "run", "--runners", examples, "--output", "json", "examples/tasks/echo.json")
	expect(t, r, exitOK, nil, nil)
	var m map[string]any
	decode(t, r, &m)
	want := map[string]string{"runId": "string", "runner": "string", "module": "string", "plan": "object",
		"output": "object", "outcome": "string", "phase": "string", "attempts": "number", "exitCode": "null",
		"error": "null", "lines": "array", "durationMs": "number"}
	for field, typ := range want {
		v, ok := m[field]
		if !ok {
			t.Errorf("no field %q", field)
			continue
		}
		if got := jsonType(v); got != typ {
			t.Errorf("field %q is a %s, want a %s", field, got, typ)
		}
	}
	if len(m) != len(want) {
		t.Errorf("fields %v, want exactly %v", slices.Sorted(maps.Keys(m)), slices.Sorted(maps.Keys(want)))
	}
	if plan, _ := m["plan"].(map[string]any); plan["guest"] == nil {
		t.Errorf("plan %v is not a guest plan", m["plan"])
	}
	// An output that is not JSON is embedded as a string: the echo of an extension spec that
	// is a bare string is one.
	task := writeFile(t, t.TempDir(), "echo-string.json", `{"slot":"s","kind":{"extension":{"type":"echo","spec":"plain"}},"timeout":1000}`)
	r = cli(t, "run", "--runners", examples, "--output", "json", task)
	expect(t, r, exitOK, nil, nil)
	var rec runRecord
	decode(t, r, &rec)
	if string(rec.Output) != `"plain"` {
		t.Errorf("output %s, want the JSON string \"plain\"", rec.Output)
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", v)
}

// TestRunExecPlansNeedAllowExec: exec plans are denied by default, reported as not executed,
// naming what the policy denied and the flag that grants it; --allow-exec runs them, printing
// their lines.
func TestRunExecPlansNeedAllowExec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		task    string
		command string
		args    []string
	}{
		{"examples/tasks/subprocess.json", "echo", []string{"hello", "from", "an", "exec", "plan"}},
		{"examples/tasks/script.json", "sh", []string{"-c", "echo \"script $0 says: $GREETING $1\"\nuname -s\n", "sh", "world"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.task), func(t *testing.T) {
			t.Parallel()
			r := cli(t, "run", "--runners", examples, tt.task)
			expect(t, r, exitNotExecuted, []string{
				"runner:   go-subprocess (examples/runners/go-subprocess.wasm)",
				"plan:     exec",
				`"command":"` + tt.command + `"`,
				`error:    not executed: exec of "` + tt.command + `" denied by policy: the allow-list is empty (exec plans are denied by default)` +
					"; grant it with --allow-exec " + tt.command + "\n",
				"phase:    notExecuted (refused by the host's policy before any attempt)\n",
				"outcome:  denied\n",
			}, nil)
			if strings.Contains(r.stdout, "attempt 1") || strings.Contains(r.stdout, "stdout |") {
				t.Errorf("a refused plan ran:\n%s", r)
			}

			r = cli(t, "run", "--runners", examples, "--allow-exec", tt.command, tt.task)
			expect(t, r, exitOK, []string{"plan:     exec", "stdout | ", "exit code: 0", "phase:    succeeded after 1 attempt", "outcome:  success ("}, nil)

			r = cli(t, "run", "--runners", examples, "-o", "json", tt.task)
			expect(t, r, exitNotExecuted, nil, nil)
			var rec runRecordFull
			decode(t, r, &rec)
			var plan struct {
				Exec *struct {
					Command string            `json:"command"`
					Args    []string          `json:"args"`
					Env     map[string]string `json:"env"`
				} `json:"exec"`
			}
			if err := json.Unmarshal(rec.Plan, &plan); err != nil || plan.Exec == nil {
				t.Fatalf("plan %s is not an exec plan (%v)", rec.Plan, err)
			}
			if plan.Exec.Command != tt.command || !slices.Equal(plan.Exec.Args, tt.args) || plan.Exec.Env["GREETING"] != "hello" {
				t.Errorf("exec plan %+v, want %s %q with GREETING=hello", *plan.Exec, tt.command, tt.args)
			}
			if rec.Phase != "notExecuted" || rec.Outcome != "denied" || rec.Attempts != 0 || rec.Error == nil ||
				!strings.HasPrefix(*rec.Error, `not executed: exec of "`+tt.command+`" denied by policy`) || string(rec.Output) != "null" {
				t.Errorf("phase %q, outcome %q, attempts %d, error %v, output %s; want notExecuted, denied, 0 attempts, the policy's explanation and no output",
					rec.Phase, rec.Outcome, rec.Attempts, derefOr(rec.Error), rec.Output)
			}
		})
	}
}

func TestRunNoMatch(t *testing.T) {
	t.Parallel()
	r := cli(t, "run", "--runners", examples, "examples/tasks/nomatch.json")
	expect(t, r, exitNoRunner, nil, []string{"no suitable runner for task kind: transform", "examples/tasks/nomatch.json"})
	if r.stdout != "" {
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
}

// TestRunEnvReachesGuest uses fixture ok, whose run echoes its run input: the env the guest
// gets is the task env overlaid with --env.
func TestRunEnvReachesGuest(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{"ok.wasm": fixture("ok")})
	r := cli(t, "run", "--runners", dir, "--env", "GREETING=hi", "--env", "EQ=a=b", "--env", "GREETING=hello", "--env", "EMPTY=",
		"-o", "json", fixtureTask(t, 1000))
	expect(t, r, exitOK, nil, nil)
	var rec runRecord
	decode(t, r, &rec)
	var in struct {
		RunID   string            `json:"runId"`
		Attempt int               `json:"attempt"`
		Env     map[string]string `json:"env"`
		Payload json.RawMessage   `json:"payload"`
	}
	if err := json.Unmarshal(rec.Output, &in); err != nil {
		t.Fatalf("output %s: %v", rec.Output, err)
	}
	wantEnv := map[string]string{"GREETING": "hello", "EQ": "a=b", "EMPTY": ""}
	if !reflect.DeepEqual(in.Env, wantEnv) {
		t.Errorf("guest env %v, want %v", in.Env, wantEnv)
	}
	var payload bytes.Buffer
	if err := json.Compact(&payload, in.Payload); err != nil {
		t.Fatal(err)
	}
	if in.RunID != rec.RunID || !strings.HasPrefix(in.RunID, "fixture-ok-fx-") || in.Attempt != 1 || payload.String() != `{"ok":true}` {
		t.Errorf("run input %s: want run id %s, attempt 1, payload {\"ok\":true}", rec.Output, rec.RunID)
	}
}

// TestRunTaskEnvMerge checks the rule for a task kind with an env: --env wins over the task's
// values. The subprocess example puts the merged env into its exec plan.
func TestRunTaskEnvMerge(t *testing.T) {
	t.Parallel()
	r := cli(t, "run", "--runners", examples, "-o", "json", "--env", "GREETING=overridden", "--env", "EXTRA=1", "examples/tasks/subprocess.json")
	expect(t, r, exitNotExecuted, nil, nil)
	var rec runRecord
	decode(t, r, &rec)
	var plan struct {
		Exec struct{ Env map[string]string } `json:"exec"`
	}
	if err := json.Unmarshal(rec.Plan, &plan); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"GREETING": "overridden", "EXTRA": "1"}; !reflect.DeepEqual(plan.Exec.Env, want) {
		t.Errorf("plan env %v, want %v", plan.Exec.Env, want)
	}
}

func TestRunGuestTrapIsAFailure(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{"trap-run.wasm": fixture("trap-run")})
	r := cli(t, "run", "--runners", dir, fixtureTask(t, 1000))
	expect(t, r, exitFailure, []string{"runner:   trap-run", "error:    ", "unreachable", "outcome:  failure ("}, nil)
}

func TestRouteExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		task   string
		code   int
		want   []string
		detail map[string]string // file: a substring of its detail
		last   string
	}{
		{"transform", exitOK, []string{"assemblyscript-jsonpick.wasm kind-filtered", "c-script.wasm kind-filtered", "go-subprocess.wasm kind-filtered", "go-transform.wasm chosen", "go-wasm.wasm not-asked", "rust-httpcheck.wasm not-asked", "wat-echo.wasm not-asked"},
			map[string]string{"go-subprocess.wasm": "handles subprocess; task kind is transform"},
			"chosen: go-transform (examples/runners/go-transform.wasm)"},
		{"manifest", exitOK, []string{"assemblyscript-jsonpick.wasm kind-filtered", "c-script.wasm kind-filtered", "go-subprocess.wasm kind-filtered", "go-transform.wasm chosen", "go-wasm.wasm not-asked", "rust-httpcheck.wasm not-asked", "wat-echo.wasm not-asked"},
			map[string]string{"go-subprocess.wasm": "task kind is transform.example.com/v1/Transform"},
			"chosen: go-transform (examples/runners/go-transform.wasm)"},
		{"echo", exitOK, []string{"assemblyscript-jsonpick.wasm kind-filtered", "c-script.wasm kind-filtered", "go-subprocess.wasm kind-filtered", "go-transform.wasm kind-filtered", "go-wasm.wasm kind-filtered", "rust-httpcheck.wasm kind-filtered", "wat-echo.wasm chosen"},
			nil, "chosen: wat-echo (examples/runners/wat-echo.wasm)"},
		{"subprocess", exitOK, []string{"assemblyscript-jsonpick.wasm kind-filtered", "c-script.wasm kind-filtered", "go-subprocess.wasm chosen", "go-transform.wasm not-asked", "go-wasm.wasm not-asked", "rust-httpcheck.wasm not-asked", "wat-echo.wasm not-asked"},
			nil, "chosen: go-subprocess (examples/runners/go-subprocess.wasm)"},
		{"selector", exitOK, []string{"assemblyscript-jsonpick.wasm kind-filtered", "c-script.wasm kind-filtered", "go-subprocess.wasm kind-filtered", "go-transform.wasm chosen", "go-wasm.wasm not-asked", "rust-httpcheck.wasm not-asked", "wat-echo.wasm not-asked"},
			nil, "chosen: go-transform (examples/runners/go-transform.wasm)"},
		{"nomatch", exitNoRunner, []string{"assemblyscript-jsonpick.wasm kind-filtered", "c-script.wasm kind-filtered", "go-subprocess.wasm kind-filtered", "go-transform.wasm selector", "go-wasm.wasm kind-filtered", "rust-httpcheck.wasm kind-filtered", "wat-echo.wasm kind-filtered"},
			map[string]string{"go-transform.wasm": "lang In [rust zig]"},
			"chosen: no runner (no suitable runner for task kind: transform)"},
	}
	for _, tt := range tests {
		t.Run(tt.task, func(t *testing.T) {
			t.Parallel()
			task := "examples/tasks/" + tt.task + ".json"
			r := cli(t, "route", "--runners", examples, "-o", "json", task)
			expect(t, r, tt.code, nil, nil)
			var rep routeReport
			decode(t, r, &rep)
			if got := verdicts(rep); !slices.Equal(got, tt.want) {
				t.Errorf("verdicts %q, want %q", got, tt.want)
			}
			for i, l := range rep.Runners {
				if l.Position != i+1 {
					t.Errorf("%s: position %d, want %d", l.Module, l.Position, i+1)
				}
				if want, ok := tt.detail[filepath.Base(l.Module)]; ok && !strings.Contains(l.Detail, want) {
					t.Errorf("%s: detail %q lacks %q", l.Module, l.Detail, want)
				}
			}
			if (rep.Chosen != nil) != (tt.code == exitOK) {
				t.Errorf("chosen %+v with exit %d", rep.Chosen, tt.code)
			}

			r = cli(t, "route", "--runners", examples, task)
			expect(t, r, tt.code, []string{"RUNNER", "VERDICT", "example=transform,lang=go"}, nil)
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if last := lines[len(lines)-1]; last != tt.last {
				t.Errorf("last line %q, want %q", last, tt.last)
			}
		})
	}
}

func TestInspectExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		module, name string
		kinds        []string
		hasRun       bool
	}{
		{"go-transform", "go-transform", []string{"transform", "transform.example.com/v1/Transform"}, true},
		// The Go SDK always exports run; go-subprocess's fails, as it builds exec plans only.
		{"go-subprocess", "go-subprocess", []string{"subprocess"}, true},
		{"go-wasm", "go-wasm", []string{"wasm"}, true},
		{"wat-echo", "wat-echo", []string{"echo"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			t.Parallel()
			path := "examples/runners/" + tt.module + ".wasm"
			r := cli(t, "inspect", path)
			expect(t, r, exitOK, []string{
				"path:         " + path,
				"abi version:  1\n",
				"name:         " + tt.name + "\n",
				"kinds:        " + strings.Join(tt.kinds, ", ") + "\n",
				"  build: func (i32) -> (i32)\n",
				"solti.input: func (i32) -> ()",
				"valid:        yes",
			}, nil)

			r = cli(t, "inspect", "-o", "json", path)
			expect(t, r, exitOK, nil, nil)
			var info struct {
				ABIVersion int    `json:"abiVersion"`
				Name       string `json:"name"`
				SHA256     string `json:"sha256"`
				Size       int    `json:"size"`
				HasRun     bool   `json:"hasRun"`
				Describe   struct {
					Kinds []string `json:"kinds"`
				} `json:"describe"`
				Valid bool `json:"valid"`
			}
			decode(t, r, &info)
			st, err := os.Stat(filepath.Join(cliRoot, path))
			if err != nil {
				t.Fatal(err)
			}
			if info.ABIVersion != 1 || info.Name != tt.name || !slices.Equal(info.Describe.Kinds, tt.kinds) ||
				info.HasRun != tt.hasRun || !info.Valid || info.Size != int(st.Size()) || len(info.SHA256) != 64 {
				t.Errorf("inspect %s = %+v; want ABI 1, name %s, kinds %v, hasRun %v, size %d", path, info, tt.name, tt.kinds, tt.hasRun, st.Size())
			}
		})
	}
}

func TestInspectInvalidModules(t *testing.T) {
	t.Parallel()
	notWasm := writeFile(t, t.TempDir(), "notwasm.wasm", "this is text, not wasm\n")
	tests := []struct {
		name, path string
		want       []string // in stdout, or stderr when the file cannot be read
	}{
		{"not wasm", notWasm, []string{"size:         23 bytes", "valid:        no: read: not a wasm file"}},
		{"no marker", fixture("no-marker"), []string{"abi version:  none", "valid:        no: abi: not a solti runner: no solti_abi_v1 export"}},
		{"abi v2", fixture("abi-v2"), []string{"abi version:  2", "unsupported ABI version: module speaks solti ABI v2"}},
		{"missing build", fixture("missing-build"), []string{"supports: func (i32) -> (i32)", "valid:        no: abi: missing export: no build export"}},
		{"mistyped", fixture("mistyped"), []string{"build: func (i32) -> ()", "export build has type (i32) -> (), want (i32) -> (i32)"}},
		{"forbidden import", fixture("forbidden-import"), []string{"env.now: func () -> (i64)", "valid:        no: abi: forbidden import"}},
		{"bad name", fixture("bad-name"), []string{"valid:        no: name: invalid runner name", `"bad name!"`}},
		{"bad describe", fixture("bad-describe"), []string{"name:         bad-describe", "valid:        no: describe: invalid describe output", "Not A Kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, "inspect", tt.path)
			expect(t, r, exitFailure, append([]string{"path:         " + tt.path, "sha256:"}, tt.want...), nil)
			// stderr repeats the reason: the report's last line, after "valid:        no: ".
			_, reason, _ := strings.Cut(strings.TrimSpace(r.stdout[strings.LastIndex(r.stdout, "\nvalid:"):]), "no: ")
			if want := "solti-wasm: " + tt.path + ": not a valid runner: " + reason + "\n"; reason == "" || r.stderr != want {
				t.Errorf("stderr %q, want %q", r.stderr, want)
			}

			r = cli(t, "inspect", "--output", "json", tt.path)
			expect(t, r, exitFailure, nil, []string{"solti-wasm: " + tt.path + ": not a valid runner: " + reason})
			var rep struct {
				Valid bool    `json:"valid"`
				Stage string  `json:"stage"`
				Error *string `json:"error"`
			}
			decode(t, r, &rep)
			if rep.Valid || rep.Stage == "" || rep.Error == nil {
				t.Errorf("report %+v: want invalid, with a stage and an error", rep)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		r := cli(t, "inspect", "no/such/module.wasm")
		expect(t, r, exitFailure, nil, []string{"no/such/module.wasm", "no such file or directory"})
	})
}

// mixedDir is one runners directory with the examples, well-behaved fixture ok, modules that
// misbehave when called and files that do not load at all. The misbehaving ones sort before
// ok, so routing asks them first. big-output sorts where bigOutput says.
func mixedDir(t *testing.T, bigOutput string) string {
	t.Helper()
	dir := runnersDir(t, map[string]string{
		"10-trap-supports.wasm": fixture("trap-supports"),
		"11-loop.wasm":          fixture("loop"),
		"12-missing-build.wasm": fixture("missing-build"),
		"13-mistyped.wasm":      fixture("mistyped"),
		"14-abi-v2.wasm":        fixture("abi-v2"),
		"20-ok.wasm":            fixture("ok"),
		bigOutput:               fixture("big-output"),
		"go-subprocess.wasm":    "examples/runners/go-subprocess.wasm",
		"go-transform.wasm":     "examples/runners/go-transform.wasm",
		"wat-echo.wasm":         "examples/runners/wat-echo.wasm",
	})
	writeFile(t, dir, "notwasm.wasm", "not a module\n")
	return dir
}

// notLoaded is what a run or route on mixedDir must say on stderr about each file that does
// not load.
var notLoaded = []string{
	"12-missing-build.wasm: abi: missing export: no build export",
	"13-mistyped.wasm: abi: export has the wrong type: export build has type (i32) -> ()",
	"14-abi-v2.wasm: abi: unsupported ABI version: module speaks solti ABI v2",
	"notwasm.wasm: read: not a wasm file",
}

func TestMixedRunnersDir(t *testing.T) {
	t.Parallel()
	// big-output after ok: ok takes the fixture tasks.
	dir := mixedDir(t, "30-big-output.wasm")
	// The loop fixture's supports only stops at the call deadline: keep it short.
	const deadline = "--call-timeout=200ms"

	t.Run("fixture task runs on ok", func(t *testing.T) {
		t.Parallel()
		r := cli(t, deadline, "run", "--runners", dir, fixtureTask(t, 2000))
		expect(t, r, exitOK, []string{
			"runner:   fixture-ok (" + filepath.Join(dir, "20-ok.wasm") + ")",
			`output:   {"runId":"fixture-ok-fx-`,
			`"payload":{"ok":true}`,
			"outcome:  success",
		}, notLoaded)
		if n := strings.Count(r.stderr, "warning: module not loaded: "); n != len(notLoaded) {
			t.Errorf("%d load warnings, want %d:\n%s", n, len(notLoaded), r.stderr)
		}
		for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
			if !strings.HasPrefix(line, "warning: module not loaded: "+dir) {
				t.Errorf("stderr line %q is not a load warning naming its file", line)
			}
		}
	})

	t.Run("route", func(t *testing.T) {
		t.Parallel()
		r := cli(t, deadline, "route", "--runners", dir, "-o", "json", fixtureTask(t, 2000))
		expect(t, r, exitOK, nil, notLoaded)
		var rep routeReport
		decode(t, r, &rep)
		want := []string{
			"10-trap-supports.wasm supports-error",
			"11-loop.wasm supports-error",
			"12-missing-build.wasm not-loaded",
			"13-mistyped.wasm not-loaded",
			"14-abi-v2.wasm not-loaded",
			"20-ok.wasm chosen",
			"30-big-output.wasm not-asked",
			"go-subprocess.wasm not-asked",
			"go-transform.wasm not-asked",
			"notwasm.wasm not-loaded",
			"wat-echo.wasm not-asked",
		}
		if got := verdicts(rep); !slices.Equal(got, want) {
			t.Fatalf("verdicts\n%q\nwant\n%q", got, want)
		}
		details := map[string][]string{
			"10-trap-supports.wasm": {"supports", "trap", "unreachable"},
			"11-loop.wasm":          {"supports", "deadline exceeded", "100ms"}, // supports has its own deadline (--supports-timeout)
			"12-missing-build.wasm": {"no build export"},
			"14-abi-v2.wasm":        {"ABI v2"},
			"notwasm.wasm":          {"not a wasm file"},
		}
		for _, l := range rep.Runners {
			for _, s := range details[filepath.Base(l.Module)] {
				if !strings.Contains(l.Detail, s) {
					t.Errorf("%s: detail %q lacks %q", filepath.Base(l.Module), l.Detail, s)
				}
			}
		}
		if rep.Chosen == nil || rep.Chosen.Runner != "fixture-ok" {
			t.Errorf("chosen %+v, want fixture-ok", rep.Chosen)
		}
	})

	t.Run("route text", func(t *testing.T) {
		t.Parallel()
		r := cli(t, deadline, "route", "--runners", dir, fixtureTask(t, 2000))
		expect(t, r, exitOK, []string{
			"1  trap-supports  10-trap-supports.wasm",
			"-  -              12-missing-build.wasm",
			"chosen: fixture-ok (" + filepath.Join(dir, "20-ok.wasm") + ")",
		}, nil)
	})

	t.Run("transform example still works", func(t *testing.T) {
		t.Parallel()
		r := cli(t, deadline, "run", "--runners", dir, "-o", "json", "examples/tasks/transform.json")
		expect(t, r, exitOK, nil, notLoaded)
		var rec runRecord
		decode(t, r, &rec)
		if rec.Runner != "go-transform" {
			t.Errorf("runner %q, want go-transform", rec.Runner)
		}
		checkTransformOutput(t, "examples/tasks/transform.json", rec.Output)
	})

	t.Run("big-output fails its build", func(t *testing.T) {
		t.Parallel()
		// The same directory with big-output sorted before ok: it is the first fixture
		// runner whose supports says yes, so it builds, and its 10 MiB output is refused.
		dir := mixedDir(t, "15-big-output.wasm")
		r := cli(t, deadline, "run", "--runners", dir, fixtureTask(t, 2000))
		expect(t, r, exitNoRunner, nil, []string{"runner 'big-output' failed to build task", "15-big-output.wasm", "build: output too large"})
		if r.stdout != "" {
			t.Errorf("stdout %q, want nothing", r.stdout)
		}
	})
}

func TestBadInputs(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	syntax := writeFile(t, tmp, "syntax.json", "{\n  \"slot\": \"a\",\n  \"timeout\": x\n}\n")
	unknown := writeFile(t, tmp, "unknown.json", `{"slot":"a","kind":{"extension":{"type":"echo"}},"timeout":1,"priority":3}`)
	badSlot := writeFile(t, tmp, "slot.json", `{"slot":"a b","kind":{"extension":{"type":"echo"}},"timeout":1}`)
	noMatch := writeFile(t, tmp, "cobol.json", `{"slot":"a","kind":{"extension":{"type":"transform","spec":{"text":"x","ops":[]}}},"timeout":1000,"runnerSelector":{"matchLabels":{"lang":"cobol"}}}`)
	empty := t.TempDir()
	good := "examples/tasks/echo.json"

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"task syntax error", []string{"run", "--runners", examples, syntax}, exitInvalidTask,
			[]string{syntax, "line 3, column 14", "line 3, column 14: unexpected character 'x', want a value"}},
		{"task unknown field", []string{"run", "--runners", examples, unknown}, exitInvalidTask,
			[]string{unknown, "priority", "unknown field"}},
		{"task invalid slot", []string{"run", "--runners", examples, badSlot}, exitInvalidTask,
			[]string{badSlot, `slot: "a b" must be`}},
		{"task file missing", []string{"run", "--runners", examples, "no/such/task.json"}, exitInvalidTask,
			[]string{"no/such/task.json", "no such file or directory"}},
		{"route task syntax error", []string{"route", "--runners", examples, syntax}, exitInvalidTask,
			[]string{"line 3, column 14"}},
		{"selector matches nothing", []string{"run", "--runners", examples, noMatch}, exitNoRunner,
			[]string{"no suitable runner for task kind: transform"}},
		{"runners dir missing", []string{"run", "--runners", "no/such/dir", good}, exitNoRunner,
			[]string{"--runners no/such/dir: no such directory"}},
		{"runners dir is a file", []string{"run", "--runners", good, good}, exitNoRunner,
			[]string{"--runners " + good + ": not a directory"}},
		{"runners dir empty", []string{"run", "--runners", empty, good}, exitNoRunner,
			[]string{"no runner module loaded: the directory has no *.wasm file"}},
		{"route runners dir missing", []string{"route", "--runners", "no/such/dir", good}, exitNoRunner,
			[]string{"--runners no/such/dir: no such directory"}},
		{"missing --runners", []string{"run", good}, exitUsage, []string{`required flag(s) "runners" not set`, "solti-wasm run --help"}},
		{"missing task argument", []string{"run", "--runners", examples}, exitUsage, []string{"TASK.json"}},
		{"two task arguments", []string{"route", "--runners", examples, good, good}, exitUsage, []string{"want one argument"}},
		{"bad --output", []string{"run", "--runners", examples, "--output", "yaml", good}, exitUsage, []string{`"yaml"`, "--output", "want text or json"}},
		{"bad --log-level", []string{"--log-level", "loud", "run", "--runners", examples, good}, exitUsage, []string{`"loud"`, "--log-level"}},
		{"bad --engine", []string{"--engine", "v8", "version"}, exitUsage, []string{`"v8"`, "--engine", "wazero"}},
		{"bad --call-timeout", []string{"--call-timeout", "soon", "version"}, exitUsage, []string{"--call-timeout"}},
		{"negative --call-timeout", []string{"--call-timeout=-1s", "version"}, exitUsage, []string{"--call-timeout"}},
		{"zero --max-memory-pages", []string{"--max-memory-pages", "0", "version"}, exitUsage, []string{"--max-memory-pages"}},
		{"bad --env", []string{"run", "--runners", examples, "--env", "NOVALUE", good}, exitUsage, []string{`--env "NOVALUE": want KEY=VALUE`}},
		{"unknown command", []string{"frobnicate"}, exitUsage, []string{`unknown command "frobnicate"`}},
		{"did you mean", []string{"rnu"}, exitUsage, []string{"solti-wasm: unknown command \"rnu\" for \"solti-wasm\"\n\nDid you mean this?\n\trun\n\nRun 'solti-wasm --help' for usage.\n"}},
		{"unknown flag", []string{"run", "--runers", examples, good}, exitUsage, []string{"--runers"}},
		{"inspect without a module", []string{"inspect"}, exitUsage, []string{"MODULE.wasm"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := cli(t, tt.args...)
			expect(t, r, tt.code, nil, tt.stderr)
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
				t.Errorf("stderr holds a panic:\n%s", r.stderr)
			}
			// cobra's suggestions take their own lines.
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n") + 1; lines > 2 && !strings.Contains(r.stderr, "\nDid you mean this?\n") {
				t.Errorf("%d lines of stderr, want the error (and a pointer to --help):\n%s", lines, r.stderr)
			}
		})
	}
}

// TestRunCanceledBySIGINT interrupts a run whose guest loops forever, as Ctrl-C would.
func TestRunCanceledBySIGINT(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{"loop-run.wasm": fixture("loop-run")})
	cmd := cliCommand(t.Context(), "--log-level=info", "run", "--runners", dir, fixtureTask(t, 60000))
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The signal must arrive while the guest runs: wait for the CLI to say it started.
	var logs strings.Builder
	sc := bufio.NewScanner(stderr)
	started := false
	for !started && sc.Scan() {
		logs.WriteString(sc.Text() + "\n")
		started = strings.Contains(sc.Text(), `msg="run started"`)
	}
	if !started {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("no \"run started\" log; stderr:\n%s", logs.String())
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() { // keep reading stderr so the CLI never blocks on it
		for sc.Scan() {
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-waited
		t.Fatalf("still running 10s after SIGINT; stdout:\n%s", stdout.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitCanceled {
		t.Errorf("exit code %d, want %d; stdout:\n%s", code, exitCanceled, stdout.String())
	}
	if d := time.Since(sent); d > 5*time.Second {
		t.Errorf("took %v to stop after SIGINT", d)
	}
	for _, want := range []string{"runner:   loop-run", "error:    ", "interrupt", "outcome:  canceled ("} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestRunTaskTimeout runs a guest that loops forever under a 300 ms task timeout, with the
// per-call deadline on (the default) and off: with --call-timeout=0 supports and build cannot
// be interrupted, but a run still stops at the task's deadline.
func TestRunTaskTimeout(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{"loop-run.wasm": fixture("loop-run")})
	task := fixtureTask(t, 300)
	for _, callTimeout := range []string{"1s", "0"} {
		t.Run("call-timeout="+callTimeout, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			r := cli(t, "--call-timeout="+callTimeout, "run", "--runners", dir, "-o", "json", task)
			elapsed := time.Since(start)
			expect(t, r, exitTimeout, nil, nil)
			var rec runRecord
			decode(t, r, &rec)
			if rec.Outcome != "timeout" || rec.Error == nil || !strings.Contains(*rec.Error, "timeout of 300ms") {
				t.Errorf("outcome %q, error %v; want timeout, naming the task's 300ms timeout", rec.Outcome, rec.Error)
			}
			if rec.DurationMs < 300 || elapsed > 10*time.Second {
				t.Errorf("durationMs %v, process took %v: want at least the 300 ms timeout, and no hang", rec.DurationMs, elapsed)
			}
		})
	}
}

func TestVersionAndHelp(t *testing.T) {
	t.Parallel()
	r := cli(t, "version")
	expect(t, r, exitOK, []string{"solti-wasm ", "abi:     v1\n", "engines: ", "wazero"}, nil)

	r = cli(t, "--help")
	expect(t, r, exitOK, []string{"Exit codes:", "124", "130", "run", "route", "inspect", "--cache-dir", "--call-timeout", "--max-memory-pages", "--log-level", "wazero"}, nil)
}

// TestLogLevel checks that guest logs reach stderr as structured logs at the chosen level:
// fixture ok logs "building" at info from build.
func TestLogLevel(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{"ok.wasm": fixture("ok")})
	task := fixtureTask(t, 1000)
	r := cli(t, "--log-level", "info", "run", "--runners", dir, task)
	expect(t, r, exitOK, nil, []string{"level=INFO msg=building runner=fixture-ok export=build"})
	r = cli(t, "run", "--runners", dir, task) // default warn: silent
	expect(t, r, exitOK, nil, nil)
	if r.stderr != "" {
		t.Errorf("stderr %q at the default level, want nothing", r.stderr)
	}
}

// TestRunNoRunnerSaysWhy checks that run, finding no runner, warns about every runner whose
// supports faulted (a trap, the call deadline), naming runner, module, export and cause: a
// fault counts as no, and would otherwise appear nowhere.
func TestRunNoRunnerSaysWhy(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{
		"10-trap-supports.wasm": fixture("trap-supports"),
		"11-loop.wasm":          fixture("loop"),
	})
	r := cli(t, "--call-timeout=200ms", "run", "--runners", dir, fixtureTask(t, 2000))
	expect(t, r, exitNoRunner, nil, []string{
		`level=WARN msg="supports failed" runner=trap-supports module=` + filepath.Join(dir, "10-trap-supports.wasm") + ` export=supports cause="trap: wasm error: unreachable`,
		`level=WARN msg="supports failed" runner=loop module=` + filepath.Join(dir, "11-loop.wasm") + ` export=supports cause="deadline exceeded: did not return within the 100ms call deadline"`,
		"no suitable runner for task kind: fixture (solti-wasm route explains each runner's verdict)",
	})
	if strings.Index(r.stderr, "runner=trap-supports") > strings.Index(r.stderr, "runner=loop") {
		t.Errorf("warnings not in routing order:\n%s", r.stderr)
	}
}

// TestNoProgressOnPipes checks that a cold compile (no cache) of a Go example, which takes
// longer than the progress line's delay, prints nothing on stderr when it is not a terminal.
func TestNoProgressOnPipes(t *testing.T) {
	t.Parallel()
	r := cli(t, "--cache-dir=", "inspect", "examples/runners/go-transform.wasm")
	expect(t, r, exitOK, []string{"valid:        yes"}, nil)
	if r.stderr != "" {
		t.Errorf("stderr %q, want nothing: stderr is a pipe", r.stderr)
	}
}

// TestNoKindsWarning: route and inspect warn, in one line, about a module that declares no
// kinds (the router asks its supports about every task), and only about such modules.
func TestNoKindsWarning(t *testing.T) {
	t.Parallel()
	const warning = "declares no kinds: its supports is called for every task"
	dir := runnersDir(t, map[string]string{
		"10-fleet-nokinds.wasm": fixture("fleet-nokinds"),
		"20-fleet.wasm":         fixture("fleet"),
	})
	r := cli(t, "route", "--runners", dir, fixtureTask(t, 1000))
	// Both modules are named fleet-0000: the second is refused as a duplicate, so only the
	// first is loaded, and it declares no kinds.
	expect(t, r, exitNoRunner, nil, []string{"warning: fleet-0000 (10-fleet-nokinds.wasm) " + warning})
	if n := strings.Count(r.stderr, warning); n != 1 {
		t.Errorf("%d no-kinds warnings, want 1:\n%s", n, r.stderr)
	}
	r = cli(t, "inspect", filepath.Join(repoRoot(t), fixture("fleet-nokinds")))
	expect(t, r, exitOK, nil, []string{"warning: fleet-0000 (fleet-nokinds.wasm) " + warning})
	r = cli(t, "inspect", filepath.Join(repoRoot(t), fixture("fleet")))
	expect(t, r, exitOK, []string{"kinds:        fleet-0000"}, nil)
	if strings.Contains(r.stderr, warning) {
		t.Errorf("inspect warns about a module that declares its kind:\n%s", r.stderr)
	}
}
