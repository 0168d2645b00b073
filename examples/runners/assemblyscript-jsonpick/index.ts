// assemblyscript-jsonpick: a solti-wasm runner (AssemblyScript SDK) for the extension kind
// "json-pick", a JSON transform run as a guest plan.
//
// Spec: {"data":{"user":{"name":"ada","langs":["go","rust"]}},"pick":["user.name","user.langs.1","nope"]}
// Build checks the paths (dot-separated keys; array indexes as numbers) and plans a guest run;
// run answers {"picked":{"user.name":"ada","user.langs.1":"rust"},"missing":["nope"]}.
// Build with, from the repository root (after npm ci in guest-sdk/assemblyscript):
//
//   guest-sdk/assemblyscript/node_modules/.bin/asc examples/runners/assemblyscript-jsonpick/index.ts -O3 --runtime incremental --use abort= --noAssert -o examples/runners/assemblyscript-jsonpick.wasm
import {
  BuildRequest, Description, INVALID_SPEC, JsonKind, JsonValue, MISSING_FIELD, Output, Plan,
  RunRequest, Runner, Spec, debug, register,
} from "../../../guest-sdk/assemblyscript/assembly/index";

const MAX_PATHS = 256;

/** The value at a dot-separated path, or null. */
function pick(v: JsonValue, path: string): JsonValue | null {
  const parts = path.split(".");
  let cur: JsonValue | null = v;
  for (let i = 0; i < parts.length && cur !== null; i++) {
    const c = changetype<JsonValue>(cur);
    const part = parts[i];
    if (c.kind == JsonKind.Array) {
      const n = I32.parseInt(part);
      cur = part.length > 0 && n.toString() == part && n >= 0 && n < c.items.length ? c.items[n] : null;
    } else {
      cur = c.get(part);
    }
  }
  return cur;
}

class JsonPick extends Runner {
  name(): string { return "assemblyscript-jsonpick"; }

  describe(): Description {
    const d = new Description();
    d.version = "0.1.0";
    d.kinds = ["json-pick"];
    d.labels.set("lang", "assemblyscript");
    d.labels.set("example", "jsonpick");
    d.description = "picks fields out of a JSON document by path (guest plan)";
    return d;
  }

  supports(spec: Spec): bool { return spec.kind == "json-pick"; }

  build(req: BuildRequest): Plan {
    const spec = req.spec.extensionSpec;
    if (spec === null || !spec.isObject()) return Plan.fail(MISSING_FIELD, "pick");
    for (let i = 0; i < spec.keys.length; i++) {
      const k = spec.keys[i];
      if (k != "data" && k != "pick") return Plan.fail(INVALID_SPEC, "unknown field \"" + k + "\"");
    }
    const paths = spec.get("pick");
    if (paths === null) return Plan.fail(MISSING_FIELD, "pick");
    if (paths.kind != JsonKind.Array || paths.items.length == 0) return Plan.fail(INVALID_SPEC, "pick: want a non-empty array of paths");
    if (paths.items.length > MAX_PATHS) return Plan.fail(INVALID_SPEC, "pick: at most 256 paths");
    for (let i = 0; i < paths.items.length; i++) {
      const p = paths.items[i];
      if (p.kind != JsonKind.String || p.text.length == 0 || p.text.startsWith(".") || p.text.endsWith(".") || p.text.includes(".."))
        return Plan.fail(INVALID_SPEC, "pick[" + i.toString() + "]: want a path like \"a.b.0\"");
    }
    const data = spec.get("data");
    const payload = JsonValue.object().set("data", data !== null ? data : JsonValue.null()).set("pick", paths);
    return Plan.guest(payload);
  }

  run(req: RunRequest): Output {
    const p = req.payload;
    if (p === null) return Output.fail(MISSING_FIELD, "payload");
    const data = p.get("data");
    const paths = p.get("pick");
    if (data === null || paths === null) return Output.fail(INVALID_SPEC, "payload: want {data, pick}");
    const picked = JsonValue.object();
    const missing = JsonValue.array();
    for (let i = 0; i < paths.items.length; i++) {
      const path = paths.items[i].text;
      const v = pick(data, path);
      if (v === null) missing.items.push(JsonValue.string(path));
      else picked.set(path, v);
    }
    debug("picked " + picked.keys.length.toString() + " of " + paths.items.length.toString() + " paths");
    return Output.json(JsonValue.object().set("picked", picked).set("missing", missing));
  }
}

register(new JsonPick());

export * from "../../../guest-sdk/assemblyscript/assembly/exports";
