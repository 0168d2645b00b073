package router

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/abi"
)

func TestBuildContextMergedEnv(t *testing.T) {
	tests := []struct {
		name      string
		task, ctx abi.Env
		want      abi.Env
	}{
		{"both empty", nil, nil, nil},
		{"task only", env("A", "1"), nil, env("A", "1")},
		{"context only", nil, env("B", "2"), env("B", "2")},
		{"context wins on a shared key", env("A", "task", "SHARED", "task"), env("SHARED", "host", "Z", "host"),
			env("A", "task", "SHARED", "host", "Z", "host")},
		{"sorted by key", env("b", "1", "C", "2"), env("a", "3", "B", "4"),
			env("B", "4", "C", "2", "a", "3", "b", "1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &BuildContext{Env: tt.ctx}
			if got := c.MergedEnv(tt.task); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MergedEnv = %v, want %v", got, tt.want)
			}
		})
	}
	var nilCtx *BuildContext
	if got := nilCtx.MergedEnv(env("B", "1", "A", "2")); !reflect.DeepEqual(got, env("A", "2", "B", "1")) {
		t.Errorf("nil context MergedEnv = %v", got)
	}
}

func TestBuildContextString(t *testing.T) {
	tests := []struct {
		ctx  *BuildContext
		want string
	}{
		{nil, "BuildContext(env_len=0)"},
		{&BuildContext{}, "BuildContext(env_len=0)"},
		{&BuildContext{Env: env("A", "1")}, "BuildContext(env_len=1)"},
		{&BuildContext{Env: env("A", "1", "B", "2", "C", "3"), Metrics: NoopMetrics{}}, "BuildContext(env_len=3)"},
	}
	for _, tt := range tests {
		if got := tt.ctx.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if got := fmt.Sprint(tt.ctx); got != tt.want {
			t.Errorf("fmt.Sprint = %q, want %q", got, tt.want)
		}
	}
}

// countingMetrics is a MetricsBackend that counts events.
type countingMetrics struct{ started, completed, errors atomic.Int64 }

func (m *countingMetrics) RecordTaskStarted(RunnerType) { m.started.Add(1) }
func (m *countingMetrics) RecordTaskCompleted(RunnerType, TaskOutcome, time.Duration) {
	m.completed.Add(1)
}
func (m *countingMetrics) RecordRunnerError(RunnerType, string) { m.errors.Add(1) }

func TestBuildContextMetrics(t *testing.T) {
	var zero BuildContext
	if got := zero.MetricsOrNoop(); got != (NoopMetrics{}) {
		t.Errorf("zero value MetricsOrNoop = %#v, want NoopMetrics", got)
	}
	var nilCtx *BuildContext
	if got := nilCtx.MetricsOrNoop(); got != (NoopMetrics{}) {
		t.Errorf("nil MetricsOrNoop = %#v, want NoopMetrics", got)
	}
	m := &countingMetrics{}
	c := BuildContext{Metrics: m}
	if got := c.MetricsOrNoop(); got != MetricsBackend(m) {
		t.Errorf("MetricsOrNoop = %#v, want the configured backend", got)
	}
}

func TestBuildArgsMetrics(t *testing.T) {
	tests := []struct {
		name string
		ctx  BuildContext
		want MetricsBackend
	}{
		{"zero context gives NoopMetrics", BuildContext{}, NoopMetrics{}},
		{"configured backend passed through", BuildContext{Metrics: &countingMetrics{}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == nil {
				want = tt.ctx.Metrics
			}
			r := New(tt.ctx)
			f := newFake("f", true)
			mustRegister(t, r, f)
			if _, err := r.Build(context.Background(), newReq(t, kindWasm, nil)); err != nil {
				t.Fatal(err)
			}
			if got := f.lastArgs(t).Metrics; got != want {
				t.Errorf("BuildArgs.Metrics = %#v, want %#v", got, want)
			}
		})
	}
}

