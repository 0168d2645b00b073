/* The floor of tests/sdkbench in C, without the SDK: supports copies the input into a static
 * buffer and compares the canonical prefix {"slot":"...","kind":{"extension":{"type":"bench"
 * by hand (ABI §5 fixes the field order). */
#include <stdint.h>

__attribute__((import_module("solti"), import_name("input"))) void solti_input(void *dst);
__attribute__((import_module("solti"), import_name("output"))) void solti_output(const void *p, uint32_t n);

#define EXPORT(name) __attribute__((export_name(name), visibility("default")))

static char buf[1 << 16];

static int lit(const char *p, const char *end, const char *s, const char **next) {
    for (; *s; s++, p++)
        if (p >= end || *p != *s) return 0;
    *next = p;
    return 1;
}

EXPORT("solti_abi_v1") void abi_v1(void) {}

EXPORT("name") int32_t name(void) {
    solti_output("bench-c-raw", 11);
    return 0;
}

EXPORT("supports") int32_t supports(int32_t n) {
    if (n <= 0 || n > (int32_t)sizeof buf) return 0;
    solti_input(buf);
    const char *p = buf, *end = buf + n;
    if (!lit(p, end, "{\"slot\":\"", &p)) return 0;
    while (p < end && *p != '"') p++;
    return lit(p, end, "\",\"kind\":{\"extension\":{\"type\":\"bench\"", &p);
}

EXPORT("build") int32_t build(int32_t n) {
    (void)n;
    solti_output("{\"guest\":{}}", 12);
    return 0;
}
