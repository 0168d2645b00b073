package abi

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// g3Spec is a minimal current-generation spec around workload w.
func g3Spec(w string) string {
	return `{"slot":"s","workload":` + w + `,"timeout":1000,"restart":{"type":"never"},` +
		`"backoff":{"jitter":"full","firstMs":1000,"maxMs":30000,"factor":2},"admission":"dropIfRunning"}`
}

// TestFormsReadAsOneSpec: the same task written in each accepted form is one TaskSpec.
func TestFormsReadAsOneSpec(t *testing.T) {
	want := baseSpec(TaskKind{Subprocess: &SubprocessSpec{
		Mode:          SubprocessMode{Script: &ScriptMode{Runtime: "bash", Body: []byte("echo hi"), Args: []string{"a"}}},
		Env:           Env{{"A", "2"}, {"B", "1"}},
		FailOnNonZero: true,
	}})
	want.Labels = map[string]string{"team": "a"}
	const body = `"body":"ZWNobyBoaQ==","args":["a"]`
	g3w := `{"apiVersion":"solti.io/v1","kind":"Subprocess","spec":{"mode":{"script":{"interpreter":"bash",` + body + `}},"env":[{"key":"B","value":"1"},{"key":"A","value":"1"},{"key":"A","value":"2"}]}}`
	forms := map[string]string{
		"ABI v1, env object, runtime": `{"slot":"s","kind":{"subprocess":{"mode":{"script":{"runtime":"bash",` + body + `}},"env":{"B":"1","A":"2"}}},"timeout":1000,"labels":{"team":"a"}}`,
		"older, env list, runtime":    `{"slot":"s","kind":{"subprocess":{"mode":{"script":{"runtime":"bash",` + body + `}},"env":[{"key":"A","value":"2"},{"key":"B","value":"1"}]}},"timeout":1000,"labels":{"team":"a"}}`,
		"ABI v1 with interpreter":     `{"slot":"s","kind":{"subprocess":{"mode":{"script":{"interpreter":"bash",` + body + `}},"env":{"A":"2","B":"1"}}},"timeout":1000,"labels":{"team":"a"}}`,
		"Task manifest":               `{"apiVersion":"solti.io/v1","kind":"Task","metadata":{"name":"demo","labels":{"team":"a"}},"spec":` + g3Spec(g3w) + `}`,
	}
	for name, in := range forms {
		t.Run(name, func(t *testing.T) {
			got := mustParse(t, in)
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("got  %#v\nwant %#v", *got, want)
			}
		})
	}
}

func TestGVKMapping(t *testing.T) {
	in := g3Spec(`{"apiVersion":"checks.example.com/v1beta1","kind":"HttpCheck","spec":{"url":"x"}}`)
	s := mustParse(t, in)
	if s.Kind.Extension == nil || s.Kind.Name() != "checks.example.com/v1beta1/HttpCheck" || string(s.Kind.Extension.Spec) != `{"url":"x"}` {
		t.Fatalf("kind = %#v", s.Kind)
	}
	g, ok := ParseKindType(s.Kind.Name())
	if !ok || g != (GVK{"checks.example.com", "v1beta1", "HttpCheck"}) || g.APIVersion() != "checks.example.com/v1beta1" {
		t.Fatalf("ParseKindType = %#v, %v", g, ok)
	}
	// The ABI v1 form of the same kind is the same kind.
	v1 := mustParse(t, `{"slot":"s","kind":{"extension":{"type":"checks.example.com/v1beta1/HttpCheck","spec":{"url":"x"}}},"timeout":1000,"backoff":{"jitter":"full"}}`)
	if !reflect.DeepEqual(v1.Kind, s.Kind) {
		t.Fatalf("v1 %#v, g3 %#v", v1.Kind, s.Kind)
	}
	// One-to-one: distinct GVKs give distinct types, case included.
	a, _ := ParseAPIVersion("example.com/v1", "HTTPCheck")
	b, _ := ParseAPIVersion("example.com/v1", "HttpCheck")
	if a.Type() == b.Type() {
		t.Fatal("two kinds share a type")
	}
	for _, typ := range []string{"http-check", "example.com/cron", "a/b", "solti.io/v1/Cron", "example.com/v1/Http_Check", "example/v1/Cron"} {
		if g, ok := ParseKindType(typ); ok {
			t.Errorf("ParseKindType(%q) = %#v, want not a GVK type", typ, g)
		}
	}
	if !ValidKindType("example.com/v1/HttpCheck") || ValidKindType("solti.io/v1/Cron") || ValidKindType("Example.com/v1/x") {
		t.Error("ValidKindType and GVK types disagree")
	}
}

