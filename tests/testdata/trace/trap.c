/* trap-c: a runner whose supports traps three calls deep, for TestGuestStackTraces, which
 * builds it with and without debug info and checks the stack the host reports. */
#include "solti.h"

__attribute__((noinline)) static int trap_depth3(int x) {
    if (x > 0) __builtin_trap();
    return x;
}
__attribute__((noinline)) static int trap_depth2(int x) { return trap_depth3(x + 1) + 1; }
__attribute__((noinline)) static int trap_depth1(int x) { return trap_depth2(x * 2) + 1; }

static int supports(const solti_spec *s, solti_buf *err) {
    (void)err;
    return trap_depth1((int)s->kind.len) > 0;
}

static int build(const solti_build_req *r, solti_buf *out) {
    (void)r;
    solti_plan_guest(out, solti_json_null());
    return 0;
}

SOLTI_EXPORT_RUNNER(.name = "trap-c", .supports = supports, .build = build)
