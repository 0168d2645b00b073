package abi

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

// validSpec is a spec that passes validation; each case below breaks one rule.
func validSpec() TaskSpec {
	s := baseSpec(TaskKind{Wasm: &WasmSpec{Module: "m.wasm"}})
	s.Slot = "slot-1"
	return s
}

func TestValidate(t *testing.T) {
	cmd := func(c string) TaskKind {
		return TaskKind{Subprocess: &SubprocessSpec{Mode: SubprocessMode{Command: &CommandMode{Command: c}}, FailOnNonZero: true}}
	}
	script := func(rt string) TaskKind {
		return TaskKind{Subprocess: &SubprocessSpec{Mode: SubprocessMode{Script: &ScriptMode{Runtime: rt, Body: []byte("x")}}}}
	}
	ext := func(typ string) TaskKind { return TaskKind{Extension: &ExtensionSpec{Type: typ}} }
	expr := func(key string, op Operator, values ...string) func(*TaskSpec) {
		return func(s *TaskSpec) {
			s.RunnerSelector = &RunnerSelector{MatchExpressions: []LabelRequirement{{Key: key, Operator: op, Values: values}}}
		}
	}

	tests := []struct {
		name   string
		mutate func(*TaskSpec)
		field  string // "" means valid
		reason string // a substring of the reason, when set
	}{
		{"valid", func(*TaskSpec) {}, "", ""},

		// slot
		{"slot empty", func(s *TaskSpec) { s.Slot = "" }, "slot", "1-64 chars"},
		{"slot 65 chars", func(s *TaskSpec) { s.Slot = strings.Repeat("a", 65) }, "slot", ""},
		{"slot 64 chars ok", func(s *TaskSpec) { s.Slot = strings.Repeat("a", 64) }, "", ""},
		{"slot 1 char ok", func(s *TaskSpec) { s.Slot = "x" }, "", ""},
		{"slot dot", func(s *TaskSpec) { s.Slot = "." }, "slot", `not "." or ".."`},
		{"slot dot dot", func(s *TaskSpec) { s.Slot = ".." }, "slot", ""},
		{"slot three dots ok", func(s *TaskSpec) { s.Slot = "..." }, "", ""},
		{"slot all allowed chars ok", func(s *TaskSpec) { s.Slot = "Az09._-" }, "", ""},
		{"slot space", func(s *TaskSpec) { s.Slot = "a b" }, "slot", ""},
		{"slot slash", func(s *TaskSpec) { s.Slot = "a/b" }, "slot", ""},
		{"slot colon", func(s *TaskSpec) { s.Slot = "a:b" }, "slot", ""},
		{"slot non-ASCII", func(s *TaskSpec) { s.Slot = "café" }, "slot", ""},
		{"slot newline", func(s *TaskSpec) { s.Slot = "a\n" }, "slot", ""},

		// timeout
		{"timeout 0", func(s *TaskSpec) { s.TimeoutMs = 0 }, "timeout", "> 0"},
		{"timeout 1 ok", func(s *TaskSpec) { s.TimeoutMs = 1 }, "", ""},

		// kind
		{"kind missing", func(s *TaskSpec) { s.Kind = TaskKind{} }, "kind", "missing"},
		{"two kinds", func(s *TaskSpec) { s.Kind.Container = &ContainerSpec{Image: "i"} }, "kind", "exactly one kind must be set, got 2"},
		{"embedded and wasm", func(s *TaskSpec) { s.Kind.Embedded = true }, "kind", "got 2"},
		{"embedded ok", func(s *TaskSpec) { s.Kind = TaskKind{Embedded: true} }, "", ""},
		{"wasm module empty", func(s *TaskSpec) { s.Kind.Wasm.Module = "" }, "kind.wasm.module", "must not be empty"},
		{"wasm module blank", func(s *TaskSpec) { s.Kind.Wasm.Module = " \t" }, "kind.wasm.module", ""},
		{"container image blank", func(s *TaskSpec) { s.Kind = TaskKind{Container: &ContainerSpec{Image: "  "}} }, "kind.container.image", "must not be blank"},
		{"container image empty", func(s *TaskSpec) { s.Kind = TaskKind{Container: &ContainerSpec{}} }, "kind.container.image", ""},
		{"container ok", func(s *TaskSpec) { s.Kind = TaskKind{Container: &ContainerSpec{Image: "alpine"}} }, "", ""},
		{"subprocess command ok", func(s *TaskSpec) { s.Kind = cmd("ls") }, "", ""},
		{"subprocess command blank", func(s *TaskSpec) { s.Kind = cmd(" ") }, "kind.subprocess.mode.command.command", "must not be blank"},
		{"subprocess command empty", func(s *TaskSpec) { s.Kind = cmd("") }, "kind.subprocess.mode.command.command", ""},
		{"subprocess script ok", func(s *TaskSpec) { s.Kind = script("sh") }, "", ""},
		{"subprocess script empty body", func(s *TaskSpec) { s.Kind = script("sh"); s.Kind.Subprocess.Mode.Script.Body = nil }, "kind.subprocess.mode.script.body", "must not be empty"},
		{"subprocess script binary body", func(s *TaskSpec) { s.Kind = script("sh"); s.Kind.Subprocess.Mode.Script.Body = []byte{0xff} }, "kind.subprocess.mode.script.body", "must decode to UTF-8 text"},
		{"subprocess script body too large", func(s *TaskSpec) {
			s.Kind = script("sh")
			s.Kind.Subprocess.Mode.Script.Body = bytes.Repeat([]byte("a"), MaxScriptBodyBytes+1)
		}, "kind.subprocess.mode.script.body", "is 2097153 bytes decoded, more than 2097152"},
		{"subprocess script runtime blank", func(s *TaskSpec) { s.Kind = script("\n") }, "kind.subprocess.mode.script.runtime", "must not be blank"},
		{"subprocess both modes", func(s *TaskSpec) {
			s.Kind = cmd("ls")
			s.Kind.Subprocess.Mode.Script = &ScriptMode{Runtime: "sh"}
		}, "kind.subprocess.mode", "exactly one of command and script"},
		{"subprocess no mode", func(s *TaskSpec) { s.Kind = TaskKind{Subprocess: &SubprocessSpec{}} }, "kind.subprocess.mode", "exactly one of command and script"},
		{"extension ok", func(s *TaskSpec) { s.Kind = ext("example.com/cron") }, "", ""},
		{"extension single char ok", func(s *TaskSpec) { s.Kind = ext("x") }, "", ""},
		{"extension 128 chars ok", func(s *TaskSpec) { s.Kind = ext(strings.Repeat("a", 128)) }, "", ""},
		{"extension 129 chars", func(s *TaskSpec) { s.Kind = ext(strings.Repeat("a", 129)) }, "kind.extension.type", "1-128 chars"},
		{"extension empty type", func(s *TaskSpec) { s.Kind = ext("") }, "kind.extension.type", ""},
		{"extension upper case", func(s *TaskSpec) { s.Kind = ext("Cron") }, "kind.extension.type", ""},
		{"extension leading dash", func(s *TaskSpec) { s.Kind = ext("-cron") }, "kind.extension.type", ""},
		{"extension trailing slash", func(s *TaskSpec) { s.Kind = ext("cron/") }, "kind.extension.type", ""},
		{"extension space", func(s *TaskSpec) { s.Kind = ext("my cron") }, "kind.extension.type", ""},
		{"extension named subprocess", func(s *TaskSpec) { s.Kind = ext("subprocess") }, "kind.extension.type", "not be a solti kind"},
		{"extension named wasm", func(s *TaskSpec) { s.Kind = ext("wasm") }, "kind.extension.type", ""},
		{"extension named container", func(s *TaskSpec) { s.Kind = ext("container") }, "kind.extension.type", ""},
		{"extension named embedded", func(s *TaskSpec) { s.Kind = ext("embedded") }, "kind.extension.type", ""},
		{"extension named extension", func(s *TaskSpec) { s.Kind = ext("extension") }, "kind.extension.type", ""},

		// restart
		{"restart never with intervalMs", func(s *TaskSpec) { s.Restart = RestartPolicy{Type: RestartNever, IntervalMs: 5} }, "restart.intervalMs", `only allowed with type "always"`},
		{"restart onFailure with intervalMs", func(s *TaskSpec) { s.Restart = RestartPolicy{Type: RestartOnFailure, IntervalMs: 5} }, "restart.intervalMs", ""},
		{"restart always with intervalMs ok", func(s *TaskSpec) { s.Restart = RestartPolicy{Type: RestartAlways, IntervalMs: 5} }, "", ""},
		{"restart always without intervalMs ok", func(s *TaskSpec) { s.Restart = RestartPolicy{Type: RestartAlways} }, "", ""},
		{"restart onFailure ok", func(s *TaskSpec) { s.Restart = RestartPolicy{Type: RestartOnFailure} }, "", ""},
		{"restart bad type", func(s *TaskSpec) { s.Restart = RestartPolicy{Type: "sometimes"} }, "restart.type", `"sometimes" is not never, onFailure or always`},
		{"restart type wrong case", func(s *TaskSpec) { s.Restart = RestartPolicy{Type: "OnFailure"} }, "restart.type", ""},
		{"restart empty type", func(s *TaskSpec) { s.Restart = RestartPolicy{} }, "restart.type", ""},

		// backoff
		{"backoff firstMs 0", func(s *TaskSpec) { s.Backoff.FirstMs = 0 }, "backoff.firstMs", "must be > 0"},
		{"backoff maxMs < firstMs", func(s *TaskSpec) { s.Backoff.FirstMs, s.Backoff.MaxMs = 100, 99 }, "backoff.maxMs", "99 must be >= firstMs (100)"},
		{"backoff maxMs == firstMs ok", func(s *TaskSpec) { s.Backoff.FirstMs, s.Backoff.MaxMs = 100, 100 }, "", ""},
		{"backoff factor < 1", func(s *TaskSpec) { s.Backoff.Factor = 0.999 }, "backoff.factor", "must be >= 1"},
		{"backoff factor 0", func(s *TaskSpec) { s.Backoff.Factor = 0 }, "backoff.factor", ""},
		{"backoff factor negative", func(s *TaskSpec) { s.Backoff.Factor = -2 }, "backoff.factor", ""},
		{"backoff factor NaN", func(s *TaskSpec) { s.Backoff.Factor = math.NaN() }, "backoff.factor", "NaN must be >= 1"},
		{"backoff factor +Inf", func(s *TaskSpec) { s.Backoff.Factor = math.Inf(1) }, "backoff.factor", "+Inf must be >= 1 and finite"},
		{"backoff factor 1 ok", func(s *TaskSpec) { s.Backoff.Factor = 1 }, "", ""},
		{"backoff jitter empty", func(s *TaskSpec) { s.Backoff.Jitter = "" }, "backoff.jitter", "is not full, none, equal or decorrelated"},
		{"backoff jitter bad", func(s *TaskSpec) { s.Backoff.Jitter = "random" }, "backoff.jitter", ""},
		{"backoff jitter none ok", func(s *TaskSpec) { s.Backoff.Jitter = JitterNone }, "", ""},
		{"backoff jitter equal ok", func(s *TaskSpec) { s.Backoff.Jitter = JitterEqual }, "", ""},
		{"backoff jitter decorrelated ok", func(s *TaskSpec) { s.Backoff.Jitter = JitterDecorrelated }, "", ""},

		// admission
		{"admission empty", func(s *TaskSpec) { s.Admission = "" }, "admission", "is not dropIfRunning, replace or queue"},
		{"admission bad", func(s *TaskSpec) { s.Admission = "drop" }, "admission", `"drop"`},
		{"admission replace ok", func(s *TaskSpec) { s.Admission = AdmissionReplace }, "", ""},
		{"admission queue ok", func(s *TaskSpec) { s.Admission = AdmissionQueue }, "", ""},

		// runnerSelector
		{"selector empty ok", func(s *TaskSpec) { s.RunnerSelector = &RunnerSelector{} }, "", ""},
		{"selector In without values", expr("tier", OpIn), "runnerSelector.matchExpressions[0].values", "operator In needs at least one value"},
		{"selector NotIn without values", expr("tier", OpNotIn), "runnerSelector.matchExpressions[0].values", "operator NotIn needs at least one value"},
		{"selector In ok", expr("tier", OpIn, "gold"), "", ""},
		{"selector NotIn ok", expr("tier", OpNotIn, "gold", "silver"), "", ""},
		{"selector Exists with values", expr("tier", OpExists, "gold"), "runnerSelector.matchExpressions[0].values", "operator Exists takes no values"},
		{"selector DoesNotExist with values", expr("tier", OpDoesNotExist, "gold"), "runnerSelector.matchExpressions[0].values", "operator DoesNotExist takes no values"},
		{"selector Exists ok", expr("tier", OpExists), "", ""},
		{"selector DoesNotExist ok", expr("tier", OpDoesNotExist), "", ""},
		{"selector bad operator", expr("tier", "in", "gold"), "runnerSelector.matchExpressions[0].operator", `"in" is not In, NotIn, Exists or DoesNotExist`},
		{"selector empty operator", expr("tier", ""), "runnerSelector.matchExpressions[0].operator", ""},
		{"selector bad key", expr("-tier", OpExists), "runnerSelector.matchExpressions[0].key", `invalid label key "-tier"`},
		{"selector empty key", expr("", OpExists), "runnerSelector.matchExpressions[0].key", ""},
		{"selector prefixed key ok", expr("example.com/tier", OpIn, "gold"), "", ""},
		{"selector bad value", expr("tier", OpIn, "gold", "bad value"), "runnerSelector.matchExpressions[0].values", `invalid label value "bad value"`},
		{"selector second expression", func(s *TaskSpec) {
			s.RunnerSelector = &RunnerSelector{MatchExpressions: []LabelRequirement{
				{Key: "a", Operator: OpExists},
				{Key: "b", Operator: OpIn},
			}}
		}, "runnerSelector.matchExpressions[1].values", ""},
		{"selector matchLabels bad key", func(s *TaskSpec) {
			s.RunnerSelector = &RunnerSelector{MatchLabels: map[string]string{"bad key": "v"}}
		}, "runnerSelector.matchLabels", `invalid label key "bad key"`},
		{"selector matchLabels bad value", func(s *TaskSpec) {
			s.RunnerSelector = &RunnerSelector{MatchLabels: map[string]string{"tier": "gold!"}}
		}, "runnerSelector.matchLabels.tier", `invalid label value "gold!"`},
		{"selector matchLabels prefixed key ok", func(s *TaskSpec) {
			s.RunnerSelector = &RunnerSelector{MatchLabels: map[string]string{"example.com/tier": "gold"}}
		}, "", ""},

		// labels
		{"labels ok", func(s *TaskSpec) {
			s.Labels = map[string]string{"app": "web", "example.com/tier": "gold", "a.b_c-d": "", "k8s.io/x": "A.b_c-9"}
		}, "", ""},
		{"labels bad key", func(s *TaskSpec) { s.Labels = map[string]string{"_app": "web"} }, "labels", `invalid label key "_app"`},
		{"labels bad prefix", func(s *TaskSpec) { s.Labels = map[string]string{"Example.com/tier": "gold"} }, "labels", ""},
		{"labels bad value", func(s *TaskSpec) { s.Labels = map[string]string{"app": "web/1"} }, "labels.app", `invalid label value "web/1"`},
		{"labels value 64 chars", func(s *TaskSpec) { s.Labels = map[string]string{"app": strings.Repeat("v", 64)} }, "labels.app", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.mutate(&s)
			err := s.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error on %s", tt.field)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate() = %T %v, want a *ValidationError", err, err)
			}
			if ve.Field != tt.field {
				t.Errorf("field = %q, want %q (error %q)", ve.Field, tt.field, err)
			}
			if !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Errorf("error %q does not start with the field path %q", err, tt.field)
			}
			if err.Error() != ve.Field+": "+ve.Reason {
				t.Errorf("Error() = %q, want field: reason", err)
			}
			if tt.reason != "" && !strings.Contains(ve.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", ve.Reason, tt.reason)
			}
		})
	}
}

