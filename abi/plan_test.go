package abi

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestPlanJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name, in, canonical, typ string
		want                     Plan
	}{
		{
			name:      "guest with payload kept compact",
			in:        `{"guest": {"payload": { "op" : "sync", "n": [1, 2] }}}`,
			canonical: `{"guest":{"payload":{"op":"sync","n":[1,2]}}}`,
			typ:       PlanGuest,
			want:      Plan{Guest: &GuestPlan{Payload: json.RawMessage(`{"op":"sync","n":[1,2]}`)}},
		},
		{
			name:      "guest without payload",
			in:        `{"guest":{}}`,
			canonical: `{"guest":{}}`,
			typ:       PlanGuest,
			want:      Plan{Guest: &GuestPlan{}},
		},
		{
			name:      "exec with everything",
			in:        `{"exec":{"failOnNonZero":false,"cwd":"/w","env":{"B":"2","A":"1"},"args":["-c","x"],"command":"/bin/sh"}}`,
			canonical: `{"exec":{"command":"/bin/sh","args":["-c","x"],"env":{"A":"1","B":"2"},"cwd":"/w","failOnNonZero":false}}`,
			typ:       PlanExec,
			want:      Plan{Exec: &ExecPlan{Command: "/bin/sh", Args: []string{"-c", "x"}, Env: Env{{"A", "1"}, {"B", "2"}}, Cwd: "/w", FailOnNonZero: false}},
		},
		{
			name:      "exec failOnNonZero defaults to true",
			in:        `{"exec":{"command":"ls"}}`,
			canonical: `{"exec":{"command":"ls","failOnNonZero":true}}`,
			typ:       PlanExec,
			want:      Plan{Exec: &ExecPlan{Command: "ls", FailOnNonZero: true}},
		},
		{
			name:      "exec failOnNonZero explicit true",
			in:        `{"exec":{"command":"ls","failOnNonZero":true}}`,
			canonical: `{"exec":{"command":"ls","failOnNonZero":true}}`,
			typ:       PlanExec,
			want:      Plan{Exec: &ExecPlan{Command: "ls", FailOnNonZero: true}},
		},
		{
			name:      "wasi",
			in:        `{"wasi":{"env":{"K":"v"},"args":["a"],"module":"tool.wasm"}}`,
			canonical: `{"wasi":{"module":"tool.wasm","args":["a"],"env":{"K":"v"}}}`,
			typ:       PlanWasi,
			want:      Plan{Wasi: &WasiPlan{Module: "tool.wasm", Args: []string{"a"}, Env: Env{{"K", "v"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePlan([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParsePlan: %v", err)
			}
			if p.Type() != tt.typ {
				t.Errorf("Type() = %q, want %q", p.Type(), tt.typ)
			}
			if !reflect.DeepEqual(*p, tt.want) {
				t.Errorf("parsed\n got: %#v\nwant: %#v", *p, tt.want)
			}
			enc := mustMarshal(t, p)
			if enc != tt.canonical {
				t.Errorf("encoding\n got: %s\nwant: %s", enc, tt.canonical)
			}
			back, err := ParsePlan([]byte(enc))
			if err != nil {
				t.Fatalf("ParsePlan(canonical): %v", err)
			}
			if enc2 := mustMarshal(t, back); enc2 != enc {
				t.Errorf("not a fixed point: %s vs %s", enc, enc2)
			}
			// decode(encode(x)) == x, for a value built in Go.
			var fromWant Plan
			if err := json.Unmarshal([]byte(mustMarshal(t, tt.want)), &fromWant); err != nil {
				t.Fatal(err)
			}
			if mustMarshal(t, fromWant) != tt.canonical {
				t.Errorf("struct round trip encodes as %s", mustMarshal(t, fromWant))
			}
		})
	}
}

func TestPlanExactlyOne(t *testing.T) {
	tests := []struct {
		name string
		p    Plan
		n    string
	}{
		{"none", Plan{}, "got 0"},
		{"guest and exec", Plan{Guest: &GuestPlan{}, Exec: &ExecPlan{Command: "x"}}, "got 2"},
		{"all three", Plan{Guest: &GuestPlan{}, Exec: &ExecPlan{Command: "x"}, Wasi: &WasiPlan{Module: "m"}}, "got 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "plan" || !strings.Contains(ve.Reason, tt.n) {
				t.Errorf("Validate() = %v, want a plan error with %q", err, tt.n)
			}
			if _, err := json.Marshal(tt.p); err == nil || !strings.Contains(err.Error(), "exactly one of guest, exec and wasi") {
				t.Errorf("json.Marshal error = %v", err)
			}
		})
	}
	if got := (&Plan{}).Type(); got != "" {
		t.Errorf("empty plan Type() = %q", got)
	}
	var nilPlan *Plan
	if err := nilPlan.Validate(); err == nil {
		t.Error("nil plan validated")
	}
}

func TestPlanValidate(t *testing.T) {
	tests := []struct {
		name  string
		p     Plan
		field string
	}{
		{"guest ok", Plan{Guest: &GuestPlan{}}, ""},
		{"exec ok", Plan{Exec: &ExecPlan{Command: "ls"}}, ""},
		{"exec blank command", Plan{Exec: &ExecPlan{Command: " "}}, "exec.command"},
		{"wasi ok", Plan{Wasi: &WasiPlan{Module: "m"}}, ""},
		{"wasi empty module", Plan{Wasi: &WasiPlan{}}, "wasi.module"},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != tt.field {
			t.Errorf("%s: Validate() = %v, want an error on %s", tt.name, err, tt.field)
		}
	}
}

func TestParsePlanErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown type lists the known ones", `{"shell":{}}`, `plan: unknown plan type "shell" (want guest, exec or wasi)`},
		{"two types", `{"guest":{},"exec":{"command":"x"}}`, "plan: want an object with exactly one key (guest, exec or wasi), got 2"},
		{"empty object", `{}`, "got 0"},
		{"not an object", `"guest"`, "plan: want an object with one key (guest, exec or wasi), got a string"},
		{"unknown field", `{"exec":{"command":"x","shell":true}}`, "exec.shell: unknown field"},
		{"unknown field in wasi", `{"wasi":{"module":"m","dir":"/"}}`, "wasi.dir: unknown field"},
		{"unknown field in guest", `{"guest":{"data":1}}`, "guest.data: unknown field"},
		{"syntax error with position", "{\"exec\":\n{\"command\" \"x\"}}", `plan: line 2, column 12: unexpected character '"' after a key, want ':'`},
		{"trailing data", `{"guest":{}} {}`, "plan: line 1, column 14: unexpected character '{' after the top-level value"},
		{"blank exec command", `{"exec":{"command":""}}`, "exec.command: must not be blank"},
		{"empty wasi module", `{"wasi":{"module":" "}}`, "wasi.module: must not be empty"},
		{"wrong type", `{"exec":{"command":["ls"]}}`, "exec.command: want a string, got an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePlan([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePlan = %v, %v; want an error containing %q", p, err, tt.want)
			}
			if p != nil {
				t.Error("a plan was returned with an error")
			}
		})
	}
}

