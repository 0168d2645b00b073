// Command go-raw is the floor of tests/sdkbench in Go, without the SDK: supports copies the
// input into a reused buffer and compares the canonical prefix
// {"slot":"...","kind":{"extension":{"type":"bench" by hand. It shows what a Go guest costs
// before any SDK code runs (entering the Go runtime on each export call).
package main

import (
	"bytes"
	"unsafe"
)

var buf []byte

//go:wasmexport solti_abi_v1
func abiV1() {}

//go:wasmexport name
func name() int32 { return out("bench-go-raw") }

//go:wasmexport build
func build(n int32) int32 { return out(`{"guest":{}}`) }

func out(s string) int32 {
	output(unsafe.Pointer(unsafe.StringData(s)), uint32(len(s)))
	return 0
}

//go:wasmexport supports
func supports(n int32) int32 {
	if int(n) > cap(buf) {
		buf = make([]byte, n)
	}
	b := buf[:n]
	input(unsafe.Pointer(unsafe.SliceData(b)))
	const slot, kind = `{"slot":"`, `","kind":{"extension":{"type":"bench"`
	if !bytes.HasPrefix(b, []byte(slot)) {
		return 0
	}
	i := bytes.IndexByte(b[len(slot):], '"')
	if i >= 0 && bytes.HasPrefix(b[len(slot)+i:], []byte(kind)) {
		return 1
	}
	return 0
}

func main() {}
