package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/internal/testcache"
	"github.com/solti-wasm/solti-wasm/runtime"
)

// The scenario table is written once and run against every module in runners/: adding a
// language means adding a module (and its source), never changing the table. The contract the
// modules implement is README.md.

// outcome is what a call must do.
type outcome int

const (
	ok       outcome = iota // returns 0 (name, describe, build, run)
	yes                     // supports returns 1
	no                      // supports returns 0
	fault                   // supports returns a negative result with a GuestError as output
	failed                  // build or run returns non-zero with a GuestError as output
	trapped                 // the call traps (the instance is then discarded)
	rejected                // build produces no plan the host accepts: an error, or an invalid plan
)

var outcomeNames = [...]string{"ok", "yes", "no", "fault", "failed", "trapped", "rejected"}

func (o outcome) String() string { return outcomeNames[o] }

// step is one export call. Its input is made from the language (runner names differ) and the
// previous step's output; "{lang}" in want, code and message is replaced by the language.
type step struct {
	export  string
	input   func(lang string, prev []byte) []byte
	fresh   bool // call on a new instance (after a trap, say)
	want    outcome
	json    string    // the output, compared as JSON, field by field
	text    string    // the output, compared as bytes (name)
	code    string    // the GuestError's code (fault, failed)
	message *string   // the GuestError's message, when the contract fixes it
	logs    []logRec  // the log records, exactly; nil: not checked
	lines   []lineRec // the lines emitted (emit import), exactly; nil: not checked
}

type scenario struct {
	name  string
	steps []step
}

func str(s string) *string { return &s }

