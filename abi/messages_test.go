package abi

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseDescription(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Description
		err  string
	}{
		{
			name: "full",
			in:   `{"version":"1.2.0","kinds":["subprocess","wasm","container","example.com/cron"],"labels":{"zone":"eu","example.com/tier":"gold"},"description":"does things"}`,
			want: Description{
				Version:     "1.2.0",
				Kinds:       []string{"subprocess", "wasm", "container", "example.com/cron"},
				Labels:      map[string]string{"zone": "eu", "example.com/tier": "gold"},
				Description: "does things",
			},
		},
		{name: "empty object", in: `{}`, want: Description{}},
		{
			name: "unknown fields tolerated",
			in:   `{"version":"2","homepage":"https://x","limits":{"memory":1},"kinds":["wasm"]}`,
			want: Description{Version: "2", Kinds: []string{"wasm"}},
		},
		{name: "embedded is not a kind a runner handles", in: `{"kinds":["wasm","embedded"]}`, err: `describe output: kinds[1]: "embedded" is neither a solti kind nor a valid extension type`},
		{name: "extension is not a kind name", in: `{"kinds":["extension"]}`, err: `kinds[0]: "extension"`},
		{name: "invalid extension type", in: `{"kinds":["Cron Job"]}`, err: `kinds[0]: "Cron Job"`},
		{name: "empty kind", in: `{"kinds":["wasm",""]}`, err: `kinds[1]: ""`},
		{name: "invalid label key", in: `{"labels":{"bad key":"v"}}`, err: `describe output: labels: invalid label key "bad key"`},
		{name: "invalid label value", in: `{"labels":{"zone":"eu west"}}`, err: `describe output: labels.zone: invalid label value "eu west"`},
		{name: "syntax error", in: "{\"kinds\":\n[wasm]}", err: "describe output: line 2, column 2: unexpected character 'w', want a value"},
		{name: "wrong type", in: `{"kinds":"wasm"}`, err: "describe output: kinds: want an array, got a string"},
		{name: "duplicate key", in: `{"version":"1","version":"2"}`, err: `describe output: line 1, column 16: duplicate key "version"`},
		{name: "a GVK kind", in: `{"kinds":["example.com/v1/HttpCheck"]}`, want: Description{Kinds: []string{"example.com/v1/HttpCheck"}}},
		{name: "trailing data", in: `{} {}`, err: "describe output: line 1, column 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDescription([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseDescription = %v, %v; want an error containing %q", d, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDescription: %v", err)
			}
			if !reflect.DeepEqual(*d, tt.want) {
				t.Errorf("got %#v, want %#v", *d, tt.want)
			}
		})
	}
}

func TestDescriptionJSON(t *testing.T) {
	d := Description{Version: "1", Kinds: []string{"wasm"}, Labels: map[string]string{"b": "2", "a": "1"}, Description: "x"}
	if got, want := mustMarshal(t, d), `{"version":"1","kinds":["wasm"],"labels":{"a":"1","b":"2"},"description":"x"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := mustMarshal(t, Description{}); got != `{}` {
		t.Errorf("empty description = %s", got)
	}
}

func TestParseGuestError(t *testing.T) {
	tests := []struct {
		name, in string
		want     GuestError
	}{
		{"code and message", `{"code":"invalid_spec","message":"module is required"}`, GuestError{CodeInvalidSpec, "module is required"}},
		{"unknown code kept", `{"code":"quota","message":"too many"}`, GuestError{"quota", "too many"}},
		{"message only", `{"message":"boom"}`, GuestError{"", "boom"}},
		{"code only", `{"code":"io"}`, GuestError{CodeIO, ""}},
		{"extra fields ignored", `{"code":"internal","message":"m","trace":[1]}`, GuestError{CodeInternal, "m"}},
		{"plain text kept whole", `panic: runtime error: index out of range`, GuestError{CodeInternal, "panic: runtime error: index out of range"}},
		{"empty output", ``, GuestError{CodeInternal, ""}},
		{"object without code or message", `{"error":"x"}`, GuestError{CodeInternal, `{"error":"x"}`}},
		{"duplicate keys kept whole", `{"code":"io","code":"internal"}`, GuestError{CodeInternal, `{"code":"io","code":"internal"}`}},
		{"too deep kept whole", `{"code":"io","x":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`, GuestError{CodeInternal, `{"code":"io","x":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`}},
		{"empty code and message", `{"code":"","message":""}`, GuestError{CodeInternal, `{"code":"","message":""}`}},
		{"JSON string", `"oops"`, GuestError{CodeInternal, `"oops"`}},
		{"wrong field types", `{"code":1,"message":2}`, GuestError{CodeInternal, `{"code":1,"message":2}`}},
		{"invalid UTF-8 kept", "\xff\xfe", GuestError{CodeInternal, "\xff\xfe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseGuestError([]byte(tt.in))
			if got == nil || *got != tt.want {
				t.Errorf("ParseGuestError(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestGuestErrorError(t *testing.T) {
	if got := (&GuestError{Code: CodeMissingField, Message: "module"}).Error(); got != "missing_field: module" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&GuestError{Message: "plain"}).Error(); got != "plain" {
		t.Errorf("Error() without code = %q", got)
	}
	codes := []string{CodeUnsupportedKind, CodeInvalidSpec, CodeMissingField, CodeIO, CodeInternal}
	if want := []string{"unsupported_kind", "invalid_spec", "missing_field", "io", "internal"}; !reflect.DeepEqual(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
}

func TestBuildAndRunInputJSON(t *testing.T) {
	spec := mustParse(t, `{"slot":"s","kind":{"wasm":{"module":"m","env":{"A":"task"}}},"timeout":5}`)
	in := BuildInput{RunID: "r-s-1", Runner: "r", Env: Env{{"A", "host"}, {"B", "x"}}, Spec: spec}
	want := `{"runId":"r-s-1","runner":"r","env":{"A":"host","B":"x"},"spec":{"slot":"s","kind":{"wasm":{"module":"m","env":{"A":"task"}}},"timeout":5,` + defaultsJSON + `}}`
	if got := mustMarshal(t, in); got != want {
		t.Errorf("BuildInput\n got: %s\nwant: %s", got, want)
	}
	var back BuildInput
	if err := json.Unmarshal([]byte(want), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, in) {
		t.Errorf("BuildInput round trip: %#v", back)
	}

	run := RunInput{RunID: "r-s-1", Attempt: 2, Payload: json.RawMessage(`{"k":1}`)}
	if got, want := mustMarshal(t, run), `{"runId":"r-s-1","attempt":2,"payload":{"k":1}}`; got != want {
		t.Errorf("RunInput = %s, want %s", got, want)
	}
}

func TestABIConstants(t *testing.T) {
	if want := MarkerPrefix + strconv.Itoa(Version); ExportMarker != want {
		t.Errorf("ExportMarker = %q, want %q", ExportMarker, want)
	}
	if SupportsNo == SupportsYes {
		t.Error("SupportsNo == SupportsYes")
	}
	if !(LogDebug < LogInfo && LogInfo < LogWarn && LogWarn < LogError) {
		t.Error("log levels are not ordered")
	}
	if DefaultMaxMemoryPages*PageSize != 64<<20 {
		t.Errorf("default memory = %d bytes, want 64 MiB", DefaultMaxMemoryPages*PageSize)
	}
}
