// AssemblyScript guest SDK for solti-wasm runner modules, ABI v1 (abi/ABI.md).
//
// A runner extends Runner; the module's entry file registers one instance and re-exports the
// ABI functions:
//
//   register(new Hello());
//   export * from "<sdk>/assembly/exports";
//
// Strings cross the ABI as UTF-8 and are AssemblyScript (UTF-16) strings inside.

import { JsonValue, JsonKind } from "./json";
export { JsonValue, JsonKind, quote } from "./json";

// ---- host imports ---------------------------------------------------------------------------

// @ts-ignore: decorator
@external("solti", "input") declare function hostInput(dst: usize): void;
// @ts-ignore: decorator
@external("solti", "output") declare function hostOutput(ptr: usize, len: u32): void;
// @ts-ignore: decorator
@external("solti", "log") declare function hostLog(level: i32, ptr: usize, len: u32): void;
// Optional (§4): asc compiles only what is reachable, so a module imports emit only if it calls
// emit, emitErr or emitTo, and modules that never emit load on older hosts too.
// @ts-ignore: decorator
@external("solti", "emit") declare function hostEmit(stream: i32, ptr: usize, len: u32): void;

/** The ABI's output limit (1 MiB). */
export const MAX_OUTPUT_BYTES: i32 = 1 << 20;

export function readInput(len: i32): string {
  if (len <= 0) return "";
  const buf = new ArrayBuffer(len);
  hostInput(changetype<usize>(buf));
  return String.UTF8.decode(buf);
}

export function writeOutput(s: string): void {
  const buf = String.UTF8.encode(s);
  hostOutput(changetype<usize>(buf), <u32>buf.byteLength);
}

// ---- logging --------------------------------------------------------------------------------

export const enum Level { Debug = 0, Info = 1, Warn = 2, Error = 3 }

/** Logs msg through the host (at most 256 records per call; over 4 KiB truncated). */
export function log(level: Level, msg: string): void {
  const buf = String.UTF8.encode(msg);
  hostLog(<i32>level, changetype<usize>(buf), <u32>buf.byteLength);
}
export function debug(msg: string): void { log(Level.Debug, msg); }
export function info(msg: string): void { log(Level.Info, msg); }
export function warn(msg: string): void { log(Level.Warn, msg); }
export function error(msg: string): void { log(Level.Error, msg); }

// ---- live output ----------------------------------------------------------------------------

/** The streams of live output (§4, emit). */
export const enum Stream { Stdout = 1, Stderr = 2 }

/**
 * Streams text live to a stream during run: the host splits it at newlines (a trailing
 * newline ends the last line) and hands each line to whoever supervises the task (solti-wasm
 * run prints them). Lines are not the run's result; outside run the host logs them at debug
 * level. At most 10 000 lines per call are kept, each at most 4 KiB (longer ones truncated).
 */
export function emitTo(stream: Stream, text: string): void {
  const buf = String.UTF8.encode(text);
  hostEmit(<i32>stream, changetype<usize>(buf), <u32>buf.byteLength);
}
/** Streams a line (or several, separated by newlines) to the run's stdout. */
export function emit(line: string): void { emitTo(Stream.Stdout, line); }
/** Streams a line (or several) to the run's stderr. */
export function emitErr(line: string): void { emitTo(Stream.Stderr, line); }

// ---- errors ---------------------------------------------------------------------------------

/** A structured error (§5.5). Codes: */
export const UNSUPPORTED_KIND = "unsupported_kind";
export const INVALID_SPEC = "invalid_spec";
export const MISSING_FIELD = "missing_field";
export const IO = "io";
export const INTERNAL = "internal";

export class SoltiError {
  constructor(public code: string, public message: string) {}
  toJSON(): string {
    return JsonValue.object().setString("code", this.code).setString("message", this.message).toJSON();
  }
}

// ---- inputs ---------------------------------------------------------------------------------

function stringMap(v: JsonValue | null): Map<string, string> {
  const m = new Map<string, string>();
  if (v === null || v.kind != JsonKind.Object) return m;
  for (let i = 0; i < v.keys.length; i++) if (v.items[i].kind == JsonKind.String) m.set(v.keys[i], v.items[i].text);
  return m;
}

/** A task spec (§5.1), with typed access to what runners need. */
export class Spec {
  /** The kind's name: an extension's type, or subprocess, wasm, container, embedded. */
  kind: string = "";
  isExtension: bool = false;
  /** The body of the kind: {"type","spec"} for an extension, {"mode",...} for subprocess. */
  kindBody: JsonValue | null = null;

  constructor(public json: JsonValue) {
    this.init();
  }

