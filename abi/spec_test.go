package abi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// defaultsJSON is the canonical tail of a spec that sets none of restart, backoff, admission.
const defaultsJSON = `"restart":{"type":"never"},"backoff":{"jitter":"full","firstMs":1000,"maxMs":30000,"factor":2},"admission":"dropIfRunning"`

// baseSpec is a minimal valid spec with the defaults ParseTaskSpec fills in, and kind k.
func baseSpec(k TaskKind) TaskSpec {
	return TaskSpec{
		Slot:      "s",
		Kind:      k,
		TimeoutMs: 1000,
		Restart:   RestartPolicy{Type: RestartNever},
		Backoff:   DefaultBackoff(),
		Admission: AdmissionDropIfRunning,
	}
}

// mustParse parses a spec or fails the test.
func mustParse(t *testing.T, in string) *TaskSpec {
	t.Helper()
	s, err := ParseTaskSpec([]byte(in))
	if err != nil {
		t.Fatalf("ParseTaskSpec(%s): %v", in, err)
	}
	return s
}

// mustMarshal encodes v or fails the test.
func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%#v): %v", v, err)
	}
	return string(b)
}

// checkSpec asserts that in parses to want and encodes to exactly canonical, that canonical
// parses back to the same value (decode(encode(x)) == x) and that canonical is a fixed point.
func checkSpec(t *testing.T, in string, want TaskSpec, canonical string) {
	t.Helper()
	got := mustParse(t, in)
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("parsed spec differs\n got: %#v\nwant: %#v", *got, want)
	}
	enc := mustMarshal(t, got)
	if enc != canonical {
		t.Fatalf("canonical encoding differs\n got: %s\nwant: %s", enc, canonical)
	}
	again := mustParse(t, enc)
	if !reflect.DeepEqual(again, got) {
		t.Fatalf("decode(encode(x)) != x\n got: %#v\nwant: %#v", again, got)
	}
	if enc2 := mustMarshal(t, again); enc2 != enc {
		t.Fatalf("encoding is not a fixed point\nfirst:  %s\nsecond: %s", enc, enc2)
	}
}

func TestKindJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		kind      string // the kind as written in the input
		canonical string // the kind in canonical form
		want      TaskKind
	}{
		{
			name:      "subprocess command",
			kind:      `{"subprocess": {"mode": {"command": {"command": "echo", "args": ["hello", "world"]}}}}`,
			canonical: `{"subprocess":{"mode":{"command":{"command":"echo","args":["hello","world"]}},"failOnNonZero":true}}`,
			want: TaskKind{Subprocess: &SubprocessSpec{
				Mode:          SubprocessMode{Command: &CommandMode{Command: "echo", Args: []string{"hello", "world"}}},
				FailOnNonZero: true,
			}},
		},
		{
			name:      "subprocess command without args, failOnNonZero false, env and cwd",
			kind:      `{"subprocess":{"failOnNonZero":false,"cwd":"/srv","env":{"PATH":"/bin","HOME":"/root"},"mode":{"command":{"command":"true"}}}}`,
			canonical: `{"subprocess":{"mode":{"command":{"command":"true"}},"env":{"HOME":"/root","PATH":"/bin"},"cwd":"/srv","failOnNonZero":false}}`,
			want: TaskKind{Subprocess: &SubprocessSpec{
				Mode:          SubprocessMode{Command: &CommandMode{Command: "true"}},
				Env:           Env{{"HOME", "/root"}, {"PATH", "/bin"}},
				Cwd:           "/srv",
				FailOnNonZero: false,
			}},
		},
		{
			name:      "subprocess script with base64 body",
			kind:      `{"subprocess":{"mode":{"script":{"runtime":"/bin/sh","body":"ZWNobyBoaQo=","args":["-e"]}}}}`,
			canonical: `{"subprocess":{"mode":{"script":{"runtime":"/bin/sh","body":"ZWNobyBoaQo=","args":["-e"]}},"failOnNonZero":true}}`,
			want: TaskKind{Subprocess: &SubprocessSpec{
				Mode:          SubprocessMode{Script: &ScriptMode{Runtime: "/bin/sh", Body: []byte("echo hi\n"), Args: []string{"-e"}}},
				FailOnNonZero: true,
			}},
		},
		{
			name:      "subprocess script with a control character in its body",
			kind:      `{"subprocess":{"mode":{"script":{"runtime":"python3","body":"AH8Q"}}}}`,
			canonical: `{"subprocess":{"mode":{"script":{"runtime":"python3","body":"AH8Q"}},"failOnNonZero":true}}`,
			want: TaskKind{Subprocess: &SubprocessSpec{
				Mode:          SubprocessMode{Script: &ScriptMode{Runtime: "python3", Body: []byte{0x00, 0x7f, 0x10}}},
				FailOnNonZero: true,
			}},
		},
		{
			name:      "wasm",
			kind:      `{"wasm": {"env": {"B": "2", "A": "1"}, "args": ["--verbose"], "module": "modules/hello.wasm"}}`,
			canonical: `{"wasm":{"module":"modules/hello.wasm","args":["--verbose"],"env":{"A":"1","B":"2"}}}`,
			want: TaskKind{Wasm: &WasmSpec{
				Module: "modules/hello.wasm",
				Args:   []string{"--verbose"},
				Env:    Env{{"A", "1"}, {"B", "2"}},
			}},
		},
		{
			name:      "wasm module only",
			kind:      `{"wasm":{"module":"m.wasm"}}`,
			canonical: `{"wasm":{"module":"m.wasm"}}`,
			want:      TaskKind{Wasm: &WasmSpec{Module: "m.wasm"}},
		},
		{
			name:      "container",
			kind:      `{"container":{"image":"docker.io/library/alpine:3.20","command":["sh","-c"],"args":["echo hi"],"env":{"X":"y"}}}`,
			canonical: `{"container":{"image":"docker.io/library/alpine:3.20","command":["sh","-c"],"args":["echo hi"],"env":{"X":"y"}}}`,
			want: TaskKind{Container: &ContainerSpec{
				Image:   "docker.io/library/alpine:3.20",
				Command: []string{"sh", "-c"},
				Args:    []string{"echo hi"},
				Env:     Env{{"X", "y"}},
			}},
		},
		{
			name:      "embedded as the bare string",
			kind:      `"embedded"`,
			canonical: `"embedded"`,
			want:      TaskKind{Embedded: true},
		},
		{
			name:      "extension with nested spec kept compact",
			kind:      "{\"extension\": {\"type\": \"example.com/cron\", \"spec\": {\n  \"schedule\" : \"@daily\",\n  \"jobs\" : [ 1, 2, {\"z\": null, \"a\": true} ]\n}}}",
			canonical: `{"extension":{"type":"example.com/cron","spec":{"schedule":"@daily","jobs":[1,2,{"z":null,"a":true}]}}}`,
			want: TaskKind{Extension: &ExtensionSpec{
				Type: "example.com/cron",
				Spec: json.RawMessage(`{"schedule":"@daily","jobs":[1,2,{"z":null,"a":true}]}`),
			}},
		},
		{
			name:      "extension without spec",
			kind:      `{"extension":{"type":"noop"}}`,
			canonical: `{"extension":{"type":"noop"}}`,
			want:      TaskKind{Extension: &ExtensionSpec{Type: "noop"}},
		},
		{
			name:      "extension with a scalar spec",
			kind:      `{"extension":{"type":"x","spec": 42 }}`,
			canonical: `{"extension":{"type":"x","spec":42}}`,
			want:      TaskKind{Extension: &ExtensionSpec{Type: "x", Spec: json.RawMessage(`42`)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := `{"slot":"s","kind":` + tt.kind + `,"timeout":1000}`
			canonical := `{"slot":"s","kind":` + tt.canonical + `,"timeout":1000,` + defaultsJSON + `}`
			checkSpec(t, in, baseSpec(tt.want), canonical)
			// The kind on its own encodes the same way.
			if got := mustMarshal(t, tt.want); got != tt.canonical {
				t.Errorf("TaskKind encoding\n got: %s\nwant: %s", got, tt.canonical)
			}
		})
	}
}

