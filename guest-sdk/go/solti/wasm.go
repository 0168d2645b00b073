//go:build wasip1

package solti

import (
	"runtime"
	"unsafe"

	"github.com/solti-wasm/solti-wasm/abi"
)

// The ABI v1 glue. //go:wasmexport works from any package of the program (checked with Go
// 1.26), so importing this package is enough to give a module every export.

//go:wasmimport solti input
func hostInput(dst unsafe.Pointer)

//go:wasmimport solti output
func hostOutput(ptr unsafe.Pointer, n uint32)

//go:wasmimport solti log
func hostLogImport(level int32, ptr unsafe.Pointer, n uint32)

func hostLog(level int32, msg string) {
	hostLogImport(level, unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	runtime.KeepAlive(msg)
}

// inBuf is the one input buffer, reused by every call and grown only when an input is larger
// than any before: inputs make no garbage. A package variable keeps it referenced while the
// host writes into it (Go's collector does not move objects).
var inBuf []byte

func readInput(n int32) []byte {
	if n <= 0 {
		return nil
	}
	if int(n) > cap(inBuf) {
		growInput(int(n))
	}
	b := inBuf[:n]
	hostInput(unsafe.Pointer(unsafe.SliceData(b)))
	return b
}

// growInput makes inBuf hold at least n bytes (out of readInput, which then inlines).
func growInput(n int) {
	inBuf = make([]byte, n, max(n, 2*cap(inBuf), 4096))
}

// finish hands out to the host and returns the export's code. A nil out leaves output unset.
func finish(rc int32, out []byte, failRC int32) int32 {
	rc, out = limitOutput(rc, out, failRC)
	if out != nil {
		hostOutput(unsafe.Pointer(unsafe.SliceData(out)), uint32(len(out)))
		runtime.KeepAlive(out) // the host copies during the call; keep out alive until then
	}
	yieldToRuntime(failRC == rcSupportsFail) // only supports fails with rcSupportsFail
	return rc
}

// calls counts export calls, to spread yieldToRuntime's cost over cheap supports calls.
var calls uint32

// yieldToRuntime lets the runtime's own goroutines run before control returns to the host.
// A wasmexport call never schedules them otherwise, so a garbage collection that started
// during a call (its mark workers are goroutines) never finished: the heap then grew with
// every call until the instance died of "out of memory" after some 12 000 builds
// (tests/conformance, TestConformanceRepeatedCalls; golang/go#69584 is the same family).
// A yield costs ~1 µs: calls that allocate much (build, run, name, describe) always yield;
// supports, which allocates next to nothing, yields every 64th call.
func yieldToRuntime(cheap bool) {
	calls++
	if !cheap || calls%64 == 0 {
		runtime.Gosched()
	}
}

//go:wasmexport solti_abi_v1
func abiV1Marker() {}

//go:wasmexport name
func exportName() int32 {
	rc, out := callName()
	return finish(rc, out, rcFailed)
}

//go:wasmexport describe
func exportDescribe() int32 {
	rc, out := callDescribe()
	return finish(rc, out, rcFailed)
}

//go:wasmexport supports
func exportSupports(inLen int32) int32 {
	// readInput, written out: it is too big for the inliner, and this is the hot path.
	if int(inLen) > cap(inBuf) {
		growInput(int(inLen))
	}
	in := inBuf[:max(inLen, 0)]
	if inLen > 0 {
		hostInput(unsafe.Pointer(unsafe.SliceData(in)))
	}
	rc := supportsCall(in)
	if out := supportsOut; out != nil {
		supportsOut = nil
		return finish(rc, out, rcSupportsFail)
	}
	yieldToRuntime(true)
	return rc
}

//go:wasmexport build
func exportBuild(inLen int32) int32 {
	rc, out := callBuild(readInput(inLen))
	return finish(rc, out, rcFailed)
}

//go:wasmexport run
func exportRun(inLen int32) int32 {
	rc, out := callRun(readInput(inLen))
	return finish(rc, out, rcFailed)
}

// This glue implements ABI version 1: a new version must not compile against it unnoticed.
var _ [1]struct{} = [abi.Version]struct{}{}