// canonical returns the host's canonical form of a TaskSpec written as JSON.
func canonical(raw string) []byte {
	s, err := abi.ParseTaskSpec([]byte(raw))
	if err != nil {
		panic(fmt.Sprintf("the table holds an invalid spec: %v\n%s", err, raw))
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}

// task is a conformance task spec with the given extension spec and labels (JSON texts).
func task(extSpec, labels string) []byte {
	l := ""
	if labels != "" {
		l = `,"labels":` + labels
	}
	return canonical(`{"slot":"conf","kind":{"extension":{"type":"conformance","spec":` + extSpec + `}},"timeout":5000` + l + `}`)
}

var testEnv = abi.EnvFromMap(map[string]string{"GREETING": "grüß dich \"☃\"", "EMPTY": "", "PATH": "/bin"})

// buildInput wraps a spec as the host does for runner conformance-{lang}.
func buildInput(spec []byte) func(string, []byte) []byte {
	return func(lang string, _ []byte) []byte {
		var ts abi.TaskSpec
		if err := json.Unmarshal(spec, &ts); err != nil {
			panic(err)
		}
		b, err := json.Marshal(abi.BuildInput{RunID: "conformance-" + lang + "-conf-7", Runner: "conformance-" + lang, Env: testEnv, Spec: &ts})
		if err != nil {
			panic(err)
		}
		return b
	}
}

func fixed(b []byte) func(string, []byte) []byte { return func(string, []byte) []byte { return b } }

func none(string, []byte) []byte { return nil }

// runOfPlan turns the previous step's guest plan into a RunInput, as the host does.
func runOfPlan(attempt int) func(string, []byte) []byte {
	return func(lang string, prev []byte) []byte {
		var p abi.Plan
		if err := json.Unmarshal(prev, &p); err != nil || p.Guest == nil {
			return []byte(`{"runId":"no-plan","attempt":1}`) // the previous step failed and said so
		}
		b, _ := json.Marshal(abi.RunInput{RunID: "conformance-" + lang + "-conf-7", Attempt: attempt, Env: testEnv, Payload: p.Guest.Payload})
		return b
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// echoPlan is the plan that build answers to op "echo" with text and value (JSON texts).
func echoPlan(text, value, labels string) string {
	if labels == "" {
		labels = "{}"
	}
	return `{"guest":{"payload":{"runId":"conformance-{lang}-conf-7","runner":"conformance-{lang}","slot":"conf","timeout":5000,` +
		`"labels":` + labels + `,"env":{"EMPTY":"","GREETING":"grüß dich \"☃\"","PATH":"/bin"},"text":` + text + `,"value":` + value + `}}}`
}

// echo is a build scenario of op "echo".
func echo(name, text, value string) scenario {
	spec := `{"op":"echo","text":` + text + `,"value":` + value + `}`
	return scenario{name, []step{{export: "build", input: buildInput(task(spec, "")), want: ok, json: echoPlan(text, value, "")}}}
}

const (
	unicodeText = `"héllo, 世界 🚀 \"quoted\" back\\slash \n\t\r \u0001\u001f </script> & \u2028 \ud83d\ude00 ￿"`
	nestedValue = `{"a":[1,2.5,-3e2,{"b":null,"c":[true,false,[]]}],"d":{"e":{"f":"g","h":{}}},` +
		`"big":12345678901234567890,"neg":-0.125,"s":"\"{[not json]}\"","deep":[[[[[[[[[[{"x":1}]]]]]]]]]]}`
)

// bigText is a 512 KiB string (one byte of JSON per character: the worst case for growth is
// the writer, not the escaping).
var bigText = jsonString(strings.Repeat("0123456789abcdef", 512*1024/16))

// emitted are the lines a run emits when its payload asks for them (README.md): the last two
// come from one emit call, which the host splits at the newline.
var emitted = []lineRec{
	{abi.StreamStdout, "conformance stdout ✓"},
	{abi.StreamStderr, "conformance stderr"},
	{abi.StreamStdout, "conformance 1"},
	{abi.StreamStdout, "conformance 2"},
}

var scenarios = []scenario{
	{"name", []step{{export: "name", input: none, want: ok, text: "conformance-{lang}"}}},
	{"describe", []step{{export: "describe", input: none, want: ok,
		json: `{"version":"1.0.0","kinds":["conformance"],"labels":{"lang":"{lang}","suite":"conformance"},"description":"solti-wasm conformance runner"}`}}},

	// supports: by kind, then by label
	{"supports/kind", []step{{export: "supports", input: fixed(task(`{"op":"echo"}`, "")), want: yes}}},
	{"supports/kind-no-spec", []step{{export: "supports", input: fixed(canonical(`{"slot":"conf","kind":{"extension":{"type":"conformance"}},"timeout":1}`)), want: yes}}},
	{"supports/other-extension", []step{{export: "supports", input: fixed(canonical(`{"slot":"conf","kind":{"extension":{"type":"conformance-not"}},"timeout":1}`)), want: no}}},
	{"supports/subprocess", []step{{export: "supports", input: fixed(canonical(`{"slot":"conf","kind":{"subprocess":{"mode":{"command":{"command":"conformance"}}}},"timeout":1}`)), want: no}}},
	{"supports/embedded", []step{{export: "supports", input: fixed(canonical(`{"slot":"conf","kind":"embedded","timeout":1}`)), want: no}}},
	{"supports/label-accept", []step{{export: "supports", input: fixed(task(`{}`, `{"conformance":"accept","team":"a"}`)), want: yes}}},
	{"supports/label-refuse", []step{{export: "supports", input: fixed(task(`{}`, `{"conformance":"refuse"}`)), want: no}}},
	{"supports/label-error", []step{{export: "supports", input: fixed(task(`{}`, `{"conformance":"error"}`)), want: fault,
		code: "internal", message: str("supports failed on request")}}},

	// build: echoing spec fields exactly
	echo("build/echo-ascii", `"hello"`, `"world"`),
	echo("build/echo-unicode", unicodeText, unicodeText),
	echo("build/echo-empty", `""`, `""`),
	echo("build/echo-512KiB", bigText, `null`),
	echo("build/echo-nested", `"n"`, nestedValue),
	echo("build/echo-scalars", `"s"`, `[0,-1,1.5e-7,true,false,null,""]`),
	{"build/echo-labels", []step{{export: "build", input: buildInput(task(`{"op":"echo","text":"l"}`, `{"app.kubernetes.io/name":"x","team":"a-b_c.d"}`)),
		want: ok, json: echoPlan(`"l"`, `null`, `{"app.kubernetes.io/name":"x","team":"a-b_c.d"}`)}}},

	// build: error paths
	{"build/missing-field", []step{{export: "build", input: buildInput(task(`{"op":"echo"}`, "")), want: failed, code: "missing_field", message: str("text")}}},
	{"build/error-invalid-spec", []step{{export: "build", input: buildInput(task(`{"op":"error","code":"invalid_spec","message":"ops[2]: unknown op \"shout\" — ü"}`, "")),
		want: failed, code: "invalid_spec", message: str(`ops[2]: unknown op "shout" — ü`)}}},
	{"build/error-io", []step{{export: "build", input: buildInput(task(`{"op":"error","code":"io","message":""}`, "")), want: failed, code: "io", message: str("")}}},
	{"build/error-custom-code", []step{{export: "build", input: buildInput(task(`{"op":"error","code":"rate_limited","message":"later"}`, "")), want: failed, code: "rate_limited", message: str("later")}}},
	{"build/unknown-op", []step{{export: "build", input: buildInput(task(`{"op":"shout"}`, "")), want: failed, code: "invalid_spec"}}},
	{"build/no-spec", []step{{export: "build", input: buildInput(canonical(`{"slot":"conf","kind":{"extension":{"type":"conformance"}},"timeout":5000}`)), want: failed, code: "missing_field", message: str("spec")}}},
	{"build/trap", []step{
		{export: "build", input: buildInput(task(`{"op":"trap"}`, "")), want: trapped},
		{export: "build", input: buildInput(task(`{"op":"echo","text":"after"}`, "")), fresh: true, want: ok, json: echoPlan(`"after"`, `null`, "")},
	}},
	{"build/invalid-plan", []step{{export: "build", input: buildInput(task(`{"op":"badplan"}`, "")), want: rejected}}},

	// logging
	{"build/log", []step{{export: "build", input: buildInput(task(`{"op":"log"}`, "")), want: ok, json: `{"guest":{}}`,
		logs: []logRec{{0, "conformance debug"}, {1, "conformance info"}, {2, "conformance warn"}, {3, "conformance error"}}}}},

	// run
	{"run/payload", []step{{export: "run", input: fixed([]byte(`{"runId":"r-1","attempt":3,"env":{"A":"1"},"payload":{"n":[1,{"x":"ü"}],"s":"\"q\""}}`)),
		want: ok, json: `{"runId":"r-1","attempt":3,"env":{"A":"1"},"payload":{"n":[1,{"x":"ü"}],"s":"\"q\""}}`, lines: []lineRec{}}}},
	{"run/no-payload", []step{{export: "run", input: fixed([]byte(`{"runId":"r-2","attempt":1}`)),
		want: ok, json: `{"runId":"r-2","attempt":1,"env":{},"payload":null}`}}},
	{"run/error", []step{{export: "run", input: fixed([]byte(`{"runId":"r-3","attempt":1,"payload":{"fail":"disk full: /var ☹"}}`)),
		want: failed, code: "io", message: str("disk full: /var ☹")}}},
	{"run/emit", []step{{export: "run", input: fixed([]byte(`{"runId":"r-4","attempt":1,"payload":{"emit":true}}`)),
		want: ok, json: `{"runId":"r-4","attempt":1,"env":{},"payload":{"emit":true}}`, lines: emitted}}},
	{"run/emit-then-fail", []step{{export: "run", input: fixed([]byte(`{"runId":"r-5","attempt":1,"payload":{"emit":true,"fail":"after the lines"}}`)),
		want: failed, code: "io", message: str("after the lines"), lines: emitted}}},
	{"build-then-run", []step{
		{export: "build", input: buildInput(task(`{"op":"echo","text":"round trip ✓","value":{"k":[1,"2"]}}`, "")), want: ok,
			json: echoPlan(`"round trip ✓"`, `{"k":[1,"2"]}`, "")},
		{export: "run", input: runOfPlan(2), fresh: true, want: ok,
			json: `{"runId":"conformance-{lang}-conf-7","attempt":2,"env":{"EMPTY":"","GREETING":"grüß dich \"☃\"","PATH":"/bin"},"payload":` +
				`{"runId":"conformance-{lang}-conf-7","runner":"conformance-{lang}","slot":"conf","timeout":5000,"labels":{},` +
				`"env":{"EMPTY":"","GREETING":"grüß dich \"☃\"","PATH":"/bin"},"text":"round trip ✓","value":{"k":[1,"2"]}}}`},
	}},
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, mod := range runners(t) {
		t.Run(langOf(mod), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, mod)
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					in := h.instantiate(t)
					var prev []byte
					for i, st := range sc.steps {
						if st.fresh {
							in = h.instantiate(t)
						}
						r := in.call(st.export, st.input(h.lang, prev))
						for _, problem := range check(h.lang, st, r) {
							t.Errorf("%s: step %d (%s): %s", h.lang, i+1, st.export, problem)
						}
						prev = r.output
					}
				})
			}
		})
	}
}