func TestOtherGenerationIsNamed(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"slot":"s","kind":{"apiVersion":"solti.io/v1","kind":"Wasm","spec":{"module":"m"}},"timeout":1}`,
			`kind: this is a workload {apiVersion, kind, spec}, the current generation's form: give it as "workload", not "kind"`},
		{`{"apiVersion":"solti.io/v1","kind":"Task","metadata":{"name":"t"},"spec":{"slot":"s","kind":"embedded","timeout":1}}`,
			`spec.kind: a Task manifest's spec is of the current generation: it has workload`},
		{`{"slot":"s","kind":"embedded","workload":{},"timeout":1}`, `give one of workload (current) and kind (older), not both`},
		{g3Spec(`{"apiVersion":"solti.io/v1","kind":{"wasm":{"module":"m"}},"spec":{}}`), `workload.kind: want a kind name such as "Subprocess", got an object`},
		{strings.TrimSuffix(g3Spec(`{"apiVersion":"solti.io/v1","kind":"Wasm","spec":{"module":"m"}}`), "}") + `,"labels":{"a":"b"}}`,
			`labels: unknown field (in the current generation labels live in the Task manifest's metadata.labels)`},
		{`{"slot":"s","timeout":1}`, `kind: missing (or workload, in the current generation's form)`},
		{g3Spec(`{"apiVersion":"solti.io/v1","kind":"Subprocess","spec":{"mode":{"script":{"runtime":"sh","body":"eA=="}}}}`),
			`workload.spec.mode.script.runtime: "sh" is not bash, python, node or {"custom":{"command","flag"}}; for any other interpreter write "interpreter":"sh"`},
	}
	for _, tt := range tests {
		_, err := ParseTaskSpec([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseTaskSpec(%s)\n = %v\nwant %q", tt.in, err, tt.want)
		}
	}
}

func TestMaxRetriesGenerations(t *testing.T) {
	// ABI v1 and solti-model's older generation: 0 (or absent) is unlimited.
	if s := mustParse(t, `{"slot":"s","kind":"embedded","timeout":1,"maxRetries":0}`); s.MaxRetries != 0 {
		t.Fatal(s.MaxRetries)
	}
	// The current generation refuses 0: absent is unlimited, a bound is >= 1.
	w := `{"apiVersion":"solti.io/v1","kind":"Wasm","spec":{"module":"m"}}`
	in := g3Spec(w)
	if s := mustParse(t, in[:len(in)-1]+`,"maxRetries":1}`); s.MaxRetries != 1 {
		t.Fatal(s.MaxRetries)
	}
	if _, err := ParseTaskSpec([]byte(in[:len(in)-1] + `,"maxRetries":0}`)); err == nil || !strings.HasPrefix(err.Error(), "maxRetries: must be >= 1") {
		t.Fatalf("maxRetries 0: %v", err)
	}
}

