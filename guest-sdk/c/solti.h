/*
 * solti.h: header-only C/C++ guest SDK for solti-wasm runner modules, ABI v1 (abi/ABI.md).
 *
 * Works freestanding (clang --target=wasm32 -nostdlib -mbulk-memory) and with wasi-libc
 * (clang --target=wasm32-wasi -mexec-model=reactor). Every symbol is prefixed solti_ (public)
 * or solti__ (internal) and has internal linkage, so nothing clashes with libc; the only
 * external symbols are the ABI exports that SOLTI_EXPORT_RUNNER defines.
 *
 * Memory: everything the SDK hands out (decoded strings, buffers) lives in a per-call arena
 * that is rewound at the start of each export call; it never leaks across calls and needs no
 * free. Freestanding, the arena takes pages with memory.grow above __heap_base; with libc, it
 * takes chunks from malloc (so it coexists with the libc heap).
 *
 *     #include "solti.h"
 *     static int supports(const solti_spec *s, solti_buf *err) { return solti_spec_kind_is(s, "hello"); }
 *     static int build(const solti_build_req *r, solti_buf *out) { solti_plan_guest(out, solti_json_null()); return 0; }
 *     SOLTI_EXPORT_RUNNER(.name = "hello", .supports = supports, .build = build)
 */
#ifndef SOLTI_H
#define SOLTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SOLTI_API static inline __attribute__((unused))

/* ABI limits (abi/ABI.md §7). */
#define SOLTI_MAX_OUTPUT_BYTES (1u << 20)
#define SOLTI_MAX_LOG_BYTES (4u << 10)
#define SOLTI_MAX_LINE_BYTES (4u << 10)

/* Log levels (§4). */
enum { SOLTI_DEBUG = 0, SOLTI_INFO = 1, SOLTI_WARN = 2, SOLTI_ERROR = 3 };

/* Streams of live output (§4, emit). */
enum { SOLTI_STDOUT = 1, SOLTI_STDERR = 2 };

/* Error codes (§5.5). */
#define SOLTI_UNSUPPORTED_KIND "unsupported_kind"
#define SOLTI_INVALID_SPEC "invalid_spec"
#define SOLTI_MISSING_FIELD "missing_field"
#define SOLTI_IO "io"
#define SOLTI_INTERNAL "internal"

/* ---- host imports ------------------------------------------------------------------------ */

__attribute__((import_module("solti"), import_name("input"))) void solti__input(void *dst);
__attribute__((import_module("solti"), import_name("output"))) void solti__output(const void *ptr, uint32_t len);
__attribute__((import_module("solti"), import_name("log"))) void solti__log(int32_t level, const void *ptr, uint32_t len);
/* Optional (§4): a module imports it only if it calls solti_emit or solti_emit_str (an
 * unused declaration imports nothing), so modules that never emit load on older hosts too. */
__attribute__((import_module("solti"), import_name("emit"))) void solti__emit(int32_t stream, const void *ptr, uint32_t len);

/* ---- small helpers (no libc) ------------------------------------------------------------- */

SOLTI_API size_t solti_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

