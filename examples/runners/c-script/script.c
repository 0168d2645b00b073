/*
 * c-script: a solti-wasm runner (C SDK, freestanding) for the extension kind "script".
 *
 * Spec: {"runtime":"sh","body":"echo \"hello $1\"","args":["world"],"cwd":"/tmp"}
 * Build checks the runtime against an allow-list (sh, bash, python3), the body (not empty, at
 * most 64 KiB) and the args, and plans an exec of `RUNTIME -c BODY [NAME] ARGS...` with the
 * build's env. Build with, from the repository root:
 *
 *     clang --target=wasm32 -O2 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,--strip-all -Iguest-sdk/c -o examples/runners/c-script.wasm examples/runners/c-script/script.c
 */
#include "solti.h"

#define MAX_BODY (64u << 10)
#define MAX_ARGS 64

/* the runtimes allowed, and whether $0 must be given before the args (sh-like shells) */
static const struct {
    const char *name;
    bool dollar0;
} allowed[] = {{"sh", true}, {"bash", true}, {"python3", false}};

static int supports(const solti_spec *s, solti_buf *err) {
    (void)err;
    return solti_spec_kind_is(s, "script");
}

static int build(const solti_build_req *r, solti_buf *out) {
    solti_json spec = solti_spec_ext(&r->spec);
    if (solti_json_type(spec) != 'o') return solti_fail(out, SOLTI_MISSING_FIELD, "body");

    solti_json_iter it = solti_json_iter_of(spec);
    solti_json key;
    while (solti_json_next(&it, &key, NULL)) {
        solti_str k;
        solti_json_string(key, &k);
        if (!solti_str_eq(k, "runtime") && !solti_str_eq(k, "body") && !solti_str_eq(k, "args") && !solti_str_eq(k, "cwd")) {
            solti_buf m = {0};
            solti_buf_cat(&m, "unknown field ");
            solti_buf_json_str(&m, k);
            return solti_fail_str(out, SOLTI_INVALID_SPEC, (solti_str){m.ptr, m.len});
        }
    }

    solti_str runtime = solti_cstr("sh"), body, cwd = solti_cstr("");
    solti_json v = solti_json_get(spec, "runtime");
    if (solti_json_ok(v) && !solti_json_string(v, &runtime)) return solti_fail(out, SOLTI_INVALID_SPEC, "runtime: want a string");
    int which = -1;
    for (int i = 0; i < (int)(sizeof allowed / sizeof allowed[0]); i++)
        if (solti_str_eq(runtime, allowed[i].name)) which = i;
    if (which < 0) {
        solti_buf m = {0};
        solti_buf_cat(&m, "runtime ");
        solti_buf_json_str(&m, runtime);
        solti_buf_cat(&m, " is not allowed (allowed: sh, bash, python3)");
        return solti_fail_str(out, SOLTI_INVALID_SPEC, (solti_str){m.ptr, m.len});
    }
    if (!solti_json_string(solti_json_get(spec, "body"), &body)) return solti_fail(out, SOLTI_MISSING_FIELD, "body");
    if (body.len == 0) return solti_fail(out, SOLTI_INVALID_SPEC, "body is empty");
    if (body.len > MAX_BODY) return solti_fail(out, SOLTI_INVALID_SPEC, "body is over 64 KiB");
    v = solti_json_get(spec, "cwd");
    if (solti_json_ok(v) && !solti_json_string(v, &cwd)) return solti_fail(out, SOLTI_INVALID_SPEC, "cwd: want a string");

    solti_str args[MAX_ARGS + 3];
    size_t n = 0;
    args[n++] = solti_cstr("-c");
    args[n++] = body;
    if (allowed[which].dollar0) args[n++] = solti_cstr("script");
    solti_json list = solti_json_get(spec, "args");
    if (solti_json_ok(list)) {
        if (solti_json_type(list) != 'a') return solti_fail(out, SOLTI_INVALID_SPEC, "args: want an array of strings");
        solti_json_iter ai = solti_json_iter_of(list);
        solti_json a;
        while (solti_json_next(&ai, NULL, &a)) {
            if (n == MAX_ARGS + 3) return solti_fail(out, SOLTI_INVALID_SPEC, "args: at most 64");
            if (!solti_json_string(a, &args[n++])) return solti_fail(out, SOLTI_INVALID_SPEC, "args: want an array of strings");
        }
    }
    /* solti_plan_exec takes C strings for the command and cwd: both were decoded NUL-terminated. */
    solti_plan_exec(out, allowed[which].name, args, n, r->env, cwd.ptr, true);
    solti_log_kv(SOLTI_DEBUG, "planned a script", "runId", r->run_id);
    return 0;
}

SOLTI_EXPORT_RUNNER(
    .name = "c-script",
    .describe_json = "{\"version\":\"0.1.0\",\"kinds\":[\"script\"],\"labels\":{\"example\":\"script\",\"lang\":\"c\"},"
                     "\"description\":\"runs a script with an allowed runtime (sh, bash, python3) as an exec plan\"}",
    .supports = supports,
    .build = build)