func TestKindName(t *testing.T) {
	tests := []struct {
		kind TaskKind
		want string
	}{
		{TaskKind{Subprocess: &SubprocessSpec{}}, KindSubprocess},
		{TaskKind{Wasm: &WasmSpec{}}, KindWasm},
		{TaskKind{Container: &ContainerSpec{}}, KindContainer},
		{TaskKind{Embedded: true}, KindEmbedded},
		{TaskKind{Extension: &ExtensionSpec{Type: "example.com/cron"}}, "example.com/cron"},
		{TaskKind{}, ""},
	}
	for _, tt := range tests {
		if got := tt.kind.Name(); got != tt.want {
			t.Errorf("%#v.Name() = %q, want %q", tt.kind, got, tt.want)
		}
	}
}

func TestKindMarshalRejectsZeroOrSeveralKinds(t *testing.T) {
	for name, k := range map[string]TaskKind{
		"none":                {},
		"wasm and container":  {Wasm: &WasmSpec{Module: "m"}, Container: &ContainerSpec{Image: "i"}},
		"embedded and wasm":   {Embedded: true, Wasm: &WasmSpec{Module: "m"}},
		"extension and a sub": {Extension: &ExtensionSpec{Type: "x"}, Subprocess: &SubprocessSpec{}},
	} {
		if _, err := json.Marshal(k); err == nil || !strings.Contains(err.Error(), "exactly one kind") {
			t.Errorf("%s: json.Marshal error = %v, want one about exactly one kind", name, err)
		}
	}
	for name, m := range map[string]SubprocessMode{
		"none": {},
		"both": {Command: &CommandMode{Command: "x"}, Script: &ScriptMode{Runtime: "sh"}},
	} {
		if _, err := json.Marshal(m); err == nil || !strings.Contains(err.Error(), "exactly one of command and script") {
			t.Errorf("mode %s: json.Marshal error = %v", name, err)
		}
	}
}

func TestRestartJSON(t *testing.T) {
	tests := []struct {
		name, in, canonical string
		want                RestartPolicy
	}{
		{"absent defaults to never", ``, `{"type":"never"}`, RestartPolicy{Type: RestartNever}},
		{"never", `"restart":{"type":"never"},`, `{"type":"never"}`, RestartPolicy{Type: RestartNever}},
		{"onFailure", `"restart":{"type":"onFailure"},`, `{"type":"onFailure"}`, RestartPolicy{Type: RestartOnFailure}},
		{"always with interval", `"restart":{"type":"always","intervalMs":5000},`, `{"type":"always","intervalMs":5000}`, RestartPolicy{Type: RestartAlways, IntervalMs: 5000}},
		{"always without interval", `"restart":{"type":"always"},`, `{"type":"always"}`, RestartPolicy{Type: RestartAlways}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := `{` + tt.in + `"slot":"s","kind":"embedded","timeout":1000}`
			want := baseSpec(TaskKind{Embedded: true})
			want.Restart = tt.want
			canonical := `{"slot":"s","kind":"embedded","timeout":1000,"restart":` + tt.canonical +
				`,"backoff":{"jitter":"full","firstMs":1000,"maxMs":30000,"factor":2},"admission":"dropIfRunning"}`
			checkSpec(t, in, want, canonical)
		})
	}
}

