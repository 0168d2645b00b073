//go:build wasmtime

package wasmtimefloor

import (
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// A guest that echoes its input, asks for it past the end of its memory, and names itself
// (an export without the input-length argument).
const echoWAT = `(module
  (import "solti" "input" (func $input (param i32)))
  (import "solti" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "echo") (param $n i32) (result i32)
    (call $input (i32.const 16)) (call $output (i32.const 16) (local.get $n)) (i32.const 7))
  (func (export "past") (param $n i32) (result i32)
    (call $input (i32.const 65530)) (i32.const 0))
  (func (export "name") (result i32)
    (call $output (i32.const 0) (i32.const 2)) (i32.const 0))
  (data (i32.const 0) "ok"))`

func TestCallAndBounds(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := wasmtime.Wat2Wasm(echoWAT)
	if err != nil {
		t.Fatal(err)
	}
	m, err := h.Compile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	in, err := h.Instantiate(m)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if rc, err := in.Call("echo", []byte("hello")); err != nil || rc != 7 || string(in.Output()) != "hello" {
		t.Errorf("echo = %d, %q, %v; want 7, hello", rc, in.Output(), err)
	}
	if _, err := in.Call("past", []byte("0123456789")); err == nil || !strings.Contains(err.Error(), ErrOutOfMemory.Error()) {
		t.Errorf("input past the memory's end: err = %v; want a trap naming %q", err, ErrOutOfMemory)
	}
	if rc, err := in.Call("name", nil); err != nil || rc != 0 || string(in.Output()) != "ok" {
		t.Errorf("name = %d, %v, %q", rc, err, in.Output())
	}
	if _, err := in.Call("nope", nil); err == nil || !strings.Contains(err.Error(), `no export "nope"`) {
		t.Errorf("missing export: err = %v", err)
	}
}