SOLTI_API bool solti__memeq(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* ---- per-call arena ---------------------------------------------------------------------- */

typedef struct solti__chunk {
    struct solti__chunk *next;
    size_t size; /* bytes after the header */
} solti__chunk;

static solti__chunk *solti__first, *solti__cur;
static size_t solti__off;

#if defined(__wasi__) && !defined(SOLTI_FREESTANDING)
#include <stdlib.h>
SOLTI_API void *solti__sys_alloc(size_t n) { return malloc(n); }
#else
extern unsigned char __heap_base;
static uintptr_t solti__brk;
SOLTI_API void *solti__sys_alloc(size_t n) {
    if (!solti__brk) solti__brk = ((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15;
    uintptr_t p = solti__brk, end = p + n;
    if (end < p) return NULL;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        uintptr_t pages = (end - have + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return NULL;
    }
    solti__brk = (end + 15) & ~(uintptr_t)15;
    return (void *)p;
}
#endif

/* solti_alloc returns n bytes (8-aligned) valid until the current export call returns, or
 * traps when memory is exhausted (the host reports "memory cap hit"). */
SOLTI_API void *solti_alloc(size_t n) {
    n = (n + 7) & ~(size_t)7;
    for (;;) {
        if (solti__cur && solti__off + n <= solti__cur->size) {
            void *p = (char *)(solti__cur + 1) + solti__off;
            solti__off += n;
            return p;
        }
        if (solti__cur && solti__cur->next) { /* reuse the chunks of earlier calls */
            solti__cur = solti__cur->next;
            solti__off = 0;
            continue;
        }
        size_t size = n > 65536 - sizeof(solti__chunk) ? n : 65536 - sizeof(solti__chunk);
        solti__chunk *c = (solti__chunk *)solti__sys_alloc(sizeof(solti__chunk) + size);
        if (!c) __builtin_trap();
        c->next = NULL;
        c->size = size;
        if (solti__cur) solti__cur->next = c; else solti__first = c;
        solti__cur = c;
        solti__off = 0;
    }
}

SOLTI_API void solti__arena_reset(void) {
    solti__cur = solti__first;
    solti__off = 0;
}

/* ---- strings and buffers ----------------------------------------------------------------- */

/* A byte string (not NUL-terminated unless said so). */
typedef struct {
    const char *ptr;
    size_t len;
} solti_str;

SOLTI_API solti_str solti_cstr(const char *s) { return (solti_str){s, solti_strlen(s)}; }
SOLTI_API bool solti_str_eq(solti_str a, const char *b) {
    size_t n = solti_strlen(b);
    return a.ptr && a.len == n && solti__memeq(a.ptr, b, n);
}

/* A growable output buffer in the arena. */
typedef struct {
    char *ptr;
    size_t len, cap;
} solti_buf;

SOLTI_API void solti_buf_reserve(solti_buf *b, size_t more) {
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + more) cap *= 2;
    char *p = (char *)solti_alloc(cap);
    if (b->len) __builtin_memcpy(p, b->ptr, b->len);
    b->ptr = p;
    b->cap = cap;
}
SOLTI_API void solti_buf_raw(solti_buf *b, const char *p, size_t n) {
    solti_buf_reserve(b, n);
    if (n) __builtin_memcpy(b->ptr + b->len, p, n);
    b->len += n;
}
SOLTI_API void solti_buf_cat(solti_buf *b, const char *s) { solti_buf_raw(b, s, solti_strlen(s)); }
SOLTI_API void solti_buf_char(solti_buf *b, char c) { solti_buf_raw(b, &c, 1); }
SOLTI_API void solti_buf_int(solti_buf *b, int64_t v) {
    char tmp[24];
    int i = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do { tmp[--i] = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) tmp[--i] = '-';
    solti_buf_raw(b, tmp + i, sizeof tmp - i);
}
/* solti_buf_json_str appends s as a JSON string literal (quotes, backslashes and control
 * characters escaped; other bytes as they are, so UTF-8 stays UTF-8). */
SOLTI_API void solti_buf_json_str(solti_buf *b, solti_str s) {
    static const char hex[] = "0123456789abcdef";
    solti_buf_reserve(b, s.len + 2);
    solti_buf_char(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        solti_buf_raw(b, s.ptr + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': solti_buf_raw(b, "\\\"", 2); break;
        case '\\': solti_buf_raw(b, "\\\\", 2); break;
        case '\n': solti_buf_raw(b, "\\n", 2); break;
        case '\r': solti_buf_raw(b, "\\r", 2); break;
        case '\t': solti_buf_raw(b, "\\t", 2); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            solti_buf_raw(b, e, 6);
        }
        }
    }
    solti_buf_raw(b, s.ptr + run, s.len - run);
    solti_buf_char(b, '"');
}
SOLTI_API void solti_buf_json_cstr(solti_buf *b, const char *s) { solti_buf_json_str(b, solti_cstr(s)); }

/* ---- JSON reader ------------------------------------------------------------------------- */

/* A JSON value: a slice of the input text. A missing value has ptr == NULL. */
typedef struct {
    const char *ptr;
    size_t len;
} solti_json;

SOLTI_API solti_json solti_json_null(void) { return (solti_json){NULL, 0}; }
SOLTI_API bool solti_json_ok(solti_json v) { return v.ptr != NULL; }

SOLTI_API const char *solti__ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}
SOLTI_API const char *solti__skip_string(const char *p, const char *end) {
    if (p >= end || *p != '"') return NULL;
    for (p++; p < end; p++) {
        if (*p == '"') return p + 1;
        if (*p == '\\') p++;
    }
    return NULL;
}
/* solti__skip returns the end of the value at p, or NULL if it is malformed. */
SOLTI_API const char *solti__skip(const char *p, const char *end, int depth) {
    if (p >= end || depth > 512) return NULL;
    char c = *p;
    if (c == '"') return solti__skip_string(p, end);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        p = solti__ws(p + 1, end);
        if (p < end && *p == close) return p + 1;
        for (;;) {
            if (c == '{') {
                p = solti__skip_string(p, end);
                if (!p) return NULL;
                p = solti__ws(p, end);
                if (p >= end || *p != ':') return NULL;
                p = solti__ws(p + 1, end);
            }
            p = solti__skip(p, end, depth + 1);
            if (!p) return NULL;
            p = solti__ws(p, end);
            if (p >= end) return NULL;
            if (*p == close) return p + 1;
            if (*p != ',') return NULL;
            p = solti__ws(p + 1, end);
        }
    }
    const char *s = p;
    while (p < end && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '-' || *p == '+' || *p == '.' || *p == 'E'))
        p++;
    return p > s ? p : NULL;
}

/* solti_json_parse checks that text is one JSON value (lightly: brackets, strings, scalars)
 * and returns it without surrounding white space; ptr NULL if it is not. */
