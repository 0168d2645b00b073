package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// reportLabels are the line starts of run's own report: a guest must not be able to print a
// line that starts with one of them.
var reportLabels = []string{"run id:", "runner:", "plan:", "output:", "exit code:", "error:", "phase:", "outcome:", "attempt "}

// checkUnforged fails unless stdout is free of raw control characters and each report label
// starts exactly want lines.
func checkUnforged(t *testing.T, r cliResult, want map[string]int) {
	t.Helper()
	for i := 0; i < len(r.stdout); i++ {
		if c := r.stdout[i]; (c < 0x20 && c != '\n') || c == 0x7f {
			t.Errorf("stdout holds the control character %#x at byte %d", c, i)
		}
	}
	for _, label := range reportLabels {
		n := 0
		for line := range strings.Lines(r.stdout) {
			if strings.HasPrefix(line, label) {
				n++
			}
		}
		if n != want[label] {
			t.Errorf("%d lines start with %q, want %d", n, label, want[label])
		}
	}
	if t.Failed() {
		t.Logf("%s", r)
	}
}

// TestRunReportUnforgeable: a guest's log, emitted line, error and output are escaped in
// run's text report and cannot start a line of their own; the JSON report keeps them exact.
func TestRunReportUnforgeable(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{"forge.wasm": fixture("forge")})
	task := func(slot string) string {
		return writeFile(t, t.TempDir(), "task.json", fmt.Sprintf(`{"slot":%q,"kind":{"extension":{"type":"fixture"}},"timeout":5000}`, slot))
	}
	once := map[string]int{"run id:": 1, "runner:": 1, "plan:": 1, "phase:": 1, "outcome:": 1}

	r := cli(t, "run", "--runners", dir, task("e1"))
	expect(t, r, exitFailure, []string{
		`log    | INFO hi\nphase:    succeeded\x1b[2J` + "\n",
		`stdout | \x1b]0;owned\x07\rphase:    succeeded` + "\n",
		`error:    ` + dir + `/forge.wasm: runner "forge": run: guest error: returned 1: internal: bad | phase:    succeeded | outcome:  success\x1b[2J`,
		"phase:    failed after 1 attempt\n",
	}, nil)
	want := map[string]int{"error:": 1}
	for k, v := range once {
		want[k] = v
	}
	checkUnforged(t, r, want)

	r = cli(t, "run", "--runners", dir, task("o1"))
	expect(t, r, exitOK, []string{"output:   ok\n        | phase:    failed\n        | \\x1b[31m\n", "phase:    succeeded after 1 attempt\n"}, nil)
	want = map[string]int{"output:": 1}
	for k, v := range once {
		want[k] = v
	}
	checkUnforged(t, r, want)

	var rec struct {
		Output string `json:"output"`
		Lines  []struct{ Text string }
	}
	r = cli(t, "run", "--runners", dir, "--output", "json", task("o1"))
	decode(t, r, &rec)
	if rec.Output != "ok\nphase:    failed\n\x1b[31m" || len(rec.Lines) != 2 ||
		rec.Lines[0].Text != "INFO hi\nphase:    succeeded\x1b[2J" || rec.Lines[1].Text != "\x1b]0;owned\x07\rphase:    succeeded" {
		t.Errorf("JSON report changed the guest's text: %+v", rec)
	}
}

// TestInspectEscapesNames: a module's export names are the module's to choose; inspect shows
// an escape sequence in one as text.
func TestInspectEscapesNames(t *testing.T) {
	t.Parallel()
	r := cli(t, "inspect", fixture("forge"))
	expect(t, r, exitOK, []string{"  x\\x1b[2Jy: func () -> ()\n"}, nil)
	if strings.Contains(r.stdout, "\x1b") {
		t.Errorf("inspect printed a raw ESC:\n%s", r)
	}
}

// TestRunMarksTruncation: a log message and a line cut at the 4 KiB limit say so, in text
// and in JSON (ABI §7).
func TestRunMarksTruncation(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{"host-faults.wasm": fixture("host-faults")})
	x := strings.Repeat("x", 4096)
	r := cli(t, "run", "--runners", dir, fixtureTask(t, 5000))
	expect(t, r, exitOK, []string{"log    | INFO " + x + " [truncated]\n", "stdout | " + x + " [truncated]\n", "output:   done\n"}, nil)

	var rec struct {
		Lines []struct {
			Stream    string
			Text      string
			Truncated bool
		}
	}
	r = cli(t, "run", "--runners", dir, "--output", "json", fixtureTask(t, 5000))
	decode(t, r, &rec)
	if len(rec.Lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(rec.Lines), r)
	}
	for _, l := range rec.Lines {
		if !l.Truncated || !strings.HasSuffix(l.Text, x) || len(l.Text) > len("INFO ")+4096 {
			t.Errorf("%s line: %d bytes, truncated %v; want 4096 bytes of text, truncated", l.Stream, len(l.Text), l.Truncated)
		}
	}
}

// TestRunFloodEndsOnTime: a guest emitting tens of millions of newlines per call ends when
// its task times out, within 10% and a small constant, in text and JSON output alike.
func TestRunFloodEndsOnTime(t *testing.T) {
	t.Parallel()
	dir := runnersDir(t, map[string]string{"flood.wasm": fixture("flood")})
	const timeout = 200 * time.Millisecond
	limit := timeout + timeout/10 + 100*time.Millisecond
	for _, format := range []string{"text", "json"} {
		var rec struct{ DurationMs float64 }
		r := cli(t, "run", "--runners", dir, "--output", format, fixtureTask(t, int(timeout.Milliseconds())))
		if r.code != exitTimeout {
			t.Fatalf("exit %d, want %d:\n%s", r.code, exitTimeout, r)
		}
		if format == "json" {
			decode(t, r, &rec)
		} else {
			line := r.stdout[strings.LastIndex(r.stdout, "outcome:  timeout ("):]
			d, err := time.ParseDuration(strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, "outcome:  timeout (")), ")"))
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			rec.DurationMs = float64(d.Milliseconds())
		}
		if d := time.Duration(rec.DurationMs * float64(time.Millisecond)); d > limit {
			t.Errorf("%s: the run took %v with a timeout of %v, want at most %v", format, d, timeout, limit)
		}
	}
}