func TestParseTask(t *testing.T) {
	in := `{"apiVersion":"solti.io/v1","kind":"Task","metadata":{"name":"demo","uid":"u","resourceVersion":"7","generation":2,"creationTimestamp":"2026-12-02T10:00:00Z","labels":{"a":"b"},"annotations":{"example.com/n":"any text"}},"spec":` +
		g3Spec(`{"apiVersion":"solti.io/v1","kind":"Wasm","spec":{"module":"m"}}`) + `,"status":{"phase":"running"}}`
	task, err := ParseTask([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if task.Metadata.Name != "demo" || task.Metadata.Generation != 2 || task.Spec.Labels["a"] != "b" || task.Spec.Kind.Wasm.Module != "m" {
		t.Fatalf("%#v", task)
	}
	if _, err := ParseTask([]byte(`{"slot":"s","kind":"embedded","timeout":1}`)); err == nil || !strings.HasPrefix(err.Error(), "apiVersion: missing") {
		t.Fatalf("a bare spec: %v", err)
	}
}

func TestLabelKeysFollowKubernetes(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, k := range []string{
		long + ".example.com/x",                     // a 63-char DNS label in a prefix
		strings.Repeat("b", 100) + ".example.com/x", // Kubernetes bounds only the whole prefix
		strings.Repeat("c", 253) + "/" + long,       // a 253-char prefix, a 63-char name
		"example.com/" + long, "a/b", "A.b_c-d", "x",
	} {
		if !ValidLabelKey(k) {
			t.Errorf("ValidLabelKey(%q) = false", k)
		}
	}
	for _, k := range []string{
		strings.Repeat("c", 254) + "/x", "example.com/" + long + "a", "/x", "a/", "a/b/c", "A.com/x",
		"a..b/x", "-a/x", "a-/x", "a_b/x", "", "-x", "x-", "x y",
	} {
		if ValidLabelKey(k) {
			t.Errorf("ValidLabelKey(%q) = true", k)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	deep := func(n int) []byte {
		return []byte(`{"guest":{"payload":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}}`)
	}
	if _, err := ParsePlan(deep(MaxDepth - 2)); err != nil {
		t.Fatalf("a plan at the limit: %v", err)
	}
	for _, n := range []int{MaxDepth - 1, 100_000} {
		_, err := ParsePlan(deep(n))
		var se *SyntaxError
		// The offending bracket is the 257th level: after `{"guest":{"payload":` (20 bytes)
		// and 254 more brackets.
		if !errors.Is(err, ErrTooDeep) || !errors.As(err, &se) || se.Column != 20+MaxDepth-2+1 {
			t.Fatalf("a plan %d deep: %v", n, err)
		}
		if want := "plan: line 1, column 275: nested deeper than 256 levels"; err.Error() != want {
			t.Fatalf("got %q, want %q", err, want)
		}
	}
	var s TaskSpec // guests are held to the same bound
	if err := json.Unmarshal([]byte(`{"slot":"s","kind":{"extension":{"type":"x","spec":`+strings.Repeat("[", 300)+strings.Repeat("]", 300)+`}}}`), &s); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("lenient: %v", err)
	}
	if _, err := ParseDescription([]byte(`{"x":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`)); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("description: %v", err)
	}
}

func TestStrictJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"slot":"s","slot":"t","kind":"embedded","timeout":1}`, `task spec: line 1, column 13: duplicate key "slot"`},
		{`{"slot":"s","kind":{"extension":{"type":"x","spec":{"a":{"b":1,"b":2}}}},"timeout":1}`, `duplicate key "b"`},
		{`{"slot":"s\u00","kind":"embedded","timeout":1}`, `invalid \u escape`},
		{`{"slot":"\ud800","kind":"embedded","timeout":1}`, `lone surrogate`},
		{"{\"slot\":\"\xff\",\"kind\":\"embedded\",\"timeout\":1}", `invalid UTF-8 in a string`},
		{"{\"slot\":\"a\tb\"}", `control character 0x09 in a string`},
		{`{"slot":"s","kind":"embedded","timeout":01}`, `after an object member`},
		{`{"slot":"s","kind":"embedded","timeout":1.}`, `after a decimal point`},
		{`{"Slot":"s","kind":"embedded","timeout":1}`, `Slot: unknown field (field names are case-sensitive: did you mean "slot"?)`},
		{`{"slot":"s","kind":{"subprocess":{"mode":{"command":{"command":"ls"}},"FailOnNonZero":false}},"timeout":1}`, `kind.subprocess.FailOnNonZero: unknown field (field names are case-sensitive: did you mean "failOnNonZero"?)`},
		{`{"slot":"s","kind":"embedded","timeout":1,"timout":0}`, `timout: unknown field (did you mean "timeout"?)`},
		{`{"slot":"s","kind":"embedded","timeout":1,"maxRetires":2}`, `maxRetires: unknown field (did you mean "maxRetries"?)`},
		{`{"slot":"s","kind":"embedded","timeout":1,"priority":2}`, `priority: unknown field (known: slot, kind, timeout,`},
	}
	for _, tt := range tests {
		_, err := ParseTaskSpec([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseTaskSpec(%q)\n = %v\nwant %q", tt.in, err, tt.want)
		}
	}
	// Large objects check duplicates with a map: the key that repeats is the 20th.
	var b strings.Builder
	b.WriteString(`{"slot":"s","kind":{"extension":{"type":"x","spec":{`)
	for i := 0; i < 20; i++ {
		b.WriteString(`"k` + string(rune('a'+i)) + `":1,`)
	}
	b.WriteString(`"ka":2}}},"timeout":1}`)
	if _, err := ParseTaskSpec([]byte(b.String())); err == nil || !strings.Contains(err.Error(), `duplicate key "ka"`) {
		t.Errorf("duplicate in a large object: %v", err)
	}
	// Escaped keys are compared decoded.
	if _, err := ParseTaskSpec([]byte(`{"slot":"s","\u0073lot":"t","kind":"embedded","timeout":1}`)); err == nil || !strings.Contains(err.Error(), `duplicate key "slot"`) {
		t.Errorf("escaped duplicate: %v", err)
	}
}

// TestNoGoNamesInErrors scans the message of every refusal in the corpus (and a few more) for
// Go type names: users write JSON and are told about JSON.
func TestNoGoNamesInErrors(t *testing.T) {
	var msgs []string
	for _, doc := range SchemaNames() {
		for _, c := range readCorpus(t, doc) {
			if err := parseDoc(doc, c.doc); err != nil {
				msgs = append(msgs, err.Error())
			}
		}
	}
	for _, in := range []string{`{"slot":[]}`, `{"timeout":{}}`, `{"backoff":{"factor":[]}}`, `{"restart":{"intervalMs":"1"}}`,
		`{"runnerSelector":{"matchExpressions":{}}}`, `{"runnerSelector":{"matchExpressions":[1]}}`, `{"labels":[]}`, `{"maxRetries":1e3}`} {
		_, err := ParseTaskSpec([]byte(in))
		msgs = append(msgs, err.Error())
	}
	for _, in := range []string{`{"exec":{"args":[1]}}`, `{"exec":{"env":[1]}}`, `{"wasi":{"env":{"a":1}}}`, `{"guest":[]}`} {
		_, err := ParsePlan([]byte(in))
		msgs = append(msgs, err.Error())
	}
	if len(msgs) < 100 {
		t.Fatalf("only %d messages", len(msgs))
	}
	for _, m := range msgs {
		for _, bad := range []string{"abi.", "uint64", "uint32", "float64", "of type", "struct", "json:", "Go value", "[]string", "map["} {
			if strings.Contains(m, bad) {
				t.Errorf("message %q contains %q", m, bad)
			}
		}
	}
}
