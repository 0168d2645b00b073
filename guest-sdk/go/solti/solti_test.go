package solti

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
)

// These tests run natively: the export logic lives in the call* functions, free of wasm.

func canonical(t *testing.T, spec string) []byte {
	t.Helper()
	s, err := abi.ParseTaskSpec([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSpecKindMatchesDecoder(t *testing.T) {
	for _, tc := range []struct{ spec, kind, ext string }{
		{`{"slot":"a","kind":{"subprocess":{"mode":{"command":{"command":"ls"}}}},"timeout":1}`, "subprocess", ""},
		{`{"slot":"a","kind":{"wasm":{"module":"m.wasm"}},"timeout":1}`, "wasm", ""},
		{`{"slot":"a","kind":{"container":{"image":"alpine"}},"timeout":1}`, "container", ""},
		{`{"slot":"a","kind":"embedded","timeout":1}`, "embedded", ""},
		{`{"slot":"a","kind":{"extension":{"type":"transform"}},"timeout":1}`, "transform", ""},
		{`{"slot":"a.b-c","kind":{"extension":{"type":"x/y.z","spec":{"s":"} \"]","n":[1,{"a":null}]}}},"timeout":1,"labels":{"k":"v"}}`,
			"x/y.z", `{"s":"} \"]","n":[1,{"a":null}]}`},
		{`{"slot":"a","kind":{"extension":{"type":"t","spec":"text"}},"timeout":1}`, "t", `"text"`},
		{`{"slot":"a","kind":{"extension":{"type":"t","spec":42}},"timeout":1}`, "t", `42`},
	} {
		raw := canonical(t, tc.spec)
		if _, _, _, ok := scanKind(raw); !ok {
			t.Errorf("%s: the fast path did not read canonical JSON", raw)
		}
		var s Spec
		s.reset(raw)
		if got := s.Kind(); got != tc.kind {
			t.Errorf("%s: Kind() = %q, want %q", raw, got, tc.kind)
		}
		if got := string(s.ExtensionSpec()); got != tc.ext {
			t.Errorf("%s: ExtensionSpec() = %s, want %s", raw, got, tc.ext)
		}
		d, err := s.Decode()
		if err != nil || d.Kind.Name() != tc.kind {
			t.Errorf("%s: Decode() = %v, %v", raw, d, err)
		}
	}
}

// TestSpecLabelsMatchDecoder checks the in-place label reader against the decoder, on
// canonical specs whose labels the fast path reads and ones it hands to the decoder (escapes).
func TestSpecLabelsMatchDecoder(t *testing.T) {
	for _, spec := range []string{
		`{"slot":"a","kind":{"extension":{"type":"t","spec":{"labels":{"app":"no"}}}},"timeout":1,"labels":{"app":"demo","team":"a"}}`,
		`{"slot":"a","kind":"embedded","timeout":1,"restart":{"type":"always","intervalMs":5},"maxRetries":3,"labels":{"app":"x"}}`,
		`{"slot":"a","kind":{"subprocess":{"mode":{"command":{"command":"ls"}},"env":{"K":"V"}}},"timeout":1,` +
			`"runnerSelector":{"matchLabels":{"app":"sel"}},"labels":{"app":"sub","z":"last"}}`,
		`{"slot":"a","kind":{"extension":{"type":"t"}},"timeout":1}`,
	} {
		raw := canonical(t, spec)
		want, err := abi.ParseTaskSpec(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"app", "team", "z", "missing"} {
			s := NewSpec(raw)
			v, ok := s.Label(key)
			wv, wok := want.Labels[key]
			if v != wv || ok != wok {
				t.Errorf("%s: Label(%s) = %q, %v; decoder: %q, %v", raw, key, v, ok, wv, wok)
			}
		}
		if got := NewSpec(raw).Labels(); !reflect.DeepEqual(got, want.Labels) && (len(got) != 0 || len(want.Labels) != 0) {
			t.Errorf("%s: Labels() = %v, decoder: %v", raw, got, want.Labels)
		}
	}
	// An escaped value ("a<b" is written with \u003c) is decoded, not read in place.
	raw := []byte(`{"slot":"a","kind":"embedded","timeout":1,"labels":{"k":"a\u003cb","l":"x"}}`)
	if v, ok := NewSpec(raw).Label("k"); !ok || v != "a<b" {
		t.Errorf("escaped label = %q, %v", v, ok)
	}
	if v, ok := NewSpec(raw).Label("l"); !ok || v != "x" {
		t.Errorf("label after an escaped one = %q, %v", v, ok)
	}
}

// TestReadBuildInput checks the canonical BuildInput reader against the decoder.
func TestReadBuildInput(t *testing.T) {
	spec := canonical(t, `{"slot":"a","kind":{"extension":{"type":"t","spec":{"x":"}"}}},"timeout":1}`)
	for _, env := range []abi.Env{nil, {{Key: "A", Value: "1"}, {Key: "B", Value: "q\"uote"}}} {
		in, err := json.Marshal(abi.BuildInput{RunID: "r-a-1", Runner: "r", Env: env, Spec: mustSpec(t, spec)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := readBuildInput(in)
		if err != nil {
			t.Fatal(err)
		}
		if got.RunID != "r-a-1" || got.Runner != "r" || !reflect.DeepEqual(got.Env, env) || string(got.Spec) != string(spec) {
			t.Errorf("%s: read %+v", in, got)
		}
	}
	got, err := readBuildInput([]byte(`{ "spec": {"slot":"a"}, "runner": "r", "runId": "x" }`))
	if err != nil || got.RunID != "x" || got.Runner != "r" || string(got.Spec) != `{"slot":"a"}` {
		t.Errorf("non-canonical build input: %+v, %v", got, err)
	}
	if _, err := readBuildInput([]byte(`{"runId":"x","runner":"r","spec":`)); err == nil {
		t.Error("a truncated build input was read")
	}
}

func mustSpec(t *testing.T, raw []byte) *abi.TaskSpec {
	t.Helper()
	s, err := abi.ParseTaskSpec(raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSpecSlowPath(t *testing.T) {
	var s Spec
	s.reset([]byte(`{ "timeout": 1, "kind": {"extension": {"spec": {"a": 1}, "type": "t"}}, "slot": "x", "labels": {"app": "demo"} }`))
	if s.Kind() != "t" || !s.IsExtension() || string(s.ExtensionSpec()) != `{"a":1}` {
		t.Errorf("non-canonical spec: kind %q ext %s", s.Kind(), s.ExtensionSpec())
	}
	if v, ok := s.Label("app"); !ok || v != "demo" {
		t.Errorf("Label(app) = %q, %v", v, ok)
	}
	s.reset([]byte(`not json`))
	if s.Kind() != "" {
		t.Errorf("Kind of garbage = %q", s.Kind())
	}
	if _, err := s.Decode(); err == nil {
		t.Error("Decode of garbage succeeded")
	}
}

func TestDecodeExtension(t *testing.T) {
	type ext struct {
		Text string `json:"text"`
	}
	for _, tc := range []struct{ spec, code string }{
		{`{"slot":"a","kind":{"extension":{"type":"t","spec":{"text":"hi"}}},"timeout":1}`, ""},
		{`{"slot":"a","kind":{"extension":{"type":"t","spec":{"txt":"hi"}}},"timeout":1}`, abi.CodeInvalidSpec},
		{`{"slot":"a","kind":{"extension":{"type":"t"}},"timeout":1}`, abi.CodeMissingField},
		{`{"slot":"a","kind":"embedded","timeout":1}`, abi.CodeUnsupportedKind},
	} {
		var s Spec
		s.reset(canonical(t, tc.spec))
		var v ext
		err := s.DecodeExtension(&v)
		var ge *abi.GuestError
		switch {
		case tc.code == "" && (err != nil || v.Text != "hi"):
			t.Errorf("%s: %v, %+v", tc.spec, err, v)
		case tc.code != "" && (!errors.As(err, &ge) || ge.Code != tc.code):
			t.Errorf("%s: error %v, want code %s", tc.spec, err, tc.code)
		}
	}
}

// TestBuildInputMirrorsABI keeps the SDK's lazy copy of abi.BuildInput in step with it.
func TestBuildInputMirrorsABI(t *testing.T) {
	a, b := reflect.TypeFor[abi.BuildInput](), reflect.TypeFor[buildInput]()
	if a.NumField() != b.NumField() {
		t.Fatalf("abi.BuildInput has %d fields, buildInput %d", a.NumField(), b.NumField())
	}
	for i := range a.NumField() {
		if fa, fb := a.Field(i), b.Field(i); fa.Name != fb.Name || fa.Tag != fb.Tag {
			t.Errorf("field %d: abi has %s %q, the SDK %s %q", i, fa.Name, fa.Tag, fb.Name, fb.Tag)
		}
	}
}

type fakeRunner struct {
	plan  *abi.Plan
	err   error
	panic bool
}

func (f *fakeRunner) Name() string              { return "fake" }
func (f *fakeRunner) Describe() abi.Description { return abi.Description{Kinds: []string{"t"}} }
func (f *fakeRunner) Supports(s *Spec) bool {
	if f.panic {
		panic("boom")
	}
	return s.Kind() == "t"
}
func (f *fakeRunner) Build(b *BuildRequest) (*abi.Plan, error) {
	if f.panic {
		panic("boom")
	}
	return f.plan, f.err
}

type fakeExecutor struct{ fakeRunner }

func (f *fakeExecutor) Run(r *RunRequest) ([]byte, error) {
	var p struct{ N int }
	if err := r.DecodePayload(&p); err != nil {
		return nil, err
	}
	return []byte(fmt.Sprint(p.N+1, " ", r.RunID, " ", r.Attempt)), nil
}

func with(t *testing.T, r Runner) {
	old := registered
	install(r)
	t.Cleanup(func() { install(old) })
}

func check(t *testing.T, what string, rc int32, out []byte, wantRC int32, want string) {
	t.Helper()
	if rc != wantRC || !strings.Contains(string(out), want) {
		t.Errorf("%s = %d, %s; want %d, containing %s", what, rc, out, wantRC, want)
	}
}

func TestCalls(t *testing.T) {
	spec := canonical(t, `{"slot":"a","kind":{"extension":{"type":"t","spec":{"x":1}}},"timeout":1}`)
	other := canonical(t, `{"slot":"a","kind":"embedded","timeout":1}`)
	bi := []byte(`{"runId":"fake-a-1","runner":"fake","spec":` + string(spec) + `}`)

	with(t, nil)
	rc, out := callName()
	check(t, "name, unregistered", rc, out, rcFailed, "no runner registered")

	r := &fakeRunner{}
	with(t, r)
	rc, out = callName()
	check(t, "name", rc, out, 0, "fake")
	rc, out = callDescribe()
	check(t, "describe", rc, out, 0, `{"kinds":["t"]}`)
	rc, out = callSupports(spec)
	check(t, "supports yes", rc, out, 1, "")
	rc, out = callSupports(other)
	check(t, "supports no", rc, out, 0, "")

	r.plan, _ = GuestPlan(map[string]int{"n": 1})
	rc, out = callBuild(bi)
	check(t, "build", rc, out, 0, `{"guest":{"payload":{"n":1}}}`)
	r.plan = ExecPlan("ls", "-l")
	rc, out = callBuild(bi)
	check(t, "build exec", rc, out, 0, `{"exec":{"command":"ls","args":["-l"],"failOnNonZero":true}}`)
	r.plan = nil
	rc, out = callBuild(bi)
	check(t, "build nil", rc, out, 1, `"code":"internal"`)
	r.plan = &abi.Plan{Exec: &abi.ExecPlan{}}
	rc, out = callBuild(bi)
	check(t, "build invalid plan", rc, out, 1, `invalid plan: exec.command`)
	r.err = fmt.Errorf("wrapped: %w", Errorf(abi.CodeMissingField, "text"))
	rc, out = callBuild(bi)
	check(t, "build structured error", rc, out, 1, `{"code":"missing_field","message":"text"}`)
	r.err = errors.New("plain")
	rc, out = callBuild(bi)
	check(t, "build plain error", rc, out, 1, `{"code":"internal","message":"plain"}`)
	rc, out = callRun([]byte(`{"runId":"r","attempt":1}`))
	check(t, "run without Executor", rc, out, 1, `{"code":"internal","message":"runner has no run"}`)

	r.panic = true
	rc, out = callSupports(spec)
	check(t, "supports panic", rc, out, -1, `{"code":"internal","message":"panic: boom"}`)
	rc, out = callBuild(bi)
	check(t, "build panic", rc, out, 1, `panic: boom`)

	with(t, &fakeExecutor{})
	rc, out = callRun([]byte(`{"runId":"r-1","attempt":2,"payload":{"N":41}}`))
	check(t, "run", rc, out, 0, "42 r-1 2")
	rc, out = callRun([]byte(`{"runId":"r-1","attempt":2,"payload":{"M":41}}`))
	check(t, "run bad payload", rc, out, 1, `"code":"invalid_spec"`)
}

func TestLimitOutput(t *testing.T) {
	rc, out := limitOutput(0, make([]byte, abi.DefaultMaxOutputBytes+1), rcFailed)
	check(t, "oversized output", rc, out, rcFailed, "exceeds the ABI limit")
}

func TestFormatLog(t *testing.T) {
	got := formatLog("built", []any{"runId", "r-1", "n", 3, "msg", "two words", "err", errors.New("a=b"), "dangling"})
	want := `built runId=r-1 n=3 msg="two words" err="a=b" !BADKEY=dangling`
	if got != want {
		t.Errorf("formatLog = %s, want %s", got, want)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	with(t, &fakeRunner{})
	defer func() {
		if recover() == nil {
			t.Error("a second Register did not panic")
		}
	}()
	Register(&fakeRunner{})
}

// The supports hot path must not allocate (the module's GC may rarely run) once the extension
// kind has been seen.
func TestSupportsAllocs(t *testing.T) {
	with(t, &fakeRunner{})
	spec := canonical(t, `{"slot":"a","kind":{"extension":{"type":"t","spec":{"x":1}}},"timeout":1}`)
	if n := testing.AllocsPerRun(100, func() { callSupports(spec) }); n != 0 {
		t.Errorf("supports allocates %v times per call", n)
	}
}

func BenchmarkKind1KiB(b *testing.B) {
	raw := []byte(`{"slot":"bench","kind":{"extension":{"type":"transform","spec":{"text":"` +
		strings.Repeat("lorem ipsum ", 80) + `"}}},"timeout":1000,"restart":{"type":"never"},"backoff":{"jitter":"full","firstMs":1000,"maxMs":30000,"factor":2},"admission":"dropIfRunning"}`)
	var s Spec
	for b.Loop() {
		s.reset(raw)
		if s.Kind() != "transform" {
			b.Fatal("wrong kind")
		}
	}
}

// fakeChecker is a runner whose supports can fail.
type fakeChecker struct {
	fakeRunner
	yes bool
	err error
}

func (c *fakeChecker) CheckSupports(*Spec) (bool, error) { return c.yes, c.err }

func TestCheckSupports(t *testing.T) {
	spec := canonical(t, `{"slot":"a","kind":{"extension":{"type":"t"}},"timeout":1}`)
	c := &fakeChecker{yes: true}
	with(t, c)
	rc, out := callSupports(spec)
	check(t, "CheckSupports yes", rc, out, 1, "")
	c.yes = false
	rc, out = callSupports(spec)
	check(t, "CheckSupports no", rc, out, 0, "")
	c.err = Errorf(abi.CodeInvalidSpec, "cannot tell")
	rc, out = callSupports(spec)
	check(t, "CheckSupports error", rc, out, -1, `{"code":"invalid_spec","message":"cannot tell"}`)
}