  private init(): void {
    const kn = this.json.get("kind");
    if (kn === null) return;
    const k = changetype<JsonValue>(kn);
    if (k.kind == JsonKind.String) { this.kind = k.text; return; }
    if (k.kind != JsonKind.Object || k.keys.length == 0) return;
    this.kindBody = k.items[0];
    if (k.keys[0] == "extension") {
      this.isExtension = true;
      const t = k.items[0].getString("type");
      this.kind = t !== null ? t : "";
    } else {
      this.kind = k.keys[0];
    }
  }

  static parse(text: string): Spec | null {
    const v = JsonValue.parse(text);
    return v === null || !v.isObject() ? null : new Spec(v);
  }

  get slot(): string { const s = this.json.getString("slot"); return s !== null ? s : ""; }
  /** Timeout per attempt in ms (0 if absent). */
  get timeoutMs(): i64 { const t = this.json.get("timeout"); return t !== null ? t.toI64() : 0; }
  /** An extension's spec (free JSON), or null. */
  get extensionSpec(): JsonValue | null {
    const b = this.kindBody;
    return this.isExtension && b !== null ? b.get("spec") : null;
  }
  get labels(): Map<string, string> { return stringMap(this.json.get("labels")); }
  /** One label, or null. */
  label(key: string): string | null {
    const l = this.json.get("labels");
    return l !== null ? l.getString(key) : null;
  }
  /** The kind's own env (subprocess, wasm, container); BuildRequest.env is it merged with the host's. */
  get kindEnv(): Map<string, string> {
    const b = this.kindBody;
    return stringMap(b !== null ? b.get("env") : null);
  }
}

/** The input of build (§5.2). */
export class BuildRequest {
  runId: string = "";
  runner: string = "";
  env: Map<string, string> = new Map<string, string>();
  constructor(public spec: Spec) {}
}

/** The input of run (§5.6). payload is null when the plan had none. */
export class RunRequest {
  runId: string = "";
  attempt: i64 = 1;
  env: Map<string, string> = new Map<string, string>();
  payload: JsonValue | null = null;
}

// ---- outputs --------------------------------------------------------------------------------

function mapValue(m: Map<string, string>): JsonValue {
  const keys = m.keys().sort();
  const v = JsonValue.object();
  for (let i = 0; i < keys.length; i++) v.setString(keys[i], m.get(keys[i]));
  return v;
}

function strings(a: string[]): JsonValue {
  const v = JsonValue.array();
  for (let i = 0; i < a.length; i++) v.items.push(JsonValue.string(a[i]));
  return v;
}

/** A plan (§5.3), or the error that replaces it: build returns one or the other. */
export class Plan {
  value: JsonValue | null = null;
  error: SoltiError | null = null;

  /** Call this module's run with the payload (null: none), on a fresh instance. */
  static guest(payload: JsonValue | null = null): Plan {
    const g = JsonValue.object();
    if (payload !== null) g.set("payload", payload);
    const p = new Plan();
    p.value = JsonValue.object().set("guest", g);
    return p;
  }
  /** A subprocess, where the host's policy allows it. */
  static exec(command: string, args: string[] = [], env: Map<string, string> = new Map<string, string>(), cwd: string = "", failOnNonZero: bool = true): Plan {
    const e = JsonValue.object().setString("command", command).set("args", strings(args)).set("env", mapValue(env))
      .setString("cwd", cwd).set("failOnNonZero", JsonValue.bool(failOnNonZero));
    const p = new Plan();
    p.value = JsonValue.object().set("exec", e);
    return p;
  }
  /** A WASI command module, granted args and env only. */
  static wasi(module: string, args: string[] = [], env: Map<string, string> = new Map<string, string>()): Plan {
    const w = JsonValue.object().setString("module", module).set("args", strings(args)).set("env", mapValue(env));
    const p = new Plan();
    p.value = JsonValue.object().set("wasi", w);
    return p;
  }
  /** A failed build: the structured error (§5.5) the host reports. */
  static fail(code: string, message: string): Plan {
    const p = new Plan();
    p.error = new SoltiError(code, message);
    return p;
  }
}

/** The result of run: bytes (usually JSON text), or an error. */
export class Output {
  text: string = "";
  error: SoltiError | null = null;
  static ok(text: string): Output { const o = new Output(); o.text = text; return o; }
  static json(v: JsonValue): Output { return Output.ok(v.toJSON()); }
  static fail(code: string, message: string): Output { const o = new Output(); o.error = new SoltiError(code, message); return o; }
}

/** What describe returns (§5.4). */
export class Description {
  version: string = "";
  kinds: string[] = [];
  labels: Map<string, string> = new Map<string, string>();
  description: string = "";