// check lists how r differs from what st wants.
func check(lang string, st step, r result) []string {
	sub := func(s string) string { return strings.ReplaceAll(s, "{lang}", lang) }
	var got outcome
	switch {
	case r.trap != nil:
		got = trapped
	case st.export == "supports" && r.rc == 1:
		got = yes
	case st.export == "supports" && r.rc == 0:
		got = no
	case st.export == "supports" && r.rc < 0:
		got = fault
	case r.rc != 0:
		got = failed
	default:
		got = ok
	}
	if st.want == rejected {
		if got == failed || got == ok && !validPlan(r.output) {
			return nil
		}
		return []string{fmt.Sprintf("outcome %s (output %s), want the plan rejected (an error, or a plan the host refuses)", got, clip(r.output))}
	}
	if got != st.want {
		detail := clip(r.output)
		if r.trap != nil {
			detail = r.trap.Error()
		}
		return []string{fmt.Sprintf("outcome %s (rc %d: %s), want %s", got, r.rc, detail, st.want)}
	}
	var out []string
	switch {
	case st.text != "":
		if string(r.output) != sub(st.text) {
			out = append(out, fmt.Sprintf("output %q, want %q", clip(r.output), sub(st.text)))
		}
	case st.json != "":
		out = append(out, diffJSON(r.output, []byte(sub(st.json)))...)
	}
	if st.want == fault || st.want == failed {
		var ge struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
		}
		if err := unmarshal(r.output, &ge); err != nil || ge.Code == nil || ge.Message == nil {
			out = append(out, fmt.Sprintf("output is not a GuestError {\"code\",\"message\"}: %s", clip(r.output)))
		} else {
			if *ge.Code != st.code {
				out = append(out, fmt.Sprintf("code: got %q, want %q", *ge.Code, st.code))
			}
			if st.message != nil && *ge.Message != sub(*st.message) {
				out = append(out, fmt.Sprintf("message: got %q, want %q", *ge.Message, sub(*st.message)))
			}
		}
	}
	if st.logs != nil {
		g, _ := json.Marshal(r.logs)
		w, _ := json.Marshal(st.logs)
		if string(g) != string(w) {
			out = append(out, fmt.Sprintf("logs: got %s, want %s", g, w))
		}
	}
	if st.lines != nil {
		g, _ := json.Marshal(append([]lineRec{}, r.lines...))
		w, _ := json.Marshal(st.lines)
		if string(g) != string(w) {
			out = append(out, fmt.Sprintf("emitted lines: got %s, want %s", g, w))
		}
	}
	return out
}