SOLTI_API solti_json solti_json_parse(const char *text, size_t len) {
    const char *end = text + len, *p = solti__ws(text, end);
    const char *q = solti__skip(p, end, 0);
    if (!q || solti__ws(q, end) != end) return solti_json_null();
    return (solti_json){p, (size_t)(q - p)};
}

/* solti_json_type: 'o' object, 'a' array, 's' string, 'n' number, 'b' boolean, 'z' null,
 * 0 missing. */
SOLTI_API char solti_json_type(solti_json v) {
    if (!v.ptr || !v.len) return 0;
    switch (v.ptr[0]) {
    case '{': return 'o';
    case '[': return 'a';
    case '"': return 's';
    case 't': case 'f': return 'b';
    case 'n': return 'z';
    default: return 'n';
    }
}

/* Iterating over an object's members or an array's elements:
 *     solti_json_iter it = solti_json_iter_of(obj); solti_json k, v;
 *     while (solti_json_next(&it, &k, &v)) { ... }   (k is missing for arrays) */
typedef struct {
    const char *p, *end;
    bool object;
} solti_json_iter;

SOLTI_API solti_json_iter solti_json_iter_of(solti_json v) {
    char t = solti_json_type(v);
    if (t != 'o' && t != 'a') return (solti_json_iter){NULL, NULL, false};
    return (solti_json_iter){solti__ws(v.ptr + 1, v.ptr + v.len - 1), v.ptr + v.len - 1, t == 'o'};
}
SOLTI_API bool solti_json_next(solti_json_iter *it, solti_json *key, solti_json *val) {
    if (!it->p || it->p >= it->end) return false;
    const char *p = it->p, *q;
    if (it->object) {
        q = solti__skip_string(p, it->end);
        if (!q) return false;
        if (key) *key = (solti_json){p, (size_t)(q - p)};
        p = solti__ws(q, it->end);
        if (p >= it->end || *p != ':') return false;
        p = solti__ws(p + 1, it->end);
    } else if (key) {
        *key = solti_json_null();
    }
    q = solti__skip(p, it->end, 1);
    if (!q) return false;
    if (val) *val = (solti_json){p, (size_t)(q - p)};
    p = solti__ws(q, it->end);
    if (p < it->end && *p == ',') p = solti__ws(p + 1, it->end);
    it->p = p;
    return true;
}

/* solti__key_is compares a JSON string literal (escape-free, as canonical keys are) with key. */
SOLTI_API bool solti__key_is(solti_json k, const char *key) {
    size_t n = solti_strlen(key);
    return k.len == n + 2 && solti__memeq(k.ptr + 1, key, n);
}

/* solti_json_get returns the member key of an object (missing if absent). */
SOLTI_API solti_json solti_json_get(solti_json obj, const char *key) {
    solti_json_iter it = solti_json_iter_of(obj);
    if (!it.object) return solti_json_null();
    solti_json k, v;
    while (solti_json_next(&it, &k, &v))
        if (solti__key_is(k, key)) return v;
    return solti_json_null();
}

SOLTI_API void solti__utf8(solti_buf *b, uint32_t cp) {
    char e[4];
    if (cp < 0x80) { e[0] = (char)cp; solti_buf_raw(b, e, 1); }
    else if (cp < 0x800) { e[0] = (char)(0xC0 | cp >> 6); e[1] = (char)(0x80 | (cp & 63)); solti_buf_raw(b, e, 2); }
    else if (cp < 0x10000) { e[0] = (char)(0xE0 | cp >> 12); e[1] = (char)(0x80 | (cp >> 6 & 63)); e[2] = (char)(0x80 | (cp & 63)); solti_buf_raw(b, e, 3); }
    else { e[0] = (char)(0xF0 | cp >> 18); e[1] = (char)(0x80 | (cp >> 12 & 63)); e[2] = (char)(0x80 | (cp >> 6 & 63)); e[3] = (char)(0x80 | (cp & 63)); solti_buf_raw(b, e, 4); }
}
SOLTI_API int solti__hex4(const char *p) {
    int n = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        n = n * 16 + d;
    }
    return n;
}

/* solti_json_string decodes a JSON string value (escapes resolved, UTF-8) into the arena,
 * NUL-terminated; false if v is not a string. */
