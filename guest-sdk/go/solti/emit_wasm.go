//go:build wasip1

package solti

import (
	"runtime"
	"unsafe"
)

//go:wasmimport solti emit
func hostEmitImport(stream int32, ptr unsafe.Pointer, n uint32)

func hostEmit(stream int32, s string) {
	hostEmitImport(stream, unsafe.Pointer(unsafe.StringData(s)), uint32(len(s)))
	runtime.KeepAlive(s)
}
