package abi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseTaskSpecRejectsUnknownFields(t *testing.T) {
	tests := []struct{ name, in, field string }{
		{"top level", `{"slot":"s","kind":"embedded","timeout":1,"priority":3}`, "priority"},
		{"restart", `{"slot":"s","kind":"embedded","timeout":1,"restart":{"type":"never","every":1}}`, "restart.every"},
		{"backoff", `{"slot":"s","kind":"embedded","timeout":1,"backoff":{"jitterMs":1}}`, "backoff.jitterMs"},
		{"runnerSelector", `{"slot":"s","kind":"embedded","timeout":1,"runnerSelector":{"matchFields":{"a":"b"}}}`, "runnerSelector.matchFields"},
		{"label requirement", `{"slot":"s","kind":"embedded","timeout":1,"runnerSelector":{"matchExpressions":[{"key":"k","operator":"Exists","value":"x"}]}}`, "runnerSelector.matchExpressions[0].value"},
		{"subprocess", `{"slot":"s","kind":{"subprocess":{"mode":{"command":{"command":"ls"}},"user":"root"}},"timeout":1}`, "kind.subprocess.user"},
		{"command mode", `{"slot":"s","kind":{"subprocess":{"mode":{"command":{"command":"ls","argv":["x"]}}}},"timeout":1}`, "kind.subprocess.mode.command.argv"},
		{"script mode", `{"slot":"s","kind":{"subprocess":{"mode":{"script":{"runtime":"sh","body":"","shell":"x"}}}},"timeout":1}`, "kind.subprocess.mode.script.shell"},
		{"wasm", `{"slot":"s","kind":{"wasm":{"module":"m","fuel":10}},"timeout":1}`, "kind.wasm.fuel"},
		{"container", `{"slot":"s","kind":{"container":{"image":"i","pull":"always"}},"timeout":1}`, "kind.container.pull"},
		{"extension", `{"slot":"s","kind":{"extension":{"type":"x","version":"1"}},"timeout":1}`, "kind.extension.version"},
		{"wrong case", `{"Slot":"s","kind":"embedded","timeout":1}`, "Slot"},
		{"wrong case nested", `{"slot":"s","kind":{"wasm":{"Module":"m"}},"timeout":1}`, "kind.wasm.Module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseTaskSpec([]byte(tt.in))
			if err == nil {
				t.Fatalf("ParseTaskSpec accepted an unknown field: %#v", s)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || !strings.HasPrefix(ve.Reason, "unknown field") {
				t.Errorf("error %q, want an unknown-field *ValidationError for %q", err, tt.field)
			}
		})
	}
}

// Guests decode with encoding/json directly: fields a newer host adds must not break them.
func TestUnmarshalIgnoresUnknownFieldsForForwardCompatibility(t *testing.T) {
	var s TaskSpec
	in := `{"slot":"s","kind":{"wasm":{"module":"m","fuel":10}},"timeout":1,"priority":3}`
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	if s.Slot != "s" || s.Kind.Wasm == nil || s.Kind.Wasm.Module != "m" {
		t.Fatalf("decoded %+v", s)
	}
	// Empty values of unknown fields are tolerated by the strict parser too: omitempty would
	// drop them from any encoder's output.
	if _, err := ParseTaskSpec([]byte(`{"slot":"s","kind":"embedded","timeout":1,"labels":{},"maxRetries":0}`)); err != nil {
		t.Fatal(err)
	}
}

func TestParseTaskSpecSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		name, in, pos string
	}{
		// The position is that of the offending byte, counted from 1.
		{"missing value", `{"slot":}`, "line 1, column 9"},
		{"bare word on line 3", "{\n  \"slot\": \"a\",\n  \"timeout\": x\n}", "line 3, column 14"},
		{"first byte", `x`, "line 1, column 1"},
		{"after a tab-indented line", "{\n\t\"slot\": \"a\",,\n}", "line 2, column 14"},
		{"bad byte in kind", "{\"slot\":\"a\",\n\"kind\":{\"wasm\":{\"module\":'m'}}}", "line 2, column 26"},
		{"end of input points at the last byte", "{\"slot\":\n\"a\"", "line 2, column 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTaskSpec([]byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			if want := "task spec: " + tt.pos + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want it to start with %q", err, want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("error %v does not wrap a *SyntaxError", err)
			}
		})
	}
}

