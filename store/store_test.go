package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTaskCloneIsDeep(t *testing.T) {
	t.Parallel()
	code := 1
	a := &Task{
		Key: Key{Tenant: "a", Name: "x"}, Labels: map[string]string{"k": "v"},
		Annotations: map[string]string{"n": "m"}, Spec: json.RawMessage(`{"slot":"s"}`),
		Status: TaskStatus{ExitCode: &code},
		Plan:   &PlanRecord{Plan: json.RawMessage(`{}`), Env: json.RawMessage(`{"A":"1"}`)},
	}
	b := a.Clone()
	b.Labels["k"], b.Annotations["n"], b.Spec[2], *b.Status.ExitCode = "w", "z", 'X', 9
	b.Plan.Plan[0], b.Plan.Env[1], b.Plan.Runner = '[', 'X', "other"
	if a.Labels["k"] != "v" || a.Annotations["n"] != "m" || string(a.Spec) != `{"slot":"s"}` || *a.Status.ExitCode != 1 ||
		string(a.Plan.Plan) != `{}` || string(a.Plan.Env) != `{"A":"1"}` || a.Plan.Runner != "" {
		t.Fatalf("changing the clone changed the original: %+v %+v", a, a.Plan)
	}
	if (*Task)(nil).Clone() != nil || (*Run)(nil).Clone() != nil {
		t.Fatal("Clone of nil is not nil")
	}
	fin := time.Unix(5, 0)
	r := &Run{FinishedAt: &fin, ExitCode: &code, OutputTail: []byte("tail")}
	c := r.Clone()
	*c.FinishedAt, *c.ExitCode, c.OutputTail[0] = time.Unix(9, 0), 7, 'X'
	if !r.FinishedAt.Equal(fin) || *r.ExitCode != 1 || string(r.OutputTail) != "tail" {
		t.Fatalf("changing the run's clone changed the original: %+v", r)
	}
}

func TestChecks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{CheckKey(Key{Name: "x"}), "empty tenant"},
		{CheckKey(Key{Tenant: "a"}), "empty name"},
		{CheckTask(nil), "nil task"},
		{CheckTask(&Task{Key: Key{Tenant: "a", Name: "x"}, Spec: []byte("{")}), "task a/x: invalid record: spec is not valid JSON"},
		{CheckRun(nil), "nil run"},
		{CheckRun(&Run{Tenant: "a", Task: "x", Seq: 1}), "run of task a/x: invalid record: empty task uid"},
		{CheckRun(&Run{Tenant: "a", Task: "x", TaskUID: "u"}), "Seq is 0"},
	} {
		if !errors.Is(c.err, ErrInvalid) || !regexp.MustCompile(regexp.QuoteMeta(c.want)).MatchString(c.err.Error()) {
			t.Errorf("error %v: want ErrInvalid saying %q", c.err, c.want)
		}
	}
	if err := CheckTask(&Task{Key: Key{Tenant: "a", Name: "x"}}); err != nil {
		t.Errorf("a task without a spec: %v", err)
	}
}

func TestNewUID(t *testing.T) {
	t.Parallel()
	v7 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	before := time.Now().UnixMilli()
	for range 1000 {
		u := NewUID()
		if !v7.MatchString(u) || seen[u] {
			t.Fatalf("NewUID %q: not a fresh version 7 UUID", u)
		}
		seen[u] = true
	}
	// The first 48 bits are the creation time in Unix milliseconds: uids sort by it.
	u := NewUID()
	ms, err := strconv.ParseInt(strings.ReplaceAll(u[:13], "-", ""), 16, 64)
	if err != nil || ms < before || ms > time.Now().UnixMilli() {
		t.Fatalf("NewUID %q: timestamp %d (%v), want between %d and now", u, ms, err, before)
	}
	time.Sleep(2 * time.Millisecond)
	if later := NewUID(); later <= u {
		t.Fatalf("a uid made later (%s) sorts before an earlier one (%s)", later, u)
	}
}

func TestSpecSlotAndMatches(t *testing.T) {
	t.Parallel()
	if got := SpecSlot([]byte(`{"timeout":1,"slot":"lane-1"}`)); got != "lane-1" {
		t.Fatalf("SpecSlot: %q", got)
	}
	for _, bad := range []string{``, `[]`, `{"slot":1}`, `not json`} {
		if got := SpecSlot([]byte(bad)); got != "" {
			t.Fatalf("SpecSlot(%s) = %q, want empty", bad, got)
		}
	}
	tk := &Task{Labels: map[string]string{"app": "web"}, Status: TaskStatus{Phase: PhaseRunning}}
	opt := ListOptions{Slot: "s", Phases: []Phase{PhasePending, PhaseRunning}, Match: func(l map[string]string) bool { return l["app"] == "web" }}
	if !opt.Matches(tk, "s") || opt.Matches(tk, "other") {
		t.Fatal("Matches by slot")
	}
	tk.Status.Phase = PhaseFailed
	if opt.Matches(tk, "s") {
		t.Fatal("Matches by phase")
	}
}

func TestRetention(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	r := Retention{Tasks: time.Hour, Runs: time.Hour, RunsPerTask: 2}
	due := func(p Phase, finished, updated time.Duration) bool {
		tk := &Task{Status: TaskStatus{Phase: p, UpdatedAt: now.Add(-updated)}}
		if finished > 0 {
			tk.Status.FinishedAt = now.Add(-finished)
		}
		return r.TaskDue(tk, now)
	}
	if !due(PhaseSucceeded, 2*time.Hour, 0) || due(PhaseSucceeded, 30*time.Minute, 5*time.Hour) ||
		due(PhaseRunning, 5*time.Hour, 5*time.Hour) || !due(PhaseFailed, 0, 2*time.Hour) {
		t.Fatal("TaskDue")
	}
	if (Retention{}).TaskDue(&Task{Status: TaskStatus{Phase: PhaseFailed}}, now) {
		t.Fatal("a zero Tasks bound swept a task")
	}
	var runs []*Run
	for seq, ago := range []time.Duration{3 * time.Hour, -1, 30 * time.Minute, 20 * time.Minute, 10 * time.Minute} {
		run := &Run{Seq: uint64(seq + 1)}
		if ago >= 0 {
			f := now.Add(-ago)
			run.FinishedAt = &f
		}
		runs = append(runs, run)
	}
	// 1 by age; of 2 (unfinished), 3, 4, 5, the oldest finished beyond two: 3, 4.
	if got := fmt.Sprint(r.RunsDue(runs, now)); got != "[1 3 4]" {
		t.Fatalf("RunsDue: %s, want [1 3 4]", got)
	}
}
