package tests

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// gofmt-as-wasm: the Go toolchain's own cmd/gofmt, built for wasip1, run by solti-wasm run on
// tasks of solti's wasm kind, which the go-wasm example runner turns into wasi plans.

var (
	gofmtOnce sync.Once
	gofmtDir  string // the --wasi-dir holding gofmt.wasm
	gofmtErr  error
)

// gofmtWasiDir builds gofmt.wasm once per test binary, next to the CLI binary (TestMain
// removes that directory at the end):
//
//	GOOS=wasip1 GOARCH=wasm go build -o gofmt.wasm cmd/gofmt
func gofmtWasiDir(t *testing.T) string {
	t.Helper()
	gofmtOnce.Do(func() {
		dir := filepath.Join(filepath.Dir(cliBin), "wasi")
		if gofmtErr = os.Mkdir(dir, 0o755); gofmtErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "gofmt.wasm"), "cmd/gofmt")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			gofmtErr = fmt.Errorf("GOOS=wasip1 GOARCH=wasm go build -o gofmt.wasm cmd/gofmt: %v\n%s", err, msg)
			return
		}
		gofmtDir = dir
	})
	if gofmtErr != nil {
		t.Fatal(gofmtErr)
	}
	return gofmtDir
}

const unformatted = "package main\nimport \"fmt\"\nfunc main( ) {\nfmt.Println( \"hi\" )\n}\n"

// wasmTask writes a task of kind wasm running gofmt.wasm with args and env.
func wasmTask(t *testing.T, args []string, env map[string]string) string {
	// solti-model refuses null for an optional list or map, and so does the host: leave
	// them empty instead.
	if args == nil {
		args = []string{}
	}
	if env == nil {
		env = map[string]string{}
	}
	t.Helper()
	task, err := json.Marshal(map[string]any{
		"slot":    "gofmt",
		"kind":    map[string]any{"wasm": map[string]any{"module": "gofmt.wasm", "args": args, "env": env}},
		"timeout": 120000, // the first compilation of gofmt.wasm takes seconds on a busy machine
	})
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, t.TempDir(), "gofmt.json", string(task))
}

// stdoutText joins a run's stdout lines as the command wrote them.
func stdoutText(rec runRecordFull) string {
	var b strings.Builder
	for _, l := range rec.Lines {
		if l.Stream == "stdout" {
			b.WriteString(l.Text + "\n")
		}
	}
	return b.String()
}

func derefOr(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestRunGofmtStdin formats Go source given as the wasm task's stdin, and the committed
// example task does the same.
func TestRunGofmtStdin(t *testing.T) {
	skipOnWasmtime(t, "WASI stdin")
	t.Parallel()
	wasiDir := gofmtWasiDir(t)
	for _, tt := range []struct{ name, task, src string }{
		{"generated task", wasmTask(t, nil, map[string]string{"SOLTI_WASI_STDIN": base64.StdEncoding.EncodeToString([]byte(unformatted))}), unformatted},
		{"examples/tasks/gofmt.json", "examples/tasks/gofmt.json", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "run", "--runners", examples, "--wasi-dir", wasiDir, "-o", "json", tt.task)
			expect(t, r, exitOK, nil, nil)
			var rec runRecordFull
			decode(t, r, &rec)
			var plan struct {
				Wasi struct {
					Module string `json:"module"`
					Stdin  []byte `json:"stdin"`
				} `json:"wasi"`
			}
			if err := json.Unmarshal(rec.Plan, &plan); err != nil {
				t.Fatal(err)
			}
			if rec.Runner != "go-wasm" || plan.Wasi.Module != "gofmt.wasm" || len(plan.Wasi.Stdin) == 0 {
				t.Fatalf("runner %s, plan %s: want go-wasm's wasi plan of gofmt.wasm with stdin", rec.Runner, rec.Plan)
			}
			want, err := format.Source(plan.Wasi.Stdin)
			if err != nil {
				t.Fatal(err)
			}
			if tt.src != "" && string(plan.Wasi.Stdin) != tt.src {
				t.Errorf("plan stdin %q, want %q", plan.Wasi.Stdin, tt.src)
			}
			if got := stdoutText(rec); got != string(want) || string(want) == string(plan.Wasi.Stdin) {
				t.Errorf("gofmt printed\n%s\nwant\n%s", got, want)
			}
			if rec.Phase != "succeeded" || rec.ExitCode == nil || *rec.ExitCode != 0 {
				t.Errorf("phase %s, exit code %v", rec.Phase, rec.ExitCode)
			}
		})
	}
}

