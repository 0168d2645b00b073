/* The C SDK's kind-check runner for tests/sdkbench: supports checks the kind only; build plans
 * the extension spec as the guest payload; run returns the payload. */
#include "solti.h"

static int supports(const solti_spec *s, solti_buf *err) {
    (void)err;
    return solti_spec_kind_is(s, "bench");
}

static int build(const solti_build_req *r, solti_buf *out) {
    solti_plan_guest(out, solti_spec_ext(&r->spec));
    return 0;
}

static int run(const solti_run_req *r, solti_buf *out) {
    if (solti_json_ok(r->payload)) solti_buf_raw(out, r->payload.ptr, r->payload.len);
    return 0;
}

SOLTI_EXPORT_RUNNER(.name = "bench-c-sdk", .supports = supports, .build = build, .run = run)