func TestBackoffJSON(t *testing.T) {
	tests := []struct {
		name, in, canonical string
		want                BackoffPolicy
	}{
		{"absent: full, 1000, 30000, 2.0", ``, `{"jitter":"full","firstMs":1000,"maxMs":30000,"factor":2}`, BackoffPolicy{JitterFull, 1000, 30000, 2}},
		{"empty object: all defaults", `"backoff":{},`, `{"jitter":"full","firstMs":1000,"maxMs":30000,"factor":2}`, BackoffPolicy{JitterFull, 1000, 30000, 2}},
		{"jitter full", `"backoff":{"jitter":"full","firstMs":10,"maxMs":20,"factor":1.5},`, `{"jitter":"full","firstMs":10,"maxMs":20,"factor":1.5}`, BackoffPolicy{JitterFull, 10, 20, 1.5}},
		{"jitter none", `"backoff":{"jitter":"none","firstMs":10,"maxMs":20,"factor":1},`, `{"jitter":"none","firstMs":10,"maxMs":20,"factor":1}`, BackoffPolicy{JitterNone, 10, 20, 1}},
		{"jitter equal", `"backoff":{"jitter":"equal","firstMs":10,"maxMs":10,"factor":3},`, `{"jitter":"equal","firstMs":10,"maxMs":10,"factor":3}`, BackoffPolicy{JitterEqual, 10, 10, 3}},
		{"jitter decorrelated", `"backoff":{"jitter":"decorrelated","firstMs":1,"maxMs":60000,"factor":2.25},`, `{"jitter":"decorrelated","firstMs":1,"maxMs":60000,"factor":2.25}`, BackoffPolicy{JitterDecorrelated, 1, 60000, 2.25}},
		{"only jitter: the rest defaulted", `"backoff":{"jitter":"none"},`, `{"jitter":"none","firstMs":1000,"maxMs":30000,"factor":2}`, BackoffPolicy{JitterNone, 1000, 30000, 2}},
		{"only firstMs: the rest defaulted", `"backoff":{"firstMs":250},`, `{"jitter":"full","firstMs":250,"maxMs":30000,"factor":2}`, BackoffPolicy{JitterFull, 250, 30000, 2}},
		{"only maxMs and factor", `"backoff":{"maxMs":5000,"factor":1.1},`, `{"jitter":"full","firstMs":1000,"maxMs":5000,"factor":1.1}`, BackoffPolicy{JitterFull, 1000, 5000, 1.1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := `{` + tt.in + `"slot":"s","kind":"embedded","timeout":1000}`
			want := baseSpec(TaskKind{Embedded: true})
			want.Backoff = tt.want
			canonical := `{"slot":"s","kind":"embedded","timeout":1000,"restart":{"type":"never"},"backoff":` +
				tt.canonical + `,"admission":"dropIfRunning"}`
			checkSpec(t, in, want, canonical)
		})
	}
}

func TestDefaultBackoff(t *testing.T) {
	want := BackoffPolicy{Jitter: JitterFull, FirstMs: 1000, MaxMs: 30000, Factor: 2.0}
	if got := DefaultBackoff(); got != want {
		t.Fatalf("DefaultBackoff() = %#v, want %#v", got, want)
	}
}

func TestAdmissionJSON(t *testing.T) {
	tests := []struct {
		name, in string
		want     AdmissionPolicy
	}{
		{"absent defaults to dropIfRunning", ``, AdmissionDropIfRunning},
		{"dropIfRunning", `"admission":"dropIfRunning",`, AdmissionDropIfRunning},
		{"replace", `"admission":"replace",`, AdmissionReplace},
		{"queue", `"admission":"queue",`, AdmissionQueue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := `{` + tt.in + `"slot":"s","kind":"embedded","timeout":1000}`
			want := baseSpec(TaskKind{Embedded: true})
			want.Admission = tt.want
			canonical := `{"slot":"s","kind":"embedded","timeout":1000,"restart":{"type":"never"},` +
				`"backoff":{"jitter":"full","firstMs":1000,"maxMs":30000,"factor":2},"admission":"` + string(tt.want) + `"}`
			checkSpec(t, in, want, canonical)
		})
	}
}

