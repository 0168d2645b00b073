//go:build wasmtime && (linux || darwin)

package wasmtime

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// wasmtime-go keeps the C handles of Config and Store in an unexported first field _ptr and
// wraps neither the epoch deadline callback nor memory creators. The handle is read through
// that field; checkLayout verifies, once, that the pinned wasmtime-go still has it there.
func checkLayout() error {
	for _, t := range []reflect.Type{reflect.TypeFor[wasmtime.Config](), reflect.TypeFor[wasmtime.Store]()} {
		if t.NumField() == 0 || t.Field(0).Name != "_ptr" || t.Field(0).Type.Kind() != reflect.Pointer || t.Field(0).Offset != 0 {
			return fmt.Errorf("wasmtime-go %s no longer starts with its C handle _ptr: update runtime/internal/engine/wasmtime/shim.go", t.Name())
		}
	}
	return nil
}

func handle[T any](p *T) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(p)) }

// useCappedMemory makes cfg's engine create linear memories through the shim.
func useCappedMemory(cfg *wasmtime.Config) {
	C.solti_use_capped_memory((*C.wasm_config_t)(handle(cfg)))
}

// cState is an instance's state shared with the C callbacks, in C memory.
type cState struct{ p *C.solti_inst }

func newCState(memCap uint64) cState {
	p := (*C.solti_inst)(C.calloc(1, C.size_t(unsafe.Sizeof(C.solti_inst{}))))
	p.cap = C.size_t(memCap)
	return cState{p}
}

// free releases the state; only after the store (whose memory and callback point at it) is
// deleted.
func (c cState) free() { C.free(unsafe.Pointer(c.p)) }

// watchEpochs installs the epoch callback on store; it checks store's same-context identity
// first, so a wrong handle fails loudly instead of corrupting memory.
func (c cState) watchEpochs(store *wasmtime.Store) error {
	h := (*C.wasmtime_store_t)(handle(store))
	if unsafe.Pointer(C.solti_store_context(h)) != unsafe.Pointer(store.Context()) {
		return fmt.Errorf("wasmtime-go store handle does not match its context: update shim.go")
	}
	C.solti_watch_epochs(h, c.p)
	return nil
}

func (c cState) interrupt() *atomic.Int32 { return (*atomic.Int32)(unsafe.Pointer(&c.p.interrupt)) }
func (c cState) hit() *atomic.Int32       { return (*atomic.Int32)(unsafe.Pointer(&c.p.hit)) }

// setPending tells the memory creator which instance the calling thread instantiates; the
// caller holds runtime.LockOSThread.
func (c cState) setPending() { C.solti_set_pending(c.p) }
func clearPending()          { C.solti_set_pending(nil) }