// validPlan reports whether the host would accept b as a plan.
func validPlan(b []byte) bool {
	_, err := abi.ParsePlan(b)
	return err == nil
}

// Repeated calls: after a warm-up, 10 000 rounds of supports, build and run on one instance
// may grow linear memory by at most maxGrowthPages (README.md states the bound).
const (
	rounds         = 10000
	warmup         = 2000 // a Go guest's heap settles within about 1 500 rounds
	maxGrowthPages = 16   // 1 MiB
)

func TestConformanceRepeatedCalls(t *testing.T) {
	t.Parallel()
	spec := task(`{"op":"echo","text":`+jsonString(strings.Repeat("x", 1024))+`,"value":{"a":[1,2,3]}}`, `{"team":"a"}`)
	for _, mod := range runners(t) {
		t.Run(langOf(mod), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, mod)
			in := h.instantiate(t)
			bi := buildInput(spec)(h.lang, nil)
			// Every round must answer as the first: the same plan, and the same run output for
			// the run input made from it (made once: re-encoding it each round cost more than
			// the guest's calls under the race detector, and proved nothing more).
			var plan, ri, runOut []byte
			round := func(i int) {
				if r := in.call("supports", spec); r.trap != nil || r.rc != 1 {
					t.Fatalf("round %d: supports = %d, %v", i, r.rc, r.trap)
				}
				r := in.call("build", bi)
				if r.trap != nil || r.rc != 0 {
					t.Fatalf("round %d: build = %d, %v: %s", i, r.rc, r.trap, clip(r.output))
				}
				if plan == nil {
					plan, ri = slices.Clone(r.output), runOfPlan(1)(h.lang, r.output)
				} else if !bytes.Equal(r.output, plan) {
					t.Fatalf("round %d: build's plan %s differs from the first round's %s", i, clip(r.output), clip(plan))
				}
				r = in.call("run", ri)
				if r.trap != nil || r.rc != 0 {
					t.Fatalf("round %d: run = %d, %v: %s", i, r.rc, r.trap, clip(r.output))
				}
				if runOut == nil {
					runOut = slices.Clone(r.output)
				} else if !bytes.Equal(r.output, runOut) {
					t.Fatalf("round %d: run's output %s differs from the first round's %s", i, clip(r.output), clip(runOut))
				}
			}
			for i := 0; i < warmup; i++ {
				round(i)
			}
			before := in.pages()
			for i := 0; i < rounds; i++ {
				round(warmup + i)
			}
			after := in.pages()
			t.Logf("%s: %d pages after %d warm-up rounds, %d after %d more", h.lang, before, warmup, after, rounds)
			if after > before+maxGrowthPages {
				t.Errorf("%s: linear memory grew from %d to %d pages over %d rounds (bound: %d pages)", h.lang, before, after, rounds, maxGrowthPages)
			}
		})
	}
}