// TestParseTaskSpecValidates checks that ParseTaskSpec returns the validation error itself,
// field path included.
func TestParseTaskSpecValidates(t *testing.T) {
	tests := []struct{ in, field string }{
		{`{"slot":"","kind":"embedded","timeout":1}`, "slot"},
		{`{"slot":"s","timeout":1}`, "kind"},
		{`{"slot":"s","kind":"embedded"}`, "timeout"},
		{`{"slot":"s","kind":{"wasm":{"module":""}},"timeout":1}`, "kind.wasm.module"},
		{`{"slot":"s","kind":{"subprocess":{"mode":{"script":{"runtime":" ","body":""}}}},"timeout":1}`, "kind.subprocess.mode.script.runtime"},
		{`{"slot":"s","kind":{"subprocess":{}},"timeout":1}`, "kind.subprocess.mode"},
		{`{"slot":"s","kind":{"extension":{"type":"wasm"}},"timeout":1}`, "kind.extension.type"},
		{`{"slot":"s","kind":"embedded","timeout":1,"restart":{"intervalMs":10}}`, "restart.intervalMs"},
		{`{"slot":"s","kind":"embedded","timeout":1,"backoff":{"firstMs":0}}`, "backoff.firstMs"},
		{`{"slot":"s","kind":"embedded","timeout":1,"backoff":{"maxMs":999}}`, "backoff.maxMs"},
		{`{"slot":"s","kind":"embedded","timeout":1,"backoff":{"factor":0.5}}`, "backoff.factor"},
		{`{"slot":"s","kind":"embedded","timeout":1,"admission":"later"}`, "admission"},
		{`{"slot":"s","kind":"embedded","timeout":1,"runnerSelector":{"matchExpressions":[{"key":"k","operator":"In"}]}}`, "runnerSelector.matchExpressions[0].values"},
		{`{"slot":"s","kind":"embedded","timeout":1,"labels":{"k":"-v"}}`, "labels.k"},
	}
	for _, tt := range tests {
		s, err := ParseTaskSpec([]byte(tt.in))
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("ParseTaskSpec(%s) = %v, %v; want a *ValidationError on %s", tt.in, s, err, tt.field)
		}
		if s != nil {
			t.Errorf("ParseTaskSpec(%s) returned a spec with an error", tt.in)
		}
	}
}

