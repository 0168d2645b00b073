// The parts of wasmtime's C API that wasmtime-go does not wrap: the epoch deadline callback
// and a host memory creator. The types are opaque here; the symbols come from the
// libwasmtime.a that wasmtime-go links.
#include <stddef.h>
#include <stdint.h>

typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasm_config_t wasm_config_t;

// solti_inst is one instance's state shared between Go and wasmtime's callbacks. Go
// allocates it with C.calloc before the store exists and frees it after the store is deleted.
typedef struct {
	size_t cap;        // linear memory cap in bytes, set before instantiation
	int32_t hit;       // 1 once a grow past cap was refused
	int32_t interrupt; // 1 when the call's context is done: the next epoch check traps
} solti_inst;

wasmtime_context_t *solti_store_context(wasmtime_store_t *store);
void solti_watch_epochs(wasmtime_store_t *store, solti_inst *in);
void solti_use_capped_memory(wasm_config_t *config);
void solti_set_pending(solti_inst *in);