func TestSelectorAndLabelsJSON(t *testing.T) {
	tests := []struct {
		name, in, canonicalTail string
		sel                     *RunnerSelector
		labels                  map[string]string
		maxRetries              uint32
	}{
		{
			name:          "matchLabels and matchExpressions",
			in:            `"runnerSelector":{"matchLabels":{"zone":"eu-west","arch":"amd64"},"matchExpressions":[{"key":"example.com/tier","operator":"In","values":["gold","silver"]},{"key":"gpu","operator":"NotIn","values":["none"]},{"key":"ssd","operator":"Exists"},{"key":"spot","operator":"DoesNotExist"}]},`,
			canonicalTail: `,"runnerSelector":{"matchLabels":{"arch":"amd64","zone":"eu-west"},"matchExpressions":[{"key":"example.com/tier","operator":"In","values":["gold","silver"]},{"key":"gpu","operator":"NotIn","values":["none"]},{"key":"ssd","operator":"Exists"},{"key":"spot","operator":"DoesNotExist"}]}`,
			sel: &RunnerSelector{
				MatchLabels: map[string]string{"zone": "eu-west", "arch": "amd64"},
				MatchExpressions: []LabelRequirement{
					{Key: "example.com/tier", Operator: OpIn, Values: []string{"gold", "silver"}},
					{Key: "gpu", Operator: OpNotIn, Values: []string{"none"}},
					{Key: "ssd", Operator: OpExists},
					{Key: "spot", Operator: OpDoesNotExist},
				},
			},
		},
		{
			name:          "matchLabels only",
			in:            `"runnerSelector":{"matchLabels":{"os":"linux"}},`,
			canonicalTail: `,"runnerSelector":{"matchLabels":{"os":"linux"}}`,
			sel:           &RunnerSelector{MatchLabels: map[string]string{"os": "linux"}},
		},
		{
			name:          "empty selector is kept",
			in:            `"runnerSelector":{},`,
			canonicalTail: `,"runnerSelector":{}`,
			sel:           &RunnerSelector{},
		},
		{
			name:          "labels sorted by key, with a prefixed key and an empty value",
			in:            `"labels":{"team":"infra","example.com/tier":"gold","empty":""},`,
			canonicalTail: `,"labels":{"empty":"","example.com/tier":"gold","team":"infra"}`,
			labels:        map[string]string{"team": "infra", "example.com/tier": "gold", "empty": ""},
		},
		{
			name:          "maxRetries",
			in:            `"maxRetries":3,`,
			canonicalTail: `,"maxRetries":3`,
			maxRetries:    3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := `{` + tt.in + `"slot":"s","kind":"embedded","timeout":1000}`
			want := baseSpec(TaskKind{Embedded: true})
			want.RunnerSelector, want.Labels, want.MaxRetries = tt.sel, tt.labels, tt.maxRetries
			canonical := `{"slot":"s","kind":"embedded","timeout":1000,` + defaultsJSON + tt.canonicalTail + `}`
			checkSpec(t, in, want, canonical)
		})
	}
}

// TestCanonicalEncodingFullSpec pins the exact bytes of a full spec: compact, fields in struct
// order whatever the input order, maps sorted, base64 body, defaults filled.
func TestCanonicalEncodingFullSpec(t *testing.T) {
	in := `{
  "labels": {"team": "infra", "app": "backup"},
  "runnerSelector": {
    "matchExpressions": [{"values": ["gold", "silver"], "operator": "In", "key": "example.com/tier"}],
    "matchLabels": {"zone": "eu", "arch": "amd64"}
  },
  "backoff": {"firstMs": 500, "jitter": "equal"},
  "restart": {"type": "onFailure"},
  "timeout": 60000,
  "kind": {"subprocess": {
    "cwd": "/tmp",
    "env": {"Z": "1", "A": "2"},
    "mode": {"script": {"args": ["-e"], "body": "ZWNobyBoaQ==", "runtime": "/bin/sh"}}
  }},
  "maxRetries": 5,
  "admission": "queue",
  "slot": "backup.nightly"
}`
	const canonical = `{"slot":"backup.nightly",` +
		`"kind":{"subprocess":{"mode":{"script":{"runtime":"/bin/sh","body":"ZWNobyBoaQ==","args":["-e"]}},"env":{"A":"2","Z":"1"},"cwd":"/tmp","failOnNonZero":true}},` +
		`"timeout":60000,"restart":{"type":"onFailure"},"backoff":{"jitter":"equal","firstMs":500,"maxMs":30000,"factor":2},` +
		`"admission":"queue","maxRetries":5,` +
		`"runnerSelector":{"matchLabels":{"arch":"amd64","zone":"eu"},"matchExpressions":[{"key":"example.com/tier","operator":"In","values":["gold","silver"]}]},` +
		`"labels":{"app":"backup","team":"infra"}}`
	want := TaskSpec{
		Slot: "backup.nightly",
		Kind: TaskKind{Subprocess: &SubprocessSpec{
			Mode:          SubprocessMode{Script: &ScriptMode{Runtime: "/bin/sh", Body: []byte("echo hi"), Args: []string{"-e"}}},
			Env:           Env{{"A", "2"}, {"Z", "1"}},
			Cwd:           "/tmp",
			FailOnNonZero: true,
		}},
		TimeoutMs:  60000,
		Restart:    RestartPolicy{Type: RestartOnFailure},
		Backoff:    BackoffPolicy{Jitter: JitterEqual, FirstMs: 500, MaxMs: 30000, Factor: 2},
		Admission:  AdmissionQueue,
		MaxRetries: 5,
		RunnerSelector: &RunnerSelector{
			MatchLabels:      map[string]string{"zone": "eu", "arch": "amd64"},
			MatchExpressions: []LabelRequirement{{Key: "example.com/tier", Operator: OpIn, Values: []string{"gold", "silver"}}},
		},
		Labels: map[string]string{"team": "infra", "app": "backup"},
	}
	checkSpec(t, in, want, canonical)
}