func TestBuildArgsEnvIsMerged(t *testing.T) {
	host := env("HOST", "h", "SHARED", "host")
	taskEnv := env("SHARED", "task", "TASK", "t")
	merged := env("HOST", "h", "SHARED", "host", "TASK", "t")
	tests := []struct {
		name string
		kind abi.TaskKind
		want abi.Env
	}{
		{"wasm", abi.TaskKind{Wasm: &abi.WasmSpec{Module: "m", Env: slices.Clone(taskEnv)}}, merged},
		{"subprocess", abi.TaskKind{Subprocess: &abi.SubprocessSpec{Mode: abi.SubprocessMode{Command: &abi.CommandMode{Command: "ls"}}, Env: slices.Clone(taskEnv)}}, merged},
		{"container", abi.TaskKind{Container: &abi.ContainerSpec{Image: "i", Env: slices.Clone(taskEnv)}}, merged},
		{"extension has no env: the host's only", kindCron, host},
		{"task without env: the host's only", kindWasm, host},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(BuildContext{Env: host})
			f := newFake("f", true)
			mustRegister(t, r, f)
			req := newReq(t, tt.kind, nil)
			before := slices.Clone(TaskEnv(req.Spec))
			built, err := r.Build(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.lastArgs(t).Env; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("BuildArgs.Env = %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(built.Env, tt.want) { // what a guest plan's run gets
				t.Errorf("Built.Env = %v, want %v", built.Env, tt.want)
			}
			if after := TaskEnv(req.Spec); !reflect.DeepEqual(after, before) {
				t.Errorf("the task's env changed: %v -> %v", before, after)
			}
		})
	}
	// No env anywhere: none passed.
	r := New(BuildContext{})
	f := newFake("f", true)
	mustRegister(t, r, f)
	if _, err := r.Build(context.Background(), newReq(t, kindWasm, nil)); err != nil {
		t.Fatal(err)
	}
	if got := f.lastArgs(t).Env; len(got) != 0 {
		t.Errorf("BuildArgs.Env = %v, want empty", got)
	}
}

func TestTaskEnv(t *testing.T) {
	e := env("A", "1")
	tests := []struct {
		kind abi.TaskKind
		want abi.Env
	}{
		{abi.TaskKind{Wasm: &abi.WasmSpec{Env: e}}, e},
		{abi.TaskKind{Subprocess: &abi.SubprocessSpec{Env: e}}, e},
		{abi.TaskKind{Container: &abi.ContainerSpec{Env: e}}, e},
		{kindCron, nil},
		{kindEmbedded, nil},
		{abi.TaskKind{}, nil},
	}
	for _, tt := range tests {
		if got := TaskEnv(&abi.TaskSpec{Kind: tt.kind}); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("TaskEnv(%s) = %v, want %v", tt.kind.Name(), got, tt.want)
		}
	}
}

func TestMetricsLabels(t *testing.T) {
	got := []string{
		string(RunnerSubprocess), string(RunnerWasm), string(RunnerContainer),
		string(OutcomeSuccess), string(OutcomeFailure), string(OutcomeCanceled), string(OutcomeTimeout),
		ErrorSpawnFailed, ErrorModuleLoadFailed, ErrorBackendConfigFailed, ErrorCgroupPrepareFailed,
	}
	want := []string{
		"subprocess", "wasm", "container",
		"success", "failure", "canceled", "timeout",
		"spawn_failed", "module_load_failed", "backend_config_failed", "cgroup_prepare_failed",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
}

func TestNoopMetricsIsFree(t *testing.T) {
	var m MetricsBackend = NoopMetrics{}
	allocs := testing.AllocsPerRun(100, func() {
		m.RecordTaskStarted(RunnerWasm)
		m.RecordTaskCompleted(RunnerWasm, OutcomeSuccess, time.Second)
		m.RecordRunnerError(RunnerWasm, ErrorSpawnFailed)
	})
	if allocs != 0 {
		t.Errorf("NoopMetrics allocates %v times per call set", allocs)
	}
}

// NextSeq replaces the process-wide counter in run ids; its error fails the build.
func TestBuildContextNextSeq(t *testing.T) {
	var n uint64 = 41
	r := New(BuildContext{NextSeq: func(context.Context) (uint64, error) { n++; return n, nil }})
	mustRegister(t, r, newFake("fake", true))
	req := newReq(t, kindCron, nil)
	b, err := r.Build(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if b.RunID.ID != "fake-jobs-42" || b.RunID.Seq != 42 {
		t.Errorf("run id %+v, want fake-jobs-42", b.RunID)
	}
	boom := errors.New("store down")
	r = New(BuildContext{NextSeq: func(context.Context) (uint64, error) { return 0, boom }})
	mustRegister(t, r, newFake("fake", true))
	if _, err := r.Build(context.Background(), req); !errors.Is(err, boom) || !errors.Is(err, ErrInternal) {
		t.Errorf("Build with a failing NextSeq: %v, want the cause as an internal error", err)
	}
}