// TestRunGofmtMounts: gofmt sees a directory only where the operator granted it and the plan
// asked for it; a read-only grant keeps its files unchanged, a read-write one lets gofmt -w
// rewrite them.
func TestRunGofmtMounts(t *testing.T) {
	skipOnWasmtime(t, "WASI directory mounts")
	t.Parallel()
	wasiDir := gofmtWasiDir(t)
	src := t.TempDir()
	writeFile(t, src, "main.go", unformatted)
	formatted, err := format.Source([]byte(unformatted))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, src, "ok.go", string(formatted))
	mountEnv := func(v string) map[string]string { return map[string]string{"SOLTI_WASI_MOUNTS": v} }
	list := wasmTask(t, []string{"-l", "main.go", "ok.go"}, mountEnv("/src"))
	unchanged := func(t *testing.T) {
		t.Helper()
		if b, _ := os.ReadFile(filepath.Join(src, "main.go")); string(b) != unformatted {
			t.Errorf("main.go changed on the host:\n%s", b)
		}
	}

	t.Run("read-only mount lists the file", func(t *testing.T) {
		r := cli(t, "run", "--runners", examples, "--wasi-dir", wasiDir, "--wasi-mount", src+":/src", list)
		expect(t, r, exitOK, []string{`"mounts":[{"guest":"/src"}]`, "stdout | main.go\n", "exit code: 0", "phase:    succeeded"}, nil)
		if strings.Contains(r.stdout, "stdout | ok.go") {
			t.Errorf("gofmt -l listed the formatted ok.go:\n%s", r)
		}
	})

	t.Run("a mount not granted is not executed", func(t *testing.T) {
		for _, extra := range [][]string{nil, {"--wasi-mount", src + ":/other:rw"}} {
			args := append([]string{"run", "--runners", examples, "--wasi-dir", wasiDir}, extra...)
			r := cli(t, append(args, list)...)
			expect(t, r, exitNotExecuted, []string{
				`error:    not executed: wasi mount "/src" denied by policy: not granted`,
				"; grant it with --wasi-mount HOST:/src\n",
				"phase:    notExecuted (refused by the host's policy before any attempt)\n",
				"outcome:  denied\n",
			}, nil)
			if strings.Contains(r.stdout, "stdout |") {
				t.Errorf("the refused plan ran:\n%s", r)
			}
		}
		r := cli(t, "run", "--runners", examples, "--wasi-dir", wasiDir, "-o", "json", list)
		expect(t, r, exitNotExecuted, nil, nil)
		var rec runRecordFull
		decode(t, r, &rec)
		if rec.Phase != "notExecuted" || rec.Outcome != "denied" || rec.Attempts != 0 || len(rec.Lines) != 0 ||
			!strings.HasPrefix(derefOr(rec.Error), `not executed: wasi mount "/src" denied by policy: not granted: this host grants wasi plans no directory`) {
			t.Errorf("phase %q, outcome %q, attempts %d, lines %d, error %s", rec.Phase, rec.Outcome, rec.Attempts, len(rec.Lines), derefOr(rec.Error))
		}
	})

	t.Run("writing into a read-only mount fails", func(t *testing.T) {
		r := cli(t, "run", "--runners", examples, "--wasi-dir", wasiDir, "--wasi-mount", src+":/src:ro",
			wasmTask(t, []string{"-w", "main.go"}, mountEnv("/src")))
		expect(t, r, exitFailure, []string{"stderr | ", "exit code: 2", "phase:    failed"}, nil)
		if !strings.Contains(strings.ToLower(r.stdout), "read-only file system") {
			t.Errorf("gofmt -w on a read-only mount does not say why it failed:\n%s", r)
		}
		unchanged(t)
		// Asking for read-write where the grant is read-only is refused before it runs.
		r = cli(t, "run", "--runners", examples, "--wasi-dir", wasiDir, "--wasi-mount", src+":/src",
			wasmTask(t, []string{"-w", "main.go"}, mountEnv("/src:rw")))
		expect(t, r, exitNotExecuted, []string{
			`error:    not executed: wasi mount "/src" denied by policy: the plan asks for read-write; it is granted read-only; grant it read-write with --wasi-mount HOST:/src:rw`,
		}, nil)
		unchanged(t)
	})

	t.Run("a read-write mount lets gofmt -w rewrite the file", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "main.go", unformatted)
		r := cli(t, "run", "--runners", examples, "--wasi-dir", wasiDir, "--wasi-mount", dir+":/work:rw",
			wasmTask(t, []string{"-w", "main.go"}, mountEnv("/work:rw")))
		expect(t, r, exitOK, []string{"phase:    succeeded"}, nil)
		if b, _ := os.ReadFile(filepath.Join(dir, "main.go")); string(b) != string(formatted) {
			t.Errorf("main.go after gofmt -w:\n%s\nwant\n%s", b, formatted)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("gofmt -w left %d entries in the directory, want only main.go", len(entries))
		}
	})
}

