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
  return String.UTF8.decode(readInputBytes(len));
}

/** The call's input as bytes (the SDK's exports read canonical JSON from them directly). */
export function readInputBytes(len: i32): ArrayBuffer {
  const buf = new ArrayBuffer(len > 0 ? len : 0);
  if (len > 0) hostInput(changetype<usize>(buf));
  return buf;
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

// ---- canonical JSON scanning (bytes) ---------------------------------------------------------

/** p after the bytes of lit if the bytes at p start with them, else 0. */
function lit(p: usize, end: usize, lit: ArrayBuffer): usize {
  const n = <usize>lit.byteLength;
  if (end - p < n || memory.compare(p, changetype<usize>(lit), n) != 0) return 0;
  return p + n;
}

/** p after the 8-byte key whose bytes, read as a little-endian u64, are w (one of the W_
 * words below), else 0: one load and one compare, where lit calls memory.compare. */
// @ts-ignore: decorator
@inline function lit8(p: usize, end: usize, w: u64): usize {
  return end - p >= 8 && load<u64>(p) == w ? p + 8 : 0;
}

/** p after the byte c if the byte at p is c, else 0. */
// @ts-ignore: decorator
@inline function char(p: usize, end: usize, c: u8): usize {
  return p < end && load<u8>(p) == c ? p + 1 : 0;
}

// The keys of canonical JSON that the scans look for, as UTF-8 once (the scans compare bytes).
const K_SLOT = String.UTF8.encode("{\"slot\":");
const K_KIND = String.UTF8.encode(",\"kind\":");
const K_EXTENSION = String.UTF8.encode("\"extension\"");
const K_TYPE = String.UTF8.encode("{\"type\":");
const K_SPEC = String.UTF8.encode(",\"spec\":");
const K_RUN_ID = String.UTF8.encode("{\"runId\":");
const K_RUNNER = String.UTF8.encode(",\"runner\":");
const K_ENV = String.UTF8.encode(",\"env\":");
// The 8-byte keys of the supports scan as words, for lit8; and the first 8 bytes of "extension".
const W_SLOT = load<u64>(changetype<usize>(K_SLOT));
const W_KIND = load<u64>(changetype<usize>(K_KIND));
const W_TYPE = load<u64>(changetype<usize>(K_TYPE));
const W_SPEC = load<u64>(changetype<usize>(K_SPEC));
const W_EXTENSIO = load<u64>(changetype<usize>(K_EXTENSION) + 1);

/** The end of the escape-free string literal at p (kind names, slots, run ids), or 0. */
// @ts-ignore: decorator
@inline function plainEnd(p: usize, end: usize): usize {
  if (p >= end || load<u8>(p) != 0x22) return 0;
  for (let q = p + 1; q < end; q++) {
    const c = load<u8>(q);
    if (c == 0x5c) return 0;
    if (c == 0x22) return q + 1;
  }
  return 0;
}

/** The end of the string literal at p (escapes allowed), or 0. */
// @ts-ignore: decorator
@inline function skipString(p: usize, end: usize): usize {
  if (p >= end || load<u8>(p) != 0x22) return 0;
  for (let q = p + 1; q < end; q++) {
    const c = load<u8>(q);
    if (c == 0x5c) q++;
    else if (c == 0x22) return q + 1;
  }
  return 0;
}

/** The end of the compact JSON value at p, balancing brackets and skipping strings only (the
 * parser that later reads the value checks it), or 0. */
function skipValue(p: usize, end: usize): usize {
  if (p >= end) return 0;
  const c0 = load<u8>(p);
  if (c0 == 0x22) return skipString(p, end);
  if (c0 == 0x7b || c0 == 0x5b) {
    let depth = 0;
    let q = p;
    while (q < end) {
      const c = load<u8>(q);
      if (c == 0x22) {
        q = skipString(q, end);
        if (q == 0) return 0;
        continue;
      }
      if (c == 0x7b || c == 0x5b) depth++;
      else if (c == 0x7d || c == 0x5d) {
        depth--;
        if (depth == 0) return q + 1;
      }
      q++;
    }
    return 0;
  }
  let q = p;
  while (q < end) {
    const c = load<u8>(q);
    if (c == 0x2c || c == 0x7d || c == 0x5d) break;
    q++;
  }
  return q > p ? q : 0;
}

function decode(p: usize, end: usize): string { return String.UTF8.decodeUnsafe(p, end - p); }

/** The last kind name decoded, and its bytes: a runner asked about the same kind again and
 * again (the usual case) allocates no string for it. */
let lastKind: string = "";
let lastKindBytes: ArrayBuffer = new ArrayBuffer(0);

// @ts-ignore: decorator
@inline function kindName(p: usize, end: usize): string {
  return sameBytes(p, end, changetype<usize>(lastKindBytes), lastKindBytes.byteLength) ? lastKind : newKindName(p, end);
}

/** Whether [p, end) holds the n bytes at q: eight at a time, then one by one (kind names are
 * short; memory.compare is a call and a loop). */
// @ts-ignore: decorator
@inline function sameBytes(p: usize, end: usize, q: usize, n: i32): bool {
  if (<i32>(end - p) != n) return false;
  while (p + 8 <= end) {
    if (load<u64>(p) != load<u64>(q)) return false;
    p += 8;
    q += 8;
  }
  while (p < end) {
    if (load<u8>(p) != load<u8>(q)) return false;
    p++;
    q++;
  }
  return true;
}

function newKindName(p: usize, end: usize): string {
  const n = <i32>(end - p);
  const b = new ArrayBuffer(n);
  memory.copy(changetype<usize>(b), p, n);
  lastKindBytes = b;
  lastKind = decode(p, end);
  return lastKind;
}

/** What scanKind found: positions in the input, no managed references (the scan runs on
 * supports' hot path, where each managed local costs a shadow-stack slot). */
@unmanaged class Scanned {
  slotAt: usize = 0; // the slot's string literal
  kindAt: usize = 0; // the kind name's bytes: [kindAt, kindEnd)
  kindEnd: usize = 0;
  bodyAt: usize = 0; // the kind's body value; 0 for "embedded"
  specAt: usize = 0; // an extension's spec value; 0 if none
  restAt: usize = 0; // after the kind's value, when known ("embedded")
  isExtension: bool = false;
}

const scanned = new Scanned();

/** scanKind reads the kind of canonical JSON in [start, end) into scanned:
 * {"slot":"s","kind":"embedded",...}, {"slot":"s","kind":{"tag":B},...} or
 * {"slot":"s","kind":{"extension":{"type":"t","spec":V}},...}; false if it is not one. */
// @ts-ignore: decorator
@inline function scanKind(start: usize, end: usize): bool {
  let p = lit8(start, end, W_SLOT);
  if (p == 0) return false;
  const slotAt = p;
  p = skipString(p, end);
  if (p == 0) return false;
  p = lit8(p, end, W_KIND);
  if (p == 0) return false;
  const sc = scanned;
  sc.slotAt = slotAt;
  sc.specAt = sc.restAt = 0;
  sc.isExtension = false;
  if (p < end && load<u8>(p) == 0x22) { // "embedded"
    const q = plainEnd(p, end);
    if (q == 0) return false;
    sc.kindAt = p + 1;
    sc.kindEnd = q - 1;
    sc.bodyAt = 0;
    sc.restAt = q;
    return true;
  }
  p = char(p, end, 0x7b);
  const tagEnd = p != 0 ? plainEnd(p, end) : 0;
  if (tagEnd == 0 || char(tagEnd, end, 0x3a) == 0) return false;
  sc.bodyAt = tagEnd + 1;
  // The tag is "extension" (11 bytes with its quotes; the closing one was checked).
  if (tagEnd - p != 11 || load<u64>(p + 1) != W_EXTENSIO || load<u8>(p + 9) != 0x6e) {
    sc.kindAt = p + 1;
    sc.kindEnd = tagEnd - 1;
    return true;
  }
  p = lit8(tagEnd + 1, end, W_TYPE);
  const typeEnd = p != 0 ? plainEnd(p, end) : 0;
  if (typeEnd == 0) return false;
  if (typeEnd < end && load<u8>(typeEnd) == 0x2c) {
    const sp = lit8(typeEnd, end, W_SPEC);
    if (sp == 0) return false;
    sc.specAt = sp;
  } else if (typeEnd >= end || load<u8>(typeEnd) != 0x7d) {
    return false;
  }
  sc.kindAt = p + 1;
  sc.kindEnd = typeEnd - 1;
  sc.isExtension = true;
  return true;
}

/**
 * A task spec (§5.1), read lazily. Before supports is called only the kind is read, by a scan of
 * the first bytes of the host's canonical JSON (§5 fixes the field order: slot, then kind);
 * every other part is parsed when first asked for and kept, so nothing is parsed twice. Input
 * that is not canonical JSON is parsed whole instead.
 */
export class Spec {
  /** The kind's name: an extension's type, or subprocess, wasm, container, embedded. */
  kind: string = "";
  isExtension: bool = false;

  // The spec's bytes: [start, end) of buf (a build input holds the spec inside itself).
  private buf: ArrayBuffer;
  private start: usize;
  private end: usize;
  private canonical: bool = false;
  private slotAt: usize = 0; // canonical: the slot's string literal
  private bodyAt: usize = 0; // canonical: the kind's body value; 0 for "embedded"
  private specAt: usize = 0; // canonical: an extension's spec value; 0 if none
  private restAt: usize = 0; // canonical: after the kind's value
  private whole: JsonValue | null = null;
  private body: JsonValue | null = null;
  private bodyDone: bool = false;
  private ext: JsonValue | null = null;
  private extDone: bool = false;
  private rest: JsonValue | null = null;

  constructor(buf: ArrayBuffer, start: usize, end: usize) {
    this.buf = buf;
    this.start = start;
    this.end = end;
  }

  /** Makes this the view of buf[start, end) as if new: supports reuses one Spec. A managed
   * field is written only when it changes: each write of one is a call to the GC's write
   * barrier. The kind is set by load. */
  // @ts-ignore: decorator
  @inline private reset(buf: ArrayBuffer, start: usize, end: usize): void {
    this.isExtension = false;
    if (this.buf !== buf) this.buf = buf;
    this.start = start;
    this.end = end;
    this.canonical = this.bodyDone = this.extDone = false;
    this.slotAt = this.bodyAt = this.specAt = this.restAt = 0;
    if (this.whole !== null) this.whole = null;
    if (this.body !== null) this.body = null;
    if (this.ext !== null) this.ext = null;
    if (this.rest !== null) this.rest = null;
  }

  // @ts-ignore: decorator
  @inline private setKind(k: string): void {
    if (changetype<usize>(this.kind) != changetype<usize>(k)) this.kind = k; // identity, not String.__ne
  }

  /** Reads the spec in buf[offset, offset+len): only its kind when it is canonical; null when
   * it is neither canonical nor a JSON object. */
  static read(buf: ArrayBuffer, offset: i32, len: i32): Spec | null {
    const base = changetype<usize>(buf);
    const s = new Spec(buf, base + <usize>offset, base + <usize>offset + <usize>len);
    return s.load() ? s : null;
  }

  /** Reads the spec in buf[0, len) into this, the supports hot path's one Spec. */
  // @ts-ignore: decorator
  @inline reread(buf: ArrayBuffer, len: i32): bool {
    const base = changetype<usize>(buf);
    this.reset(buf, base, base + <usize>len);
    return this.load();
  }

  // @ts-ignore: decorator
  @inline private load(): bool {
    return this.scan() || this.loadWhole();
  }

  /** load's slow path: input that is not canonical JSON. */
  private loadWhole(): bool {
    this.setKind("");
    const v = JsonValue.parse(decode(this.start, this.end));
    if (v === null || !v.isObject()) return false;
    this.whole = v;
    this.fromWhole(v);
    return true;
  }

  /** Parses a task spec from text (for tests); null if it is not a JSON object. */
  static parse(text: string): Spec | null {
    const v = JsonValue.parse(text);
    if (v === null || !v.isObject()) return null;
    const b = String.UTF8.encode(text);
    const s = Spec.read(b, 0, b.byteLength);
    if (s !== null) s.whole = v;
    return s;
  }

  // @ts-ignore: decorator
  @inline private scan(): bool {
    if (!scanKind(this.start, this.end)) return false;
    this.slotAt = scanned.slotAt;
    this.bodyAt = scanned.bodyAt;
    this.specAt = scanned.specAt;
    this.restAt = scanned.restAt;
    this.isExtension = scanned.isExtension;
    this.bodyDone = scanned.bodyAt == 0; // "embedded": no body
    this.extDone = !scanned.isExtension;
    this.canonical = true;
    this.setKind(kindName(scanned.kindAt, scanned.kindEnd));
    return true;
  }


  private fromWhole(v: JsonValue): void {
    this.bodyDone = this.extDone = true;
    const kn = v.get("kind");
    if (kn === null) return;
    const k = changetype<JsonValue>(kn);
    if (k.kind == JsonKind.String) { this.kind = k.text; return; }
    if (k.kind != JsonKind.Object || k.keys.length == 0) return;
    this.body = k.items[0];
    if (k.keys[0] == "extension") {
      this.isExtension = true;
      const t = k.items[0].getString("type");
      this.kind = t !== null ? t : "";
      this.ext = k.items[0].get("spec");
    } else {
      this.kind = k.keys[0];
    }
  }

  /** The whole spec, parsed on first use. */
  get json(): JsonValue {
    if (this.whole === null) {
      const v = JsonValue.parse(decode(this.start, this.end));
      this.whole = v !== null ? v : JsonValue.object();
    }
    return changetype<JsonValue>(this.whole);
  }

  /** The body of the kind: {"type","spec"} for an extension, {"mode",...} for subprocess. */
  get kindBody(): JsonValue | null {
    if (!this.bodyDone) {
      this.bodyDone = true;
      const q = skipValue(this.bodyAt, this.end);
      if (q != 0) {
        this.body = JsonValue.parse(decode(this.bodyAt, q));
        if (char(q, this.end, 0x7d) != 0) this.restAt = q + 1;
      }
    }
    return this.body;
  }

  /** An extension's spec (free JSON), or null. */
  get extensionSpec(): JsonValue | null {
    if (!this.extDone) {
      this.extDone = true;
      if (this.bodyDone) {
        const b = this.body;
        this.ext = b !== null ? b.get("spec") : null;
      } else if (this.specAt != 0) {
        const q = skipValue(this.specAt, this.end);
        if (q != 0) this.ext = JsonValue.parse(decode(this.specAt, q));
      }
    }
    return this.ext;
  }

  /** A top-level member after the kind: in canonical JSON the members after the kind are parsed
   * once, and the kind's body is skipped over, not parsed. */
  private member(key: string): JsonValue | null {
    if (!this.canonical) return this.json.get(key);
    if (this.rest === null) {
      if (this.restAt == 0) {
        const q = skipValue(this.bodyAt, this.end);
        if (q != 0 && char(q, this.end, 0x7d) != 0) this.restAt = q + 1;
      }
      let r: JsonValue | null = null;
      if (this.restAt != 0 && this.restAt < this.end && load<u8>(this.restAt) == 0x2c) r = JsonValue.parse("{" + decode(this.restAt + 1, this.end));
      this.rest = r !== null ? r : JsonValue.object();
    }
    return changetype<JsonValue>(this.rest).get(key);
  }

  get slot(): string {
    if (this.canonical) {
      const q = skipString(this.slotAt, this.end);
      const v = q != 0 ? JsonValue.parse(decode(this.slotAt, q)) : null;
      return v !== null && v.isString() ? v.text : "";
    }
    const s = this.json.getString("slot");
    return s !== null ? s : "";
  }
  /** Timeout per attempt in ms (0 if absent). */
  get timeoutMs(): i64 { const t = this.member("timeout"); return t !== null ? t.toI64() : 0; }
  get labels(): Map<string, string> { return stringMap(this.member("labels")); }
  /** One label, or null. */
  label(key: string): string | null {
    const l = this.member("labels");
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

// @ts-ignore: decorator
@inline function theRunner(): Runner {
  const r = registered;
  if (r === null) noRunner();
  return changetype<Runner>(r);
}

function noRunner(): void {
  writeOutput(new SoltiError(INTERNAL, "no runner registered: call register() in the entry file").toJSON());
  unreachable();
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

// The input buffer and the Spec of supports, reused by every call: the hot path allocates
// nothing (the runner must not keep the Spec past the call).
let supportsBuf: ArrayBuffer = new ArrayBuffer(0);
let supportsSpec: Spec = new Spec(supportsBuf, 0, 0);

// @ts-ignore: decorator
@inline export function exportSupports(len: i32): i32 {
  // The globals are read where they are used, not kept in locals: a managed local live across
  // a call takes a shadow-stack slot, which the incremental GC's runtime zeroes on every call.
  const n = len > 0 ? len : 0;
  if (n > supportsBuf.byteLength) growSupportsBuf(n);
  if (n > 0) hostInput(changetype<usize>(supportsBuf));
  if (!supportsSpec.reread(supportsBuf, n)) return notASpec();
  if (supportsFault !== null) supportsFault = null;
  const yes = theRunner().supports(supportsSpec);
  if (supportsFault !== null) return fail(-1, changetype<SoltiError>(supportsFault));
  return yes ? 1 : 0;
}

// supports' rare paths, out of line.
function growSupportsBuf(n: i32): void { supportsBuf = new ArrayBuffer(max(n, max(supportsBuf.byteLength * 2, 4096))); }
function notASpec(): i32 { return fail(-1, new SoltiError(INTERNAL, "supports input: not a task spec")); }

/** Reads a canonical BuildInput, {"runId":"r","runner":"n"[,"env":{...}],"spec":S}, without
 * parsing the spec (S is the rest but the closing brace); null if it is not canonical. */
function canonicalBuild(buf: ArrayBuffer): BuildRequest | null {
  const base = changetype<usize>(buf), end = base + <usize>buf.byteLength;
  let p = lit(base, end, K_RUN_ID);
  const idEnd = p != 0 ? plainEnd(p, end) : 0;
  if (idEnd == 0) return null;
  const id = decode(p + 1, idEnd - 1);
  p = lit(idEnd, end, K_RUNNER);
  const nameEnd = p != 0 ? plainEnd(p, end) : 0;
  if (nameEnd == 0) return null;
  const name = decode(p + 1, nameEnd - 1);
  p = nameEnd;
  let env: JsonValue | null = null;
  const e = lit(p, end, K_ENV);
  if (e != 0) {
    const q = skipValue(e, end);
    if (q == 0) return null;
    env = JsonValue.parse(decode(e, q));
    p = q;
  }
  p = lit(p, end, K_SPEC);
  if (p == 0 || end - p < 2 || load<u8>(end - 1) != 0x7d) return null;
  const spec = Spec.read(buf, <i32>(p - base), <i32>(end - 1 - p));
  if (spec === null) return null;
  const req = new BuildRequest(spec);
  req.runId = id;
  req.runner = name;
  req.env = stringMap(env);
  return req;
}

export function exportBuild(len: i32): i32 {
  const r = theRunner();
  const buf = readInputBytes(len);
  let req = canonicalBuild(buf);
  if (req === null) {
    const v = JsonValue.parse(String.UTF8.decode(buf));
    const s = v !== null ? v.get("spec") : null;
    if (v === null || s === null || !s.isObject()) return fail(1, new SoltiError(INTERNAL, "build input: not a BuildInput"));
    const spec = Spec.parse(s.toJSON());
    if (spec === null) return fail(1, new SoltiError(INTERNAL, "build input: not a BuildInput"));
    req = new BuildRequest(spec);
    const id = v.getString("runId");
    if (id !== null) req.runId = id;
    const name = v.getString("runner");
    if (name !== null) req.runner = name;
    req.env = stringMap(v.get("env"));
  }
  const plan = r.build(changetype<BuildRequest>(req));
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