// TestConformanceLoadsInRuntime loads every conformance module into the product host, which
// checks its exports and imports and asks its name and description, and runs it once asking
// for emitted lines: the product host must deliver the lines the harness records.
func TestConformanceLoadsInRuntime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The shared test cache: warmed by TestMain, and the product's code is the same from it.
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: testcache.Dir(), Limits: runtime.Limits{CompileTimeout: raceCompileTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	// One runtime for every module (as a host has), closed once they all ran.
	t.Cleanup(func() { _ = rt.Close(ctx) })
	for _, mod := range runners(t) {
		lang := langOf(mod)
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			m, err := rt.Load(ctx, mod)
			if err != nil {
				t.Fatalf("%s: %v", lang, err)
			}
			if m.Name() != "conformance-"+lang {
				t.Errorf("%s: name %q, want %q", lang, m.Name(), "conformance-"+lang)
			}
			if d := m.Describe(); d.Labels["lang"] != lang || len(d.Kinds) != 1 || d.Kinds[0] != "conformance" {
				t.Errorf("%s: describe = %+v", lang, d)
			}
			var lines []lineRec
			out, err := m.RunWith(ctx, &abi.RunInput{RunID: "r-6", Attempt: 1, Payload: json.RawMessage(`{"emit":true}`)}, runtime.RunOptions{
				OnLine: func(l runtime.RunLine) {
					if l.Stream != runtime.StreamLog {
						lines = append(lines, lineRec{l.Stream, l.Text})
					}
				},
			})
			if err != nil {
				t.Fatalf("%s: run: %v", lang, err)
			}
			for _, problem := range diffJSON(out, []byte(`{"runId":"r-6","attempt":1,"env":{},"payload":{"emit":true}}`)) {
				t.Errorf("%s: run: %s", lang, problem)
			}
			if g, w := fmt.Sprint(lines), fmt.Sprint(emitted); g != w {
				t.Errorf("%s: run delivered the lines %s, want %s", lang, g, w)
			}
		})
	}
}

// langOf is the language of a conformance module, its file name without .wasm.
func langOf(mod string) string { return strings.TrimSuffix(filepath.Base(mod), ".wasm") }
