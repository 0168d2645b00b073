package abi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestEnvFromMapSorts(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]string
		want Env
	}{
		{"nil", nil, nil},
		{"empty", map[string]string{}, nil},
		{"one", map[string]string{"A": "1"}, Env{{"A", "1"}}},
		{"byte order, upper before lower", map[string]string{"b": "1", "B": "2", "a": "3", "_": "4", "A1": "5", "A": "6"},
			Env{{"A", "6"}, {"A1", "5"}, {"B", "2"}, {"_", "4"}, {"a", "3"}, {"b", "1"}}},
		{"empty key and value kept", map[string]string{"": "x", "E": ""}, Env{{"", "x"}, {"E", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EnvFromMap(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("EnvFromMap = %v, want %v", got, tt.want)
			}
			if !slices.IsSortedFunc(got, func(a, b EnvVar) int { return strings.Compare(a.Key, b.Key) }) {
				t.Errorf("EnvFromMap = %v is not sorted", got)
			}
		})
	}
}

func TestEnvGet(t *testing.T) {
	e := EnvFromMap(map[string]string{"HOME": "/root", "PATH": "/bin", "EMPTY": ""})
	tests := []struct {
		key, want string
		ok        bool
	}{
		{"HOME", "/root", true},
		{"PATH", "/bin", true},
		{"EMPTY", "", true},
		{"home", "", false},
		{"", "", false},
		{"ZZZ", "", false},
	}
	for _, tt := range tests {
		if got, ok := e.Get(tt.key); got != tt.want || ok != tt.ok {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := Env(nil).Get("A"); ok {
		t.Error("nil Env has a key")
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name       string
		base, over Env
		want       Env
	}{
		{"both nil", nil, nil, nil},
		{"both empty", Env{}, Env{}, nil},
		{"base only", Env{{"A", "1"}}, nil, Env{{"A", "1"}}},
		{"over only", nil, Env{{"B", "2"}}, Env{{"B", "2"}}},
		{"over wins on a shared key", Env{{"A", "task"}, {"B", "task"}}, Env{{"B", "runner"}, {"C", "runner"}},
			Env{{"A", "task"}, {"B", "runner"}, {"C", "runner"}}},
		{"over wins with an empty value", Env{{"A", "task"}}, Env{{"A", ""}}, Env{{"A", ""}}},
		{"result sorted whatever the input order", Env{{"Z", "1"}, {"M", "2"}}, Env{{"B", "3"}, {"A", "4"}},
			Env{{"A", "4"}, {"B", "3"}, {"M", "2"}, {"Z", "1"}}},
		{"duplicates within base: last wins", Env{{"A", "1"}, {"A", "2"}}, nil, Env{{"A", "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, over := slices.Clone(tt.base), slices.Clone(tt.over)
			got := Merge(tt.base, tt.over)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Merge = %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(base, tt.base) || !reflect.DeepEqual(over, tt.over) {
				t.Error("Merge modified its inputs")
			}
		})
	}
}

func TestEnvJSON(t *testing.T) {
	// Encoding writes an object in key order, even from an unsorted Env.
	e := Env{{"Z", "last"}, {"A", "first"}, {"M", "with \"quotes\" and \u00e9"}}
	got, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"A":"first","M":"with \"quotes\" and é","Z":"last"}`; string(got) != want {
		t.Errorf("json.Marshal(Env) = %s, want %s", got, want)
	}

	tests := []struct {
		name, in string
		want     Env
	}{
		{"object sorted by key", `{"b":"2","a":"1","C":"3"}`, Env{{"C", "3"}, {"a", "1"}, {"b", "2"}}},
		{"empty object", `{}`, nil},
		{"solti-model's list", `[{"key":"b","value":"2"},{"key":"a","value":"1"}]`, Env{{"a", "1"}, {"b", "2"}}},
		{"in a list the last of a repeated key wins", `[{"key":"A","value":"1"},{"key":"A","value":"2"}]`, Env{{"A", "2"}}},
		{"empty list", `[]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Env
			if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Unmarshal(%s) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}

	for _, bad := range []string{`null`, `["A=1"]`, `[{"key":"A"}]`, `[{"value":"1"}]`, `{"A":"1","A":"2"}`, `{"A":1}`, `"A=1"`, `{"A":true}`} {
		var got Env
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("Unmarshal(%s) accepted: %v", bad, got)
		}
	}

	// Round trip through a struct field with omitempty.
	w := WasmSpec{Module: "m", Env: Env{{"B", "2"}, {"A", "1"}}}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"module":"m","env":{"A":"1","B":"2"}}`; string(b) != want {
		t.Errorf("WasmSpec = %s, want %s", b, want)
	}
	var back WasmSpec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if want := (Env{{"A", "1"}, {"B", "2"}}); !reflect.DeepEqual(back.Env, want) {
		t.Errorf("round trip env = %v, want %v", back.Env, want)
	}
	if b, _ := json.Marshal(WasmSpec{Module: "m", Env: Env{}}); string(b) != `{"module":"m"}` {
		t.Errorf("empty env not omitted: %s", b)
	}
}
