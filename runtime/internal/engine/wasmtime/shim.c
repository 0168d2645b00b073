//go:build wasmtime && (linux || darwin)

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"

typedef uint8_t wasmtime_update_deadline_kind_t;
typedef struct wasm_memorytype_t wasm_memorytype_t;

typedef struct {
	void *env;
	uint8_t *(*get_memory)(void *env, size_t *byte_size, size_t *byte_capacity);
	wasmtime_error_t *(*grow_memory)(void *env, size_t new_size);
	void (*finalizer)(void *);
} wasmtime_linear_memory_t;

typedef struct {
	void *env;
	wasmtime_error_t *(*new_memory)(void *env, const wasm_memorytype_t *ty, size_t minimum,
					size_t maximum, size_t reserved_size_in_bytes,
					size_t guard_size_in_bytes, wasmtime_linear_memory_t *memory_ret);
	void (*finalizer)(void *);
} wasmtime_memory_creator_t;

extern wasmtime_error_t *wasmtime_error_new(const char *);
extern wasmtime_context_t *wasmtime_store_context(wasmtime_store_t *store);
extern void wasmtime_store_epoch_deadline_callback(
	wasmtime_store_t *store,
	wasmtime_error_t *(*func)(wasmtime_context_t *context, void *data, uint64_t *epoch_deadline_delta,
				  wasmtime_update_deadline_kind_t *update_kind),
	void *data, void (*finalizer)(void *));
extern void wasmtime_config_host_memory_creator_set(wasm_config_t *, wasmtime_memory_creator_t *);

wasmtime_context_t *solti_store_context(wasmtime_store_t *store) { return wasmtime_store_context(store); }

// Epochs: the engine's ticker advances the epoch while calls run; at each tick a running
// store lands here and either goes on for one more tick or, once Go has flagged its call's
// context as done, stops with an error the Go side recognises by the flag.
static wasmtime_error_t *on_epoch(wasmtime_context_t *cx, void *data, uint64_t *delta,
				  wasmtime_update_deadline_kind_t *kind) {
	solti_inst *in = data;
	(void)cx;
	if (__atomic_load_n(&in->interrupt, __ATOMIC_ACQUIRE)) {
		return wasmtime_error_new("solti: call interrupted");
	}
	*delta = 1;
	*kind = 0; // WASMTIME_UPDATE_DEADLINE_CONTINUE
	return NULL;
}

void solti_watch_epochs(wasmtime_store_t *store, solti_inst *in) {
	wasmtime_store_epoch_deadline_callback(store, on_epoch, in, NULL);
}

// Capped memory: wasmtime's store limiter refuses a grow silently, so linear memories are
// made here instead, where a refused grow can be recorded. Each memory reserves what
// wasmtime asks (its compiled bounds checks rely on the reservation and guard) up front,
// inaccessible, and makes pages accessible as it grows; it never moves.
typedef struct {
	uint8_t *base;
	size_t size, reserve, mapped;
	size_t cap;
	solti_inst *in; // outlives the memory: freed by Go after the store
} capped_mem;

// pending is the instance being instantiated on this thread; Go locks the goroutine to its
// thread around instantiation, so new_memory finds the right one.
static __thread solti_inst *pending;

void solti_set_pending(solti_inst *in) { pending = in; }

static uint8_t *mem_get(void *env, size_t *size, size_t *capacity) {
	capped_mem *m = env;
	*size = m->size;
	*capacity = m->reserve;
	return m->base;
}

static wasmtime_error_t *mem_grow(void *env, size_t new_size) {
	capped_mem *m = env;
	if (new_size > m->cap) {
		__atomic_store_n(&m->in->hit, 1, __ATOMIC_RELEASE);
		return wasmtime_error_new("solti: memory cap reached");
	}
	if (new_size > m->reserve) {
		return wasmtime_error_new("solti: memory reservation exhausted");
	}
	if (new_size > m->size && mprotect(m->base, new_size, PROT_READ | PROT_WRITE) != 0) {
		return wasmtime_error_new("solti: mprotect failed");
	}
	m->size = new_size;
	return NULL;
}

static void mem_free(void *env) {
	capped_mem *m = env;
	munmap(m->base, m->mapped);
	free(m);
}

static wasmtime_error_t *mem_new(void *env, const wasm_memorytype_t *ty, size_t minimum, size_t maximum,
				 size_t reserved, size_t guard, wasmtime_linear_memory_t *out) {
	(void)env, (void)ty, (void)maximum;
	solti_inst *in = pending;
	if (in == NULL) {
		return wasmtime_error_new("solti: linear memory made outside an instantiation");
	}
	if (minimum > in->cap) {
		__atomic_store_n(&in->hit, 1, __ATOMIC_RELEASE);
		return wasmtime_error_new("solti: initial memory exceeds the cap");
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t reserve = reserved;
	if (reserve < in->cap) {
		reserve = (in->cap + page - 1) / page * page;
	}
	size_t mapped = reserve + guard;
	void *p = mmap(NULL, mapped, PROT_NONE, MAP_PRIVATE | MAP_ANON | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		return wasmtime_error_new("solti: cannot reserve linear memory");
	}
	if (minimum > 0 && mprotect(p, minimum, PROT_READ | PROT_WRITE) != 0) {
		munmap(p, mapped);
		return wasmtime_error_new("solti: mprotect failed");
	}
	capped_mem *m = calloc(1, sizeof *m);
	if (m == NULL) {
		munmap(p, mapped);
		return wasmtime_error_new("solti: out of host memory");
	}
	m->base = p;
	m->size = minimum;
	m->reserve = reserve;
	m->mapped = mapped;
	m->cap = in->cap;
	m->in = in;
	out->env = m;
	out->get_memory = mem_get;
	out->grow_memory = mem_grow;
	out->finalizer = mem_free;
	return NULL;
}

void solti_use_capped_memory(wasm_config_t *config) {
	wasmtime_memory_creator_t c = {NULL, mem_new, NULL};
	wasmtime_config_host_memory_creator_set(config, &c);
}