func TestParseTaskSpecTypeErrorNamesField(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"slot":"s","kind":"embedded","timeout":"10s"}`, "timeout: want a whole number of milliseconds, got a string"},
		{`{"slot":7,"kind":"embedded","timeout":1}`, "slot: want a string, got a number"},
		{`{"slot":"s","kind":"embedded","timeout":-1}`, "timeout: want a whole number of milliseconds, got the negative number -1"},
		{`{"slot":"s","kind":"embedded","timeout":1.5}`, "timeout: want a whole number of milliseconds, got 1.5"},
		{`{"slot":"s","kind":"embedded","timeout":18446744073709551616}`, "timeout: 18446744073709551616 is too large"},
		{`{"slot":"s","kind":"embedded","timeout":1,"maxRetries":4294967296}`, "maxRetries: 4294967296 is too large (at most 4294967295)"},
		{`{"slot":"s","kind":{"wasm":{"module":5}},"timeout":1}`, "kind.wasm.module: want a string, got a number"},
		{`{"slot":"s","kind":"embedded","timeout":1,"backoff":{"factor":"NaN"}}`, "backoff.factor: want a number, got a string"},
		{`{"slot":"s","kind":"embedded","timeout":1,"backoff":{"firstMs":true}}`, "backoff.firstMs: want a whole number of milliseconds, got a boolean"},
		{`{"slot":"s","kind":"embedded","timeout":1,"restart":null}`, "restart: want an object, got null"},
		{`{"slot":"s","kind":{"wasm":{"module":"m","args":"a"}},"timeout":1}`, "kind.wasm.args: want an array, got a string"},
		{`{"slot":"s","kind":{"wasm":{"module":"m","args":[1]}},"timeout":1}`, "kind.wasm.args[0]: want a string, got a number"},
		{`{"slot":"s","kind":"embedded","timeout":1,"labels":{"a":1}}`, "labels.a: want a string, got a number"},
		{`{"slot":"s","kind":{"subprocess":{"mode":{"command":{"command":"ls"}},"failOnNonZero":"yes"}},"timeout":1}`, "kind.subprocess.failOnNonZero: want true or false, got a string"},
	}
	for _, tt := range tests {
		_, err := ParseTaskSpec([]byte(tt.in))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("ParseTaskSpec(%s) = %v, want a *ValidationError", tt.in, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("error %q, want %q", err, tt.want)
		}
	}
}

func TestParseTaskSpecRejectsTrailingData(t *testing.T) {
	const spec = `{"slot":"s","kind":"embedded","timeout":1}`
	for _, tail := range []string{` x`, `{}`, `}`, ` "more"`, ` 1`, `]`, `,`} {
		if s, err := ParseTaskSpec([]byte(spec + tail)); err == nil {
			t.Errorf("ParseTaskSpec accepted trailing %q: %#v", tail, s)
		}
	}
	for _, ws := range []string{"\n", " \t\r\n"} {
		if _, err := ParseTaskSpec([]byte(ws + spec + ws)); err != nil {
			t.Errorf("surrounding whitespace %q rejected: %v", ws, err)
		}
	}
}

func TestParseTaskSpecKindErrors(t *testing.T) {
	tests := []struct{ name, kind, want string }{
		{"unknown tag lists the known ones", `{"lambda":{}}`, `unknown task kind "lambda" (want subprocess, wasm, container, extension or "embedded")`},
		{"unknown bare string", `"native"`, `unknown task kind "native" (want "embedded" or an object tagged subprocess, wasm, container or extension)`},
		{"bare string of an object kind", `"wasm"`, `unknown task kind "wasm"`},
		{"tag case matters", `{"Wasm":{"module":"m"}}`, `unknown task kind "Wasm"`},
		{"two kinds", `{"wasm":{"module":"m"},"container":{"image":"i"}}`, "task kind: want an object with exactly one key, got 2"},
		{"empty object", `{}`, "task kind: want an object with exactly one key, got 0"},
		{"null", `null`, "kind: task kind: want an object with one key (subprocess, wasm, container or extension) or \"embedded\", got null"},
		{"array", `["wasm"]`, "task kind: want an object with one key (subprocess, wasm, container or extension) or \"embedded\", got an array"},
		{"number", `1`, "task kind: want an object with one key"},
		{"unknown mode", `{"subprocess":{"mode":{"exec":{"command":"ls"}}}}`, `unknown subprocess mode "exec" (want command or script)`},
		{"two modes", `{"subprocess":{"mode":{"command":{"command":"ls"},"script":{"runtime":"sh","body":""}}}}`, "subprocess mode: want an object with exactly one key (command or script), got 2"},
		{"bad base64 body", `{"subprocess":{"mode":{"script":{"runtime":"sh","body":"!!!"}}}}`, "kind.subprocess.mode.script.body: invalid base64"},
		{"base64 with a line break", `{"subprocess":{"mode":{"script":{"runtime":"sh","body":"ZWNo\\nbw=="}}}}`, "kind.subprocess.mode.script.body: invalid base64"},
		{"unpadded base64", `{"subprocess":{"mode":{"script":{"runtime":"sh","body":"ZWNobw"}}}}`, "kind.subprocess.mode.script.body: invalid base64"},
		{"extension with a string spec is fine", `{"extension":{"type":"x","spec":"s"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTaskSpec([]byte(`{"slot":"s","kind":` + tt.kind + `,"timeout":1}`))
			if tt.want == "" { // a valid case kept for contrast
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