func TestValidLabelKey(t *testing.T) {
	name63 := "a" + strings.Repeat("b", 61) + "c"
	prefix253 := strings.Repeat(strings.Repeat("a", 62)+".", 4)[:252] + "z" // labels of 62 chars
	tests := []struct {
		key  string
		want bool
	}{
		{"app", true},
		{"A", true},
		{"9", true},
		{"a.b_c-d", true},
		{"App.Kubernetes_io-X", true},
		{name63, true},
		{name63 + "d", false}, // 64 chars
		{"", false},
		{"-a", false},
		{"a-", false},
		{".a", false},
		{"a_", false},
		{"a b", false},
		{"a:b", false},
		{"é", false},

		// prefixed keys: the prefix is a lower-case DNS subdomain of at most 253 chars
		{"example.com/tier", true},
		{"app.kubernetes.io/name", true},
		{"a-b.c-d/x", true},
		{"k8s.io/" + name63, true},
		{"example.com/" + name63 + "d", false},
		{prefix253 + "/x", true},
		{"a" + prefix253 + "/x", false}, // 254-char prefix
		{"example.com/", false},         // empty name
		{"/tier", false},                // empty prefix
		{"Example.com/tier", false},     // upper case prefix
		{"example_com/tier", false},     // underscore in prefix
		{"example..com/tier", false},    // empty DNS label
		{"-example.com/tier", false},
		{"example.com-/tier", false},
		{"example.-com/tier", false}, // DNS label ends with '-'
		{"example.com./tier", false},
		{"a/b/c", false},
		{"example.com/-tier", false},
	}
	for _, tt := range tests {
		if got := ValidLabelKey(tt.key); got != tt.want {
			t.Errorf("ValidLabelKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
	if len(prefix253) != 253 {
		t.Fatalf("test setup: prefix is %d chars", len(prefix253))
	}
}

func TestValidLabelValue(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"", true},
		{"a", true},
		{"gold", true},
		{"v1.2_3-rc", true},
		{"A9", true},
		{strings.Repeat("x", 63), true},
		{strings.Repeat("x", 64), false},
		{"-a", false},
		{"a.", false},
		{"a b", false},
		{"a/b", false},
		{"a=b", false},
	}
	for _, tt := range tests {
		if got := ValidLabelValue(tt.v); got != tt.want {
			t.Errorf("ValidLabelValue(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestValidateLabels(t *testing.T) {
	if err := ValidateLabels(nil); err != nil {
		t.Errorf("ValidateLabels(nil) = %v", err)
	}
	if err := ValidateLabels(map[string]string{"example.com/zone": "eu-1", "arch": ""}); err != nil {
		t.Errorf("ValidateLabels(valid) = %v", err)
	}
	var ve *ValidationError
	if err := ValidateLabels(map[string]string{"bad key": "v"}); !errors.As(err, &ve) || ve.Field != "labels" {
		t.Errorf("bad key: %v", err)
	}
	if err := ValidateLabels(map[string]string{"zone": "bad value"}); !errors.As(err, &ve) || ve.Field != "labels.zone" {
		t.Errorf("bad value: %v", err)
	}
}

func TestValidSlotAndKindType(t *testing.T) {
	for s, want := range map[string]bool{
		"a": true, strings.Repeat("z", 64): true, strings.Repeat("z", 65): false,
		"": false, ".": false, "..": false, "...": true, ".a": true, "a b": false,
	} {
		if got := ValidSlot(s); got != want {
			t.Errorf("ValidSlot(%q) = %v, want %v", s, got, want)
		}
	}
	for k, want := range map[string]bool{
		"example.com/cron": true, "x": true, "a_b-c.d/e": true, "1": true,
		"": false, "X": false, "a/": false, "_a": false,
		KindSubprocess: false, KindWasm: false, KindContainer: false, KindEmbedded: false, KindExtension: false,
	} {
		if got := ValidKindType(k); got != want {
			t.Errorf("ValidKindType(%q) = %v, want %v", k, got, want)
		}
	}
}