  toJSON(): string {
    const v = JsonValue.object();
    if (this.version.length) v.setString("version", this.version);
    if (this.kinds.length) v.set("kinds", strings(this.kinds));
    if (this.labels.size) v.set("labels", mapValue(this.labels));
    if (this.description.length) v.setString("description", this.description);
    return v.toJSON();
  }
}

// ---- the runner -----------------------------------------------------------------------------

/** What a runner module implements. One instance never receives two calls at once. */
export abstract class Runner {
  /** 1-64 characters of [A-Za-z0-9._-]. */
  abstract name(): string;
  /** Version, kinds and labels; the host asks supports only for the listed kinds. */
  describe(): Description { return new Description(); }
  /** Whether this runner builds the task; keep it cheap. Return an error via supportsError. */
  abstract supports(spec: Spec): bool;
  /** Turns the task into a plan, or Plan.fail(code, message). */
  abstract build(req: BuildRequest): Plan;
  /** Executes a guest plan; the default fails (runners of exec or wasi plans need none). */
  run(req: RunRequest): Output { return Output.fail(INTERNAL, "runner has no run"); }
}

let registered: Runner | null = null;
/** A fault reported by supports (negative result) instead of an answer. */
let supportsFault: SoltiError | null = null;

/** Installs the module's runner; call it once, at the top level of the entry file. */
export function register(r: Runner): void { registered = r; }

/** Called from supports to report a fault (counted as "no" and shown to the operator). */
export function supportsError(code: string, message: string): bool {
  supportsFault = new SoltiError(code, message);
  return false;
}

function theRunner(): Runner {
  const r = registered;
  if (r === null) {
    writeOutput(new SoltiError(INTERNAL, "no runner registered: call register() in the entry file").toJSON());
    unreachable();
  }
  return changetype<Runner>(r);
}

function reply(rc: i32, text: string): i32 {
  const buf = String.UTF8.encode(text);
  if (buf.byteLength > MAX_OUTPUT_BYTES) {
    writeOutput(new SoltiError(INTERNAL, "output of " + buf.byteLength.toString() + " bytes exceeds the ABI limit of 1 MiB").toJSON());
    return rc == 0 ? 1 : rc;
  }
  hostOutput(changetype<usize>(buf), <u32>buf.byteLength);
  return rc;
}

function fail(rc: i32, e: SoltiError): i32 { return reply(rc, e.toJSON()); }

// The glue of the exports (./exports.ts re-exports them under the ABI's names).

export function exportName(): i32 { return reply(0, theRunner().name()); }

export function exportDescribe(): i32 { return reply(0, theRunner().describe().toJSON()); }

export function exportSupports(len: i32): i32 {
  const r = theRunner();
  const spec = Spec.parse(readInput(len));
  if (spec === null) return fail(-1, new SoltiError(INTERNAL, "supports input: not a task spec"));
  supportsFault = null;
  const yes = r.supports(spec);
  const f = supportsFault;
  if (f !== null) return fail(-1, f);
  return yes ? 1 : 0;
}

export function exportBuild(len: i32): i32 {
  const r = theRunner();
  const v = JsonValue.parse(readInput(len));
  const s = v !== null ? v.get("spec") : null;
  if (v === null || s === null || !s.isObject()) return fail(1, new SoltiError(INTERNAL, "build input: not a BuildInput"));
  const req = new BuildRequest(new Spec(s));
  const id = v.getString("runId");
  if (id !== null) req.runId = id;
  const name = v.getString("runner");
  if (name !== null) req.runner = name;
  req.env = stringMap(v.get("env"));
  const plan = r.build(req);
  const e = plan.error;
  if (e !== null) return fail(1, e);
  const pv = plan.value;
  if (pv === null) return fail(1, new SoltiError(INTERNAL, "build returned an empty plan"));
  const body = pv.items[0];
  const must = pv.keys[0] == "exec" ? body.getString("command") : pv.keys[0] == "wasi" ? body.getString("module") : "x";
  if (must === null || must.trim().length == 0) return fail(1, new SoltiError(INTERNAL, "invalid plan: " + pv.keys[0] + " needs a " + (pv.keys[0] == "exec" ? "command" : "module")));
  return reply(0, pv.toJSON());
}

export function exportRun(len: i32): i32 {
  const r = theRunner();
  const v = JsonValue.parse(readInput(len));
  if (v === null) return fail(1, new SoltiError(INTERNAL, "run input: not a RunInput"));
  const req = new RunRequest();
  const id = v.getString("runId");
  if (id !== null) req.runId = id;
  const a = v.get("attempt");
  if (a !== null) req.attempt = a.toI64();
  req.env = stringMap(v.get("env"));
  req.payload = v.get("payload");
  const out = r.run(req);
  const e = out.error;
  if (e !== null) return fail(1, e);
  return reply(0, out.text);
}
