// The conformance runner in AssemblyScript: the contract is tests/conformance/README.md.
import {
  BuildRequest, Description, INTERNAL, INVALID_SPEC, IO, JsonKind, JsonValue, MISSING_FIELD, Output, Plan,
  RunRequest, Runner, Spec, Stream, debug, emit, emitErr, emitTo, error, info, register, supportsError, warn,
} from "../../../../guest-sdk/assemblyscript/assembly/index";

function strMap(m: Map<string, string>): JsonValue {
  const v = JsonValue.object();
  const keys = m.keys().sort();
  for (let i = 0; i < keys.length; i++) v.setString(keys[i], m.get(keys[i]));
  return v;
}

class Conformance extends Runner {
  name(): string { return "conformance-assemblyscript"; }

  describe(): Description {
    const d = new Description();
    d.version = "1.0.0";
    d.kinds = ["conformance"];
    d.labels.set("lang", "assemblyscript");
    d.labels.set("suite", "conformance");
    d.description = "solti-wasm conformance runner";
    return d;
  }

  supports(spec: Spec): bool {
    const mode = spec.label("conformance");
    if (mode == "error") return supportsError(INTERNAL, "supports failed on request");
    if (mode == "refuse") return false;
    return spec.kind == "conformance";
  }

  build(req: BuildRequest): Plan {
    const spec = req.spec.extensionSpec;
    if (spec === null) return Plan.fail(MISSING_FIELD, "spec");
    const op = spec.getString("op");
    if (op === null) return Plan.fail(MISSING_FIELD, "op");
    if (op == "echo") {
      const text = spec.getString("text");
      if (text === null) return Plan.fail(MISSING_FIELD, "text");
      const timeout = req.spec.json.get("timeout");
      const value = spec.get("value");
      const p = JsonValue.object()
        .setString("runId", req.runId)
        .setString("runner", req.runner)
        .setString("slot", req.spec.slot)
        .set("timeout", timeout !== null ? timeout : JsonValue.null())
        .set("labels", strMap(req.spec.labels))
        .set("env", strMap(req.env))
        .setString("text", text)
        .set("value", value !== null ? value : JsonValue.null());
      return Plan.guest(p);
    }
    if (op == "error") {
      const code = spec.getString("code");
      const msg = spec.getString("message");
      return Plan.fail(code !== null ? code : "", msg !== null ? msg : "");
    }
    if (op == "trap") unreachable();
    if (op == "badplan") return Plan.exec("");
    if (op == "log") {
      debug("conformance debug");
      info("conformance info");
      warn("conformance warn");
      error("conformance error");
      return Plan.guest();
    }
    return Plan.fail(INVALID_SPEC, "unknown op " + op);
  }

  run(req: RunRequest): Output {
    const p = req.payload;
    if (p !== null) {
      const e = p.get("emit");
      if (e !== null && e.kind == JsonKind.Bool && e.bool) {
        emit("conformance stdout ✓");
        emitErr("conformance stderr");
        emitTo(Stream.Stdout, "conformance 1\nconformance 2\n");
      }
      const f = p.getString("fail");
      if (f !== null) return Output.fail(IO, f);
    }
    return Output.json(JsonValue.object()
      .setString("runId", req.runId)
      .set("attempt", JsonValue.number(req.attempt))
      .set("env", strMap(req.env))
      .set("payload", p !== null ? p : JsonValue.null()));
  }
}

register(new Conformance());

export * from "../../../../guest-sdk/assemblyscript/assembly/exports";