// TestRunWasiMountFlag: bad --wasi-mount values are usage errors naming the flag and value.
func TestRunWasiMountFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeFile(t, dir, "f", "x")
	for _, tt := range []struct {
		flags []string
		want  string
	}{
		{[]string{dir}, `--wasi-mount: invalid mount grant "` + dir + `": want HOST:GUEST[:ro|rw]`},
		{[]string{dir + ":src"}, `the guest path "src" is not an absolute, clean slash path`},
		{[]string{file + ":/f"}, `--wasi-mount "` + file + `:/f": ` + file + ` is not a directory`},
		{[]string{filepath.Join(dir, "missing") + ":/m"}, "missing is not a directory"},
		{[]string{dir + ":/a", dir + ":/a:rw"}, `--wasi-mount "` + dir + `:/a:rw": /a is already granted (` + dir + `:/a:ro)`},
	} {
		args := []string{"run", "--runners", examples}
		for _, f := range tt.flags {
			args = append(args, "--wasi-mount", f)
		}
		r := cli(t, append(args, "examples/tasks/gofmt.json")...)
		expect(t, r, exitUsage, nil, []string{tt.want})
	}
}

// TestRunWasmKindBadEnv: go-wasm refuses stdin that is not base64 and mounts that are not
// GUEST[:ro|rw] guest paths, naming the env key (a build failure: exit 4).
func TestRunWasmKindBadEnv(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ key, value, want string }{
		{"SOLTI_WASI_STDIN", "not base64!", "kind.wasm.env.SOLTI_WASI_STDIN: not padded standard base64"},
		{"SOLTI_WASI_MOUNTS", "/src,src", `kind.wasm.env.SOLTI_WASI_MOUNTS[1]: "src" is not an absolute, clean guest path`},
		{"SOLTI_WASI_MOUNTS", "/src:rx", `kind.wasm.env.SOLTI_WASI_MOUNTS[0]: mode "rx" is not ro or rw`},
		{"SOLTI_WASI_MOUNTS", "/src, /src:ro", "kind.wasm.env.SOLTI_WASI_MOUNTS[1]: /src is asked for twice"},
	} {
		r := cli(t, "run", "--runners", examples, wasmTask(t, nil, map[string]string{tt.key: tt.value}))
		expect(t, r, exitNoRunner, nil, []string{"runner 'go-wasm' failed to build task", tt.want})
	}
}
