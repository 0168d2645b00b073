/* The conformance runner in C: the contract is tests/conformance/README.md. */
#include "solti.h"

static int supports(const solti_spec *s, solti_buf *err) {
    solti_str mode = solti_spec_label(s, "conformance");
    if (solti_str_eq(mode, "error")) return solti_fail(err, SOLTI_INTERNAL, "supports failed on request"), -1;
    if (solti_str_eq(mode, "refuse")) return 0;
    return solti_spec_kind_is(s, "conformance");
}

static void field(solti_buf *b, const char *key, solti_json v) {
    solti_buf_json_cstr(b, key);
    solti_buf_char(b, ':');
    if (solti_json_ok(v)) solti_buf_raw(b, v.ptr, v.len); else solti_buf_cat(b, "null");
}

/* copies a JSON object of strings, decoding and re-encoding every string */
static void strmap(solti_buf *b, const char *key, solti_json obj) {
    solti_buf_json_cstr(b, key);
    solti_buf_cat(b, ":{");
    solti_json_iter it = solti_json_iter_of(obj);
    solti_json k, v;
    solti_str ks, vs;
    for (int i = 0; solti_json_next(&it, &k, &v); i++) {
        if (!solti_json_string(k, &ks) || !solti_json_string(v, &vs)) continue;
        if (i) solti_buf_char(b, ',');
        solti_buf_json_str(b, ks);
        solti_buf_char(b, ':');
        solti_buf_json_str(b, vs);
    }
    solti_buf_char(b, '}');
}

static int build(const solti_build_req *r, solti_buf *out) {
    solti_json spec = solti_spec_ext(&r->spec);
    solti_str op, text;
    if (!solti_json_ok(spec)) return solti_fail(out, SOLTI_MISSING_FIELD, "spec");
    if (!solti_json_string(solti_json_get(spec, "op"), &op)) return solti_fail(out, SOLTI_MISSING_FIELD, "op");
    if (solti_str_eq(op, "echo")) {
        if (!solti_json_string(solti_json_get(spec, "text"), &text)) return solti_fail(out, SOLTI_MISSING_FIELD, "text");
        solti_buf p = {0};
        solti_buf_cat(&p, "{\"runId\":");
        solti_buf_json_str(&p, r->run_id);
        solti_buf_cat(&p, ",\"runner\":");
        solti_buf_json_str(&p, r->runner);
        solti_buf_cat(&p, ",\"slot\":");
        solti_buf_json_str(&p, solti_spec_slot(&r->spec));
        solti_buf_cat(&p, ",\"timeout\":");
        solti_buf_int(&p, solti_spec_timeout_ms(&r->spec));
        solti_buf_char(&p, ',');
        strmap(&p, "labels", solti_spec_labels(&r->spec));
        solti_buf_char(&p, ',');
        strmap(&p, "env", r->env);
        solti_buf_cat(&p, ",\"text\":");
        solti_buf_json_str(&p, text);
        solti_buf_char(&p, ',');
        field(&p, "value", solti_json_get(spec, "value"));
        solti_buf_char(&p, '}');
        solti_plan_guest(out, (solti_json){p.ptr, p.len});
        return 0;
    }
    if (solti_str_eq(op, "error")) {
        solti_str code = {"", 0}, msg = {"", 0};
        solti_json_string(solti_json_get(spec, "code"), &code);
        solti_json_string(solti_json_get(spec, "message"), &msg);
        return solti_fail_str(out, code.ptr, msg);
    }
    if (solti_str_eq(op, "trap")) __builtin_trap();
    if (solti_str_eq(op, "badplan")) {
        solti_plan_exec(out, "", NULL, 0, solti_json_null(), NULL, true);
        return 0;
    }
    if (solti_str_eq(op, "log")) {
        solti_log(SOLTI_DEBUG, "conformance debug");
        solti_log(SOLTI_INFO, "conformance info");
        solti_log(SOLTI_WARN, "conformance warn");
        solti_log(SOLTI_ERROR, "conformance error");
        solti_plan_guest(out, solti_json_null());
        return 0;
    }
    solti_buf m = {0};
    solti_buf_cat(&m, "unknown op ");
    solti_buf_raw(&m, op.ptr, op.len);
    return solti_fail_str(out, SOLTI_INVALID_SPEC, (solti_str){m.ptr, m.len});
}

static int run(const solti_run_req *r, solti_buf *out) {
    solti_str msg;
    solti_json emit = solti_json_get(r->payload, "emit");
    if (solti_json_type(emit) == 'b' && emit.ptr[0] == 't') {
        solti_emit(SOLTI_STDOUT, "conformance stdout \u2713");
        solti_emit(SOLTI_STDERR, "conformance stderr");
        solti_buf b = {0};
        for (int i = 1; i <= 2; i++) {
            solti_buf_cat(&b, "conformance ");
            solti_buf_int(&b, i);
            solti_buf_char(&b, '\n');
        }
        solti_emit_str(SOLTI_STDOUT, (solti_str){b.ptr, b.len});
    }
    if (solti_json_string(solti_json_get(r->payload, "fail"), &msg)) return solti_fail_str(out, SOLTI_IO, msg);
    solti_buf_cat(out, "{\"runId\":");
    solti_buf_json_str(out, r->run_id);
    solti_buf_cat(out, ",\"attempt\":");
    solti_buf_int(out, r->attempt);
    solti_buf_char(out, ',');
    strmap(out, "env", r->env);
    solti_buf_char(out, ',');
    field(out, "payload", r->payload);
    solti_buf_char(out, '}');
    return 0;
}

SOLTI_EXPORT_RUNNER(
    .name = "conformance-c",
    .describe_json = "{\"version\":\"1.0.0\",\"kinds\":[\"conformance\"],\"labels\":{\"lang\":\"c\",\"suite\":\"conformance\"},"
                     "\"description\":\"solti-wasm conformance runner\"}",
    .supports = supports,
    .build = build,
    .run = run)