// The fast path for compact guest plans must agree with the strict path on every input.
func TestParsePlanCompactGuestFastPathAgrees(t *testing.T) {
	for _, in := range []string{
		`{"guest":{"payload":{"a":[1,2,{"b":"}}"}]}}}`,
		`{"guest":{"payload":null}}`,
		`{"guest":{"payload":"x"}}`,
		`{"guest":{"payload":{"a":1}},"exec":{"command":"x"}}`, // two plans: both paths refuse
		`{"guest":{"payload":{"a":1}},"x":{"b":2}}`,
		`{"guest":{"payload":}}`,
		`{"guest":{"payload":1} }}`,
	} {
		fast, fastOK := parseCompactGuest([]byte(in))
		slow, slowErr := parsePlanFull([]byte(in))
		if fastOK {
			if slowErr != nil {
				t.Errorf("%s: fast path accepted what the strict path refuses: %v", in, slowErr)
			} else if string(fast.Guest.Payload) != string(slow.Guest.Payload) {
				t.Errorf("%s: payload %s, strict path %s", in, fast.Guest.Payload, slow.Guest.Payload)
			}
		}
		got, err := ParsePlan([]byte(in))
		if (err == nil) != (slowErr == nil) {
			t.Errorf("%s: ParsePlan error %v, strict path %v", in, err, slowErr)
		}
		if err == nil && got.Type() != slow.Type() {
			t.Errorf("%s: type %s, strict path %s", in, got.Type(), slow.Type())
		}
	}
}