SOLTI_API bool solti_json_string(solti_json v, solti_str *out) {
    if (solti_json_type(v) != 's' || v.len < 2) return false;
    const char *p = v.ptr + 1, *end = v.ptr + v.len - 1;
    solti_buf b = {0};
    solti_buf_reserve(&b, (size_t)(end - p) + 1);
    while (p < end) {
        const char *s = p;
        while (p < end && *p != '\\') p++;
        solti_buf_raw(&b, s, (size_t)(p - s));
        if (p >= end) break;
        if (p + 1 >= end) return false;
        char c = p[1];
        p += 2;
        switch (c) {
        case '"': case '\\': case '/': solti_buf_char(&b, c); break;
        case 'b': solti_buf_char(&b, '\b'); break;
        case 'f': solti_buf_char(&b, '\f'); break;
        case 'n': solti_buf_char(&b, '\n'); break;
        case 'r': solti_buf_char(&b, '\r'); break;
        case 't': solti_buf_char(&b, '\t'); break;
        case 'u': {
            if (end - p < 4) return false;
            int hi = solti__hex4(p);
            if (hi < 0) return false;
            p += 4;
            uint32_t cp = (uint32_t)hi;
            if (hi >= 0xD800 && hi < 0xDC00) {
                int lo = end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? solti__hex4(p + 2) : -1;
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((uint32_t)(hi - 0xD800) << 10) + (uint32_t)(lo - 0xDC00);
                    p += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (hi >= 0xDC00 && hi < 0xE000) {
                cp = 0xFFFD;
            }
            solti__utf8(&b, cp);
            break;
        }
        default: return false;
        }
    }
    solti_buf_char(&b, 0);
    *out = (solti_str){b.ptr, b.len - 1};
    return true;
}

/* solti_json_int reads an integer value; false if v is not one. */
SOLTI_API bool solti_json_int(solti_json v, int64_t *out) {
    if (solti_json_type(v) != 'n') return false;
    size_t i = 0;
    bool neg = v.ptr[0] == '-';
    if (neg) i++;
    if (i == v.len) return false;
    uint64_t n = 0;
    for (; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9') return false;
        n = n * 10 + (uint64_t)(v.ptr[i] - '0');
    }
    *out = neg ? -(int64_t)n : (int64_t)n;
    return true;
}

/* ---- task spec, requests ----------------------------------------------------------------- */

/* A task spec (§5.1). Only the kind is read before supports is called, by a scan of the first
 * bytes of the host's canonical JSON (§5 fixes the field order: slot, then kind); every other
 * part is found when an accessor asks for it, and what one accessor skips over is not skipped
 * again by the next. Input that is not canonical JSON (a hand-made test input) is parsed as any
 * JSON instead. Use the accessors for everything but kind and is_extension. */
typedef struct {
    solti_json json;   /* the whole TaskSpec, as the host sent it */
    solti_str kind;    /* the kind's name: an extension's type, or subprocess, wasm, ... */
    bool is_extension;
    /* Private: positions found so far, filled on demand through a const pointer (the spec
     * object itself is never const). */
    const char *solti__body_at; /* the kind's body value ({"mode",...}, {"type",...}); NULL for "embedded" */
    const char *solti__spec_at; /* canonical: the extension's spec value; NULL when it has none */
    const char *solti__rest;    /* after the kind's value: the members that follow it */
    bool solti__canonical, solti__body_done, solti__ext_done;
    solti_json solti__body, solti__ext;
} solti_spec;

/* solti__lit returns p after the literal lit if p starts with it, else NULL. */
SOLTI_API const char *solti__lit(const char *p, const char *end, const char *lit) {
    for (; *lit; lit++, p++)
        if (p >= end || *p != *lit) return NULL;
    return p;
}

/* solti__lit8 is solti__lit for a key of exactly 8 bytes (the canonical keys the kind scan
 * looks for): one unaligned 8-byte load and compare instead of a byte loop. */
SOLTI_API const char *solti__lit8(const char *p, const char *end, const char *lit) {
    uint64_t a, b;
    if (end - p < 8) return NULL;
    __builtin_memcpy(&a, p, 8);
    __builtin_memcpy(&b, lit, 8);
    return a == b ? p + 8 : NULL;
}

/* solti__plain reads an escape-free string at p (kind names, run ids and runner names never
 * hold escapes) into *out, as a slice of the input; returns the end of the literal or NULL. */
SOLTI_API const char *solti__plain(const char *p, const char *end, solti_str *out) {
    if (p >= end || *p != '"') return NULL;
    const char *s = ++p;
    for (; p < end; p++) {
        if (*p == '\\') return NULL;
        if (*p == '"') {
            *out = (solti_str){s, (size_t)(p - s)};
            return p + 1;
        }
    }
    return NULL;
}

/* solti__spec_canonical reads the kind of canonical JSON:
 * {"slot":"s","kind":"embedded",...}, {"slot":"s","kind":{"tag":B},...} or
 * {"slot":"s","kind":{"extension":{"type":"t","spec":V}},...}. It reads nothing past the
 * kind's name (and the extension's "spec" key). */
SOLTI_API bool solti__spec_canonical(solti_spec *s) {
    const char *p = s->json.ptr, *end = p + s->json.len;
    if (!(p = solti__lit8(p, end, "{\"slot\":")) || !(p = solti__skip_string(p, end)) || !(p = solti__lit8(p, end, ",\"kind\":")))
        return false;
    if (p < end && *p == '"') { /* "embedded" */
        if (!(p = solti__plain(p, end, &s->kind))) return false;
        s->solti__rest = p;
        s->solti__body_done = s->solti__ext_done = true;
        return true;
    }
    solti_str tag;
    if (!(p = solti__lit(p, end, "{")) || !(p = solti__plain(p, end, &tag)) || !(p = solti__lit(p, end, ":"))) return false;
    s->solti__body_at = p;
    if (!(tag.len == 9 && solti__memeq(tag.ptr, "extension", 9))) {
        s->kind = tag;
        s->solti__ext_done = true;
        return true;
    }
    s->is_extension = true;
    if (!(p = solti__lit8(p, end, "{\"type\":")) || !(p = solti__plain(p, end, &s->kind))) return false;
    if (p < end && *p == ',') {
        if (!(p = solti__lit8(p, end, ",\"spec\":"))) return false;
        s->solti__spec_at = p;
    } else if (p >= end || *p != '}') {
        return false;
    }
    return true;
}

/* solti__spec_general reads any JSON spec (whole-document checks, then the kind). */
SOLTI_API bool solti__spec_general(solti_spec *s) {
    solti_json json = solti_json_parse(s->json.ptr, s->json.len);
    *s = (solti_spec){.json = json, .kind = {"", 0}, .solti__body_done = true};
    if (solti_json_type(json) != 'o') return false;
    solti_json kind = solti_json_get(json, "kind");
    if (solti_json_type(kind) == 's') return s->solti__ext_done = true, solti_json_string(kind, &s->kind);
    solti_json_iter it = solti_json_iter_of(kind);
    solti_json k, body;
    if (!solti_json_next(&it, &k, &body)) return false;
    s->solti__body = body;
    if (solti__key_is(k, "extension")) {
        s->is_extension = true;
        return solti_json_string(solti_json_get(body, "type"), &s->kind);
    }
    s->solti__ext_done = true;
    s->kind = (solti_str){k.ptr + 1, k.len - 2};
    return true;
}

SOLTI_API bool solti__spec_init(solti_spec *s, solti_json json) {
    *s = (solti_spec){.json = json, .kind = {"", 0}};
    if (json.ptr && solti__spec_canonical(s)) return s->solti__canonical = true;
    *s = (solti_spec){.json = json};
    return solti__spec_general(s);
}

SOLTI_API bool solti_spec_kind_is(const solti_spec *s, const char *kind) { return solti_str_eq(s->kind, kind); }

/* The kind's body: {"mode":...} for subprocess, {"type":...,"spec":...} for an extension;
 * missing for "embedded". */
SOLTI_API solti_json solti_spec_kind_body(const solti_spec *cs) {
    solti_spec *s = (solti_spec *)cs;
    if (!s->solti__body_done) {
        s->solti__body_done = true;
        const char *end = s->json.ptr + s->json.len;
        const char *q = solti__skip(s->solti__body_at, end, 1);
        if (q) {
            s->solti__body = (solti_json){s->solti__body_at, (size_t)(q - s->solti__body_at)};
            if (q < end && *q == '}') s->solti__rest = q + 1; /* the kind object's end */
        }
    }
    return s->solti__body;
}

/* The extension kind's spec (free JSON); missing if none. */
SOLTI_API solti_json solti_spec_ext(const solti_spec *cs) {
    solti_spec *s = (solti_spec *)cs;
    if (!s->solti__ext_done) {
        s->solti__ext_done = true;
        if (!s->solti__canonical) {
            s->solti__ext = solti_json_get(s->solti__body, "spec");
        } else if (s->solti__spec_at) {
            const char *end = s->json.ptr + s->json.len;
            const char *q = solti__skip(s->solti__spec_at, end, 2);
            if (q) {
                s->solti__ext = (solti_json){s->solti__spec_at, (size_t)(q - s->solti__spec_at)};
                if (!s->solti__body_done && (q = solti__lit(q, end, "}"))) { /* the body ends with the spec */
                    s->solti__body_done = true;
                    s->solti__body = (solti_json){s->solti__body_at, (size_t)(q - s->solti__body_at)};
                    if (q < end && *q == '}') s->solti__rest = q + 1;
                }
            }
        }
    }
    return s->solti__ext;
}

/* solti__spec_member returns a top-level member of the spec other than slot and kind: in
 * canonical JSON it looks only past the kind, which it skips at most once per call. */
SOLTI_API solti_json solti__spec_member(const solti_spec *s, const char *key) {
    if (!s->solti__canonical) return solti_json_get(s->json, key);
    if (!s->solti__rest) solti_spec_kind_body(s);
    const char *p = s->solti__rest, *end = s->json.ptr + s->json.len;
    if (!p) return solti_json_null();
    /* p is at ",\"key\":value" or at the closing brace. */
    while (p < end && *p == ',') {
        const char *k = p + 1, *q = solti__skip_string(k, end);
        if (!q || q >= end || *q != ':') return solti_json_null();
        const char *v = q + 1, *ve = solti__skip(v, end, 1);
        if (!ve) return solti_json_null();
        if (solti__key_is((solti_json){k, (size_t)(q - k)}, key)) return (solti_json){v, (size_t)(ve - v)};
        p = ve;
    }
    return solti_json_null();
}

SOLTI_API solti_str solti_spec_slot(const solti_spec *s) {
    solti_str out = {"", 0};
    solti_json_string(solti_json_get(s->json, "slot"), &out); /* the first member: nothing to skip */
    return out;
}
/* Timeout per attempt in ms (0 if absent). */
SOLTI_API int64_t solti_spec_timeout_ms(const solti_spec *s) {
    int64_t t = 0;
    solti_json_int(solti__spec_member(s, "timeout"), &t);
    return t;
}
/* The labels object (missing if none); iterate it with solti_json_iter_of. */
SOLTI_API solti_json solti_spec_labels(const solti_spec *s) { return solti__spec_member(s, "labels"); }
/* One label; ptr NULL if absent. */
SOLTI_API solti_str solti_spec_label(const solti_spec *s, const char *key) {
    solti_str out = {NULL, 0};
    if (!solti_json_string(solti_json_get(solti_spec_labels(s), key), &out)) out.ptr = NULL;
    return out;
}

/* The input of build (§5.2). env is an object of strings (missing if empty). */
typedef struct {
    solti_str run_id, runner;
    solti_json env;
    solti_spec spec;
} solti_build_req;

/* The input of run (§5.6). payload is missing when the plan had none. */
typedef struct {
    solti_str run_id;
    int64_t attempt;
    solti_json env, payload;
} solti_run_req;

/* ---- outputs ----------------------------------------------------------------------------- */

/* solti_fail writes a structured error (§5.5) to out and returns 1, build's and run's failure
 * code: `return solti_fail(out, SOLTI_INVALID_SPEC, "ops[2]: unknown op");` */
SOLTI_API int solti_fail_str(solti_buf *out, const char *code, solti_str message) {
    out->len = 0;
    solti_buf_cat(out, "{\"code\":");
    solti_buf_json_cstr(out, code);
    solti_buf_cat(out, ",\"message\":");
    solti_buf_json_str(out, message);
    solti_buf_char(out, '}');
    return 1;
}
SOLTI_API int solti_fail(solti_buf *out, const char *code, const char *message) {
    return solti_fail_str(out, code, solti_cstr(message));
}

/* Plans (§5.3). */
SOLTI_API void solti_plan_guest(solti_buf *out, solti_json payload) {
    out->len = 0;
    solti_buf_cat(out, "{\"guest\":{");
    if (solti_json_ok(payload)) {
        solti_buf_cat(out, "\"payload\":");
        solti_buf_raw(out, payload.ptr, payload.len);
    }
    solti_buf_cat(out, "}}");
}
/* An exec plan; env is a JSON object of strings or missing; cwd may be NULL. */
SOLTI_API void solti_plan_exec(solti_buf *out, const char *command, const solti_str *args, size_t nargs,
                               solti_json env, const char *cwd, bool fail_on_non_zero) {
    out->len = 0;
    solti_buf_cat(out, "{\"exec\":{\"command\":");
    solti_buf_json_cstr(out, command);
    solti_buf_cat(out, ",\"args\":[");
    for (size_t i = 0; i < nargs; i++) {
        if (i) solti_buf_char(out, ',');
        solti_buf_json_str(out, args[i]);
    }
    solti_buf_cat(out, "],\"env\":");
    if (solti_json_type(env) == 'o') solti_buf_raw(out, env.ptr, env.len); else solti_buf_cat(out, "{}");
    solti_buf_cat(out, ",\"cwd\":");
    solti_buf_json_cstr(out, cwd ? cwd : "");
    solti_buf_cat(out, fail_on_non_zero ? ",\"failOnNonZero\":true}}" : ",\"failOnNonZero\":false}}");
}
/* A wasi plan (a WASI command module given args only). */
SOLTI_API void solti_plan_wasi(solti_buf *out, const char *module, const solti_str *args, size_t nargs) {
    out->len = 0;
    solti_buf_cat(out, "{\"wasi\":{\"module\":");
    solti_buf_json_cstr(out, module);
    solti_buf_cat(out, ",\"args\":[");
    for (size_t i = 0; i < nargs; i++) {
        if (i) solti_buf_char(out, ',');
        solti_buf_json_str(out, args[i]);
    }
    solti_buf_cat(out, "]}}");
}

/* ---- logging ----------------------------------------------------------------------------- */

SOLTI_API void solti_log_str(int level, solti_str msg) { solti__log(level, msg.ptr, (uint32_t)msg.len); }
SOLTI_API void solti_log(int level, const char *msg) { solti_log_str(level, solti_cstr(msg)); }
/* solti_log_kv logs one record "msg key=value", a logfmt pair as the Go, Rust and
 * AssemblyScript SDKs write them, the value quoted (JSON style) when it is empty or holds a
 * space, '"', '=', '\\' or a control byte. Runners log the run's id this way, so that a record
 * can be traced to its run: solti_log_kv(SOLTI_INFO, "greeting", "runId", r->run_id). */
SOLTI_API void solti_log_kv(int level, const char *msg, const char *key, solti_str value) {
    solti_buf b = {0};
    solti_buf_cat(&b, msg);
    solti_buf_char(&b, ' ');
    solti_buf_cat(&b, key);
    solti_buf_char(&b, '=');
    bool quote = value.len == 0;
    for (size_t i = 0; i < value.len && !quote; i++) {
        unsigned char c = (unsigned char)value.ptr[i];
        quote = c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f;
    }
    if (quote) solti_buf_json_str(&b, value); else solti_buf_raw(&b, value.ptr, value.len);
    solti_log_str(level, (solti_str){b.ptr, b.len});
}

/* ---- live output ------------------------------------------------------------------------- */

/* solti_emit streams text live to SOLTI_STDOUT or SOLTI_STDERR during run: the host splits it
 * at newlines (a trailing newline ends the last line) and hands each line to whoever
 * supervises the task (solti-wasm run prints them). Lines are not the run's result; outside
 * run the host logs them at debug level. At most 10 000 lines per call are kept, each at most
 * SOLTI_MAX_LINE_BYTES (longer ones are truncated). Build a formatted line in a solti_buf and
 * emit it with solti_emit_str(stream, (solti_str){b.ptr, b.len}). */
SOLTI_API void solti_emit_str(int stream, solti_str text) { solti__emit(stream, text.ptr ? text.ptr : "", (uint32_t)text.len); }
SOLTI_API void solti_emit(int stream, const char *text) { solti_emit_str(stream, solti_cstr(text)); }

/* ---- the runner -------------------------------------------------------------------------- */

typedef struct {
    /* 1-64 characters of [A-Za-z0-9._-]. */
    const char *name;
    /* A Description (§5.4) as JSON, e.g. {"version":"1.0.0","kinds":["x"]}; NULL: none. */
    const char *describe_json;
    /* 1 yes, 0 no; negative: a fault, with an error written by solti_fail to err. */
    int (*supports)(const solti_spec *spec, solti_buf *err);
    /* 0 with a plan in out (solti_plan_*), or non-zero with an error (solti_fail). */
    int (*build)(const solti_build_req *req, solti_buf *out);
    /* 0 with the task's result bytes in out, or non-zero with an error; NULL: no run. */
    int (*run)(const solti_run_req *req, solti_buf *out);
} solti_runner;

SOLTI_API solti_json solti__read_input(int32_t len) {
    solti__arena_reset();
    if (len <= 0) return (solti_json){"", 0};
    char *p = (char *)solti_alloc((size_t)len);
    solti__input(p);
    return (solti_json){p, (size_t)len};
}

SOLTI_API int32_t solti__reply(int32_t rc, solti_buf *out) {
    if (out->len > SOLTI_MAX_OUTPUT_BYTES) {
        solti_buf e = {0};
        solti_fail(&e, SOLTI_INTERNAL, "output exceeds the ABI limit of 1 MiB");
        *out = e;
        if (rc == 0) rc = 1;
    }
    solti__output(out->ptr ? out->ptr : "", (uint32_t)out->len);
    return rc;
}

SOLTI_API int32_t solti__export_name(const solti_runner *r) {
    solti__arena_reset();
    solti__output(r->name, (uint32_t)solti_strlen(r->name));
    return 0;
}
SOLTI_API int32_t solti__export_describe(const solti_runner *r) {
    const char *d = r->describe_json ? r->describe_json : "{}";
    solti__output(d, (uint32_t)solti_strlen(d));
    return 0;
}
SOLTI_API int32_t solti__export_supports(const solti_runner *r, int32_t len) {
    solti_spec spec;
    solti_buf err = {0};
    if (!solti__spec_init(&spec, solti__read_input(len))) {
        solti_fail(&err, SOLTI_INTERNAL, "supports input: not a task spec");
        return solti__reply(-1, &err);
    }
    int rc = r->supports(&spec, &err);
    if (rc < 0) return solti__reply(rc, &err);
    return rc ? 1 : 0;
}

/* solti__cstr_copy copies a string into the arena, NUL-terminated, as solti_json_string's
 * results are. */
SOLTI_API solti_str solti__cstr_copy(solti_str v) {
    char *p = (char *)solti_alloc(v.len + 1);
    if (v.len) __builtin_memcpy(p, v.ptr, v.len);
    p[v.len] = 0;
    return (solti_str){p, v.len};
}

/* solti__build_canonical reads a canonical BuildInput,
 * {"runId":"r","runner":"n"[,"env":{...}],"spec":S}: S is the rest but the closing brace. */
SOLTI_API bool solti__build_canonical(solti_json in, solti_build_req *req) {
    const char *p = in.ptr, *end = in.ptr + in.len;
    solti_str id, runner;
    if (!(p = solti__lit(p, end, "{\"runId\":")) || !(p = solti__plain(p, end, &id)) || !(p = solti__lit(p, end, ",\"runner\":")) ||
        !(p = solti__plain(p, end, &runner)))
        return false;
    req->env = solti_json_null();
    if (solti__lit(p, end, ",\"env\":")) {
        const char *v = p + 7, *q = solti__skip(v, end, 1);
        if (!q) return false;
        req->env = (solti_json){v, (size_t)(q - v)};
        p = q;
    }
    if (!(p = solti__lit(p, end, ",\"spec\":")) || end - p < 2 || end[-1] != '}') return false;
    req->run_id = solti__cstr_copy(id);
    req->runner = solti__cstr_copy(runner);
    return solti__spec_init(&req->spec, (solti_json){p, (size_t)(end - 1 - p)});
}

SOLTI_API int32_t solti__export_build(const solti_runner *r, int32_t len) {
    solti_json in = solti__read_input(len);
    solti_build_req req;
    solti_buf out = {0};
    if (!in.len || !solti__build_canonical(in, &req)) {
        solti_json v = solti_json_parse(in.ptr, in.len);
        req.env = solti_json_get(v, "env");
        if (!solti__spec_init(&req.spec, solti_json_get(v, "spec")) || !solti_json_string(solti_json_get(v, "runId"), &req.run_id) ||
            !solti_json_string(solti_json_get(v, "runner"), &req.runner))
            return solti__reply(solti_fail(&out, SOLTI_INTERNAL, "build input: not a BuildInput"), &out);
    }
    int rc = r->build(&req, &out);
    if (rc == 0 && solti_json_type(solti_json_parse(out.ptr, out.len)) != 'o')
        rc = solti_fail(&out, SOLTI_INTERNAL, "build wrote a plan that is not a JSON object");
    return solti__reply(rc, &out);
}

/* solti__run_canonical reads a canonical RunInput,
 * {"runId":"r","attempt":N[,"env":{...}][,"payload":P]}: P is the rest but the closing brace. */
SOLTI_API bool solti__run_canonical(solti_json in, solti_run_req *req) {
    const char *p = in.ptr, *end = in.ptr + in.len;
    solti_str id;
    if (!(p = solti__lit(p, end, "{\"runId\":")) || !(p = solti__plain(p, end, &id)) || !(p = solti__lit(p, end, ",\"attempt\":")))
        return false;
    const char *a = p;
    while (p < end && *p >= '0' && *p <= '9') p++;
    if (!solti_json_int((solti_json){a, (size_t)(p - a)}, &req->attempt)) return false;
    req->env = req->payload = solti_json_null();
    if (solti__lit(p, end, ",\"env\":")) {
        const char *v = p + 7, *q = solti__skip(v, end, 1);
        if (!q) return false;
        req->env = (solti_json){v, (size_t)(q - v)};
        p = q;
    }
    if (solti__lit(p, end, ",\"payload\":")) {
        p += 11;
        if (end - p < 2 || end[-1] != '}') return false;
        req->payload = (solti_json){p, (size_t)(end - 1 - p)};
    } else if (end - p != 1 || *p != '}') {
        return false;
    }
    req->run_id = solti__cstr_copy(id);
    return true;
}

SOLTI_API int32_t solti__export_run(const solti_runner *r, int32_t len) {
    solti_json in = solti__read_input(len);
    solti_run_req req = {{"", 0}, 1, solti_json_null(), solti_json_null()};
    solti_buf out = {0};
    if (!r->run) return solti__reply(solti_fail(&out, SOLTI_INTERNAL, "runner has no run"), &out);
    if (!in.len || !solti__run_canonical(in, &req)) {
        solti_json v = solti_json_parse(in.ptr, in.len);
        req = (solti_run_req){{"", 0}, 1, solti_json_get(v, "env"), solti_json_get(v, "payload")};
        if (!solti_json_string(solti_json_get(v, "runId"), &req.run_id))
            return solti__reply(solti_fail(&out, SOLTI_INTERNAL, "run input: not a RunInput"), &out);
        solti_json_int(solti_json_get(v, "attempt"), &req.attempt);
    }
    return solti__reply(r->run(&req, &out), &out);
}

/* SOLTI_EXPORT_RUNNER(.name = ..., .supports = ..., ...) defines the ABI exports for the
 * solti_runner with those fields; use it once, at file scope. */
#define SOLTI__EXPORT(name) __attribute__((export_name(name), visibility("default")))
#define SOLTI_EXPORT_RUNNER(...)                                                                      \
    static const solti_runner solti__the_runner = {__VA_ARGS__};                                     \
    SOLTI__EXPORT("solti_abi_v1") void solti__abi_v1(void) {}                                        \
    SOLTI__EXPORT("name") int32_t solti__name(void) { return solti__export_name(&solti__the_runner); } \
    SOLTI__EXPORT("describe") int32_t solti__describe(void) { return solti__export_describe(&solti__the_runner); } \
    SOLTI__EXPORT("supports") int32_t solti__supports(int32_t n) { return solti__export_supports(&solti__the_runner, n); } \
    SOLTI__EXPORT("build") int32_t solti__build(int32_t n) { return solti__export_build(&solti__the_runner, n); } \
    SOLTI__EXPORT("run") int32_t solti__run(int32_t n) { return solti__export_run(&solti__the_runner, n); }

#ifdef __cplusplus
}
#endif

#endif /* SOLTI_H */
