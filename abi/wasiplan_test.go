package abi

import (
	"reflect"
	"strings"
	"testing"
)

func TestWasiPlanStdinAndMounts(t *testing.T) {
	in := `{"wasi":{"mounts":[{"guest":"/src","mode":"ro"},{"guest":"/out","mode":"rw"},{"guest":"/"}],` +
		`"stdin":"cGFja2FnZSBtYWluCg==","module":"gofmt.wasm","args":["-l"]}}`
	canonical := `{"wasi":{"module":"gofmt.wasm","args":["-l"],"stdin":"cGFja2FnZSBtYWluCg==",` +
		`"mounts":[{"guest":"/src","mode":"ro"},{"guest":"/out","mode":"rw"},{"guest":"/"}]}}`
	p, err := ParsePlan([]byte(in))
	if err != nil {
		t.Fatalf("ParsePlan: %v", err)
	}
	want := &WasiPlan{Module: "gofmt.wasm", Args: []string{"-l"}, Stdin: []byte("package main\n"),
		Mounts: []WasiMount{{"/src", MountReadOnly}, {"/out", MountReadWrite}, {"/", ""}}}
	if !reflect.DeepEqual(p.Wasi, want) {
		t.Errorf("parsed %#v, want %#v", p.Wasi, want)
	}
	if got := mustMarshal(t, p); got != canonical {
		t.Errorf("encoding\n got: %s\nwant: %s", got, canonical)
	}
	// Empty stdin and mounts are the same as absent ones.
	p, err = ParsePlan([]byte(`{"wasi":{"module":"m.wasm","stdin":"","mounts":[]}}`))
	if err != nil {
		t.Fatalf("ParsePlan: %v", err)
	}
	if got := mustMarshal(t, p); got != `{"wasi":{"module":"m.wasm"}}` {
		t.Errorf("empty stdin and mounts encode as %s", got)
	}
}

func TestWasiPlanInvalid(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"wasi":{"module":"m","stdin":"not base64!"}}`, "invalid base64"},
		{`{"wasi":{"module":"m","stdin":"cGFja2FnZQ"}}`, "invalid base64"}, // unpadded
		{`{"wasi":{"module":"m","mounts":[{"guest":""}]}}`, "wasi.mounts[0].guest: must not be empty"},
		{`{"wasi":{"module":"m","mounts":[{"guest":"src"}]}}`, `wasi.mounts[0].guest: "src" is not an absolute, clean slash path`},
		{`{"wasi":{"module":"m","mounts":[{"guest":"/a"},{"guest":"/src/../etc"}]}}`, `wasi.mounts[1].guest: "/src/../etc" is not an absolute, clean`},
		{`{"wasi":{"module":"m","mounts":[{"guest":"/src/"}]}}`, `"/src/" is not an absolute, clean`},
		{`{"wasi":{"module":"m","mounts":[{"guest":"/a\u0000b"}]}}`, `is not an absolute, clean`},
		{`{"wasi":{"module":"m","mounts":[{"guest":"/src"},{"guest":"/src","mode":"ro"}]}}`, `wasi.mounts[1].guest: "/src" is asked for twice`},
		{`{"wasi":{"module":"m","mounts":[{"guest":"/src","mode":"RO"}]}}`, `wasi.mounts[0].mode: "RO" is not ro or rw`},
		{`{"wasi":{"module":"m","mounts":[{"guest":"/src","host":"/etc"}]}}`, `wasi.mounts[0].host: unknown field`},
		{`{"wasi":{"module":"m","mounts":[{"guest":"/src","readOnly":true}]}}`, `wasi.mounts[0].readOnly: unknown field`},
	} {
		_, err := ParsePlan([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParsePlan(%s) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}