// TestContractNoteExamples feeds the JSON fragments of the solti contract note, written as
// there, through a full spec.
func TestContractNoteExamples(t *testing.T) {
	tests := []struct {
		name, field, value, canonical string
	}{
		{"kind subprocess command", "kind", `{"subprocess": {"mode": {"command": {"command": "ls", "args": ["-l"]}}}}`, `{"subprocess":{"mode":{"command":{"command":"ls","args":["-l"]}},"failOnNonZero":true}}`},
		{"kind subprocess script", "kind", `{"subprocess": {"mode": {"script": {"runtime": "bash", "body": "ZWNobw==", "args": []}}, "failOnNonZero": true}}`, `{"subprocess":{"mode":{"script":{"runtime":"bash","body":"ZWNobw=="}},"failOnNonZero":true}}`},
		{"kind wasm", "kind", `{"wasm": {"module": "x.wasm"}}`, `{"wasm":{"module":"x.wasm"}}`},
		{"kind container", "kind", `{"container": {"image": "alpine"}}`, `{"container":{"image":"alpine"}}`},
		{"kind embedded", "kind", `"embedded"`, `"embedded"`},
		{"restart never", "restart", `{"type":"never"}`, `{"type":"never"}`},
		{"restart onFailure", "restart", `{"type":"onFailure"}`, `{"type":"onFailure"}`},
		{"restart always", "restart", `{"type":"always","intervalMs":1000}`, `{"type":"always","intervalMs":1000}`},
		{"backoff", "backoff", `{"jitter": "decorrelated", "firstMs": 100, "maxMs": 1000, "factor": 1.5}`, `{"jitter":"decorrelated","firstMs":100,"maxMs":1000,"factor":1.5}`},
		{"admission replace", "admission", `"replace"`, `"replace"`},
		{"runnerSelector", "runnerSelector", `{"matchLabels": {"k": "v"}, "matchExpressions": [{"key": "k2", "operator": "In", "values": ["a"]}]}`, `{"matchLabels":{"k":"v"},"matchExpressions":[{"key":"k2","operator":"In","values":["a"]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := map[string]string{"slot": `"s"`, "kind": `"embedded"`, "timeout": `1000`}
			fields[tt.field] = tt.value
			var in bytes.Buffer
			in.WriteString("{")
			for i, k := range []string{"slot", "kind", "timeout", "restart", "backoff", "admission", "runnerSelector"} {
				v, ok := fields[k]
				if !ok {
					continue
				}
				if i > 0 {
					in.WriteString(", ")
				}
				fmt.Fprintf(&in, "%q: %s", k, v)
			}
			in.WriteString("}")
			s := mustParse(t, in.String())
			enc := mustMarshal(t, s)
			var top map[string]json.RawMessage
			if err := json.Unmarshal([]byte(enc), &top); err != nil {
				t.Fatal(err)
			}
			if got := string(top[tt.field]); got != tt.canonical {
				t.Errorf("%s encodes as %s, want %s", tt.field, got, tt.canonical)
			}
			// Input-only distinctions ("args": [] versus no args) vanish in the canonical form,
			// which must then be stable.
			canon := mustParse(t, enc)
			if enc2 := mustMarshal(t, canon); enc2 != enc {
				t.Errorf("canonical form not stable:\n%s\n%s", enc, enc2)
			}
			if again := mustParse(t, mustMarshal(t, canon)); !reflect.DeepEqual(again, canon) {
				t.Errorf("decode(encode(x)) != x: %#v vs %#v", again, canon)
			}
		})
	}
}

// TestStructRoundTrip checks decode(encode(x)) == x for specs built in Go, one per kind, with
// every optional field set.
func TestStructRoundTrip(t *testing.T) {
	full := func(k TaskKind) TaskSpec {
		s := baseSpec(k)
		s.Slot = "lane-1.a_b"
		s.TimeoutMs = 1<<53 + 1 // an integer a float64 would round
		s.Restart = RestartPolicy{Type: RestartAlways, IntervalMs: 42}
		s.Backoff = BackoffPolicy{Jitter: JitterDecorrelated, FirstMs: 3, MaxMs: 7, Factor: 1.0000001}
		s.Admission = AdmissionReplace
		s.MaxRetries = 9
		s.RunnerSelector = &RunnerSelector{
			MatchLabels:      map[string]string{"a": "b"},
			MatchExpressions: []LabelRequirement{{Key: "c", Operator: OpNotIn, Values: []string{"d", "e"}}},
		}
		s.Labels = map[string]string{"example.com/x": "y"}
		return s
	}
	specs := map[string]TaskSpec{
		"command":   full(TaskKind{Subprocess: &SubprocessSpec{Mode: SubprocessMode{Command: &CommandMode{Command: "c", Args: []string{"1", ""}}}, Env: Env{{"K", "v"}}, Cwd: "/", FailOnNonZero: false}}),
		"script":    full(TaskKind{Subprocess: &SubprocessSpec{Mode: SubprocessMode{Script: &ScriptMode{Runtime: "sh", Body: []byte{0, 1, 2, 0x7f, 0xc3, 0xa9}, Args: []string{"x"}, Flag: "-c"}}, FailOnNonZero: true}}),
		"wasm":      full(TaskKind{Wasm: &WasmSpec{Module: "m.wasm", Args: []string{"a"}, Env: Env{{"A", ""}, {"B", "é"}}}}),
		"container": full(TaskKind{Container: &ContainerSpec{Image: "img", Command: []string{"c"}, Args: []string{"a"}, Env: Env{{"E", "1"}}}}),
		"embedded":  full(TaskKind{Embedded: true}),
		"extension": full(TaskKind{Extension: &ExtensionSpec{Type: "example.com/cron", Spec: json.RawMessage(`{"at":"@hourly","n":[1,2.5,null]}`)}}),
		"minimal":   baseSpec(TaskKind{Wasm: &WasmSpec{Module: "m"}}),
	}
	for name, s := range specs {
		t.Run(name, func(t *testing.T) {
			if err := s.Validate(); err != nil {
				t.Fatalf("spec is invalid: %v", err)
			}
			enc := mustMarshal(t, &s)
			got := mustParse(t, enc)
			if !reflect.DeepEqual(*got, s) {
				t.Fatalf("decode(encode(x)) != x\n got: %#v\nwant: %#v\njson: %s", *got, s, enc)
			}
			if enc2 := mustMarshal(t, got); enc2 != enc {
				t.Fatalf("second encoding differs:\n%s\n%s", enc, enc2)
			}
		})
	}
}

func TestDecodeDoesNotValidate(t *testing.T) {
	// UnmarshalJSON only decodes and fills defaults; ParseTaskSpec validates.
	var s TaskSpec
	if err := json.Unmarshal([]byte(`{"slot":"..","timeout":0}`), &s); err != nil {
		t.Fatalf("json.Unmarshal: %v", err)
	}
	if s.Slot != ".." || s.Restart.Type != RestartNever || s.Backoff != DefaultBackoff() || s.Admission != AdmissionDropIfRunning {
		t.Fatalf("unexpected decode: %#v", s)
	}
	if _, err := ParseTaskSpec([]byte(`{"slot":"..","timeout":0}`)); err == nil {
		t.Fatal("ParseTaskSpec accepted an invalid spec")
	}
}
