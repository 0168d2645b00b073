// A small JSON reader and writer for AssemblyScript. Numbers keep their source text, so a value
// read and written again is the same JSON; objects keep their members in order.

export const enum JsonKind { Null, Bool, Number, String, Array, Object }

export class JsonValue {
  kind: JsonKind = JsonKind.Null;
  bool: bool = false;
  /** The string, or the number's text. */
  text: string = "";
  items: JsonValue[] = [];
  keys: string[] = [];

  static null(): JsonValue { return new JsonValue(); }
  static bool(b: bool): JsonValue { const v = new JsonValue(); v.kind = JsonKind.Bool; v.bool = b; return v; }
  static string(s: string): JsonValue { const v = new JsonValue(); v.kind = JsonKind.String; v.text = s; return v; }
  static number(n: i64): JsonValue { const v = new JsonValue(); v.kind = JsonKind.Number; v.text = n.toString(); return v; }
  static array(items: JsonValue[] = []): JsonValue { const v = new JsonValue(); v.kind = JsonKind.Array; v.items = items; return v; }
  static object(): JsonValue { const v = new JsonValue(); v.kind = JsonKind.Object; return v; }

  /** Parses one JSON value; null if the text is not JSON. */
  static parse(text: string): JsonValue | null {
    const p = new Parser(text);
    p.ws();
    const v = p.value(0);
    if (v === null) return null;
    p.ws();
    return p.i == text.length ? v : null;
  }

  isNull(): bool { return this.kind == JsonKind.Null; }
  isString(): bool { return this.kind == JsonKind.String; }
  isObject(): bool { return this.kind == JsonKind.Object; }

  /** The member key of an object (the first, if repeated), or null. */
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return this.items[i];
    return null;
  }
  /** The string member key of an object, or null. */
  getString(key: string): string | null {
    const v = this.get(key);
    return v !== null && v.kind == JsonKind.String ? v.text : null;
  }
  /** Sets (appends) a member; returns this for chaining. */
  set(key: string, value: JsonValue): JsonValue {
    this.keys.push(key);
    this.items.push(value);
    return this;
  }
  setString(key: string, value: string): JsonValue { return this.set(key, JsonValue.string(value)); }

  /** The number as an integer (0 if it is not a number). */
  toI64(): i64 { return this.kind == JsonKind.Number ? I64.parseInt(this.text) : 0; }

  /** Compact JSON text. */
  toJSON(): string {
    const parts: string[] = [];
    this.write(parts);
    return parts.join("");
  }

  write(out: string[]): void {
    switch (this.kind) {
      case JsonKind.Null: out.push("null"); break;
      case JsonKind.Bool: out.push(this.bool ? "true" : "false"); break;
      case JsonKind.Number: out.push(this.text); break;
      case JsonKind.String: out.push(quote(this.text)); break;
      case JsonKind.Array: {
        out.push("[");
        for (let i = 0; i < this.items.length; i++) {
          if (i > 0) out.push(",");
          this.items[i].write(out);
        }
        out.push("]");
        break;
      }
      default: {
        out.push("{");
        for (let i = 0; i < this.items.length; i++) {
          if (i > 0) out.push(",");
          out.push(quote(this.keys[i]));
          out.push(":");
          this.items[i].write(out);
        }
        out.push("}");
      }
    }
  }
}

const HEX = "0123456789abcdef";

/** s as a JSON string literal: quotes, backslashes and control characters escaped. */
export function quote(s: string): string {
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x22 || c == 0x5c) { needs = true; break; }
  }
  if (!needs) return "\"" + s + "\"";
  const parts: string[] = ["\""];
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
    parts.push(s.substring(run, i));
    run = i + 1;
    if (c == 0x22) parts.push("\\\"");
    else if (c == 0x5c) parts.push("\\\\");
    else if (c == 0x0a) parts.push("\\n");
    else if (c == 0x0d) parts.push("\\r");
    else if (c == 0x09) parts.push("\\t");
    else parts.push("\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15));
  }
  parts.push(s.substring(run));
  parts.push("\"");
  return parts.join("");
}

const MAX_DEPTH = 512;

class Parser {
  i: i32 = 0;
  constructor(public s: string) {}

  ws(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.i++;
    }
  }

  lit(word: string): bool {
    if (this.s.substr(this.i, word.length) != word) return false;
    this.i += word.length;
    return true;
  }

  value(depth: i32): JsonValue | null {
    if (this.i >= this.s.length || depth > MAX_DEPTH) return null;
    const c = this.s.charCodeAt(this.i);
    if (c == 0x6e) return this.lit("null") ? JsonValue.null() : null;
    if (c == 0x74) return this.lit("true") ? JsonValue.bool(true) : null;
    if (c == 0x66) return this.lit("false") ? JsonValue.bool(false) : null;
    if (c == 0x22) {
      const s = this.string();
      return s === null ? null : JsonValue.string(s);
    }
    if (c == 0x5b) {
      this.i++;
      const v = JsonValue.array();
      this.ws();
      if (this.i < this.s.length && this.s.charCodeAt(this.i) == 0x5d) { this.i++; return v; }
      while (true) {
        this.ws();
        const item = this.value(depth + 1);
        if (item === null) return null;
        v.items.push(item);
        this.ws();
        if (this.i >= this.s.length) return null;
        const d = this.s.charCodeAt(this.i++);
        if (d == 0x5d) return v;
        if (d != 0x2c) return null;
      }
    }
    if (c == 0x7b) {
      this.i++;
      const v = JsonValue.object();
      this.ws();
      if (this.i < this.s.length && this.s.charCodeAt(this.i) == 0x7d) { this.i++; return v; }
      while (true) {
        this.ws();
        if (this.i >= this.s.length || this.s.charCodeAt(this.i) != 0x22) return null;
        const k = this.string();
        if (k === null) return null;
        this.ws();
        if (this.i >= this.s.length || this.s.charCodeAt(this.i) != 0x3a) return null;
        this.i++;
        this.ws();
        const item = this.value(depth + 1);
        if (item === null) return null;
        v.set(k, item);
        this.ws();
        if (this.i >= this.s.length) return null;
        const d = this.s.charCodeAt(this.i++);
        if (d == 0x7d) return v;
        if (d != 0x2c) return null;
      }
    }
    // a number
    const start = this.i;
    while (this.i < this.s.length) {
      const d = this.s.charCodeAt(this.i);
      if (!((d >= 0x30 && d <= 0x39) || d == 0x2d || d == 0x2b || d == 0x2e || d == 0x65 || d == 0x45)) break;
      this.i++;
    }
    if (this.i == start) return null;
    const n = new JsonValue();
    n.kind = JsonKind.Number;
    n.text = this.s.substring(start, this.i);
    return n;
  }

  string(): string | null {
    this.i++; // the opening quote
    const s = this.s;
    let parts: string[] | null = null;
    let run = this.i;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c == 0x22) {
        const last = s.substring(run, this.i);
        this.i++;
        if (parts === null) return last;
        parts.push(last);
        return parts.join("");
      }
      if (c < 0x20) return null;
      if (c != 0x5c) { this.i++; continue; }
      if (parts === null) parts = [];
      parts.push(s.substring(run, this.i));
      if (this.i + 1 >= s.length) return null;
      const e = s.charCodeAt(this.i + 1);
      this.i += 2;
      if (e == 0x22) parts.push("\"");
      else if (e == 0x5c) parts.push("\\");
      else if (e == 0x2f) parts.push("/");
      else if (e == 0x62) parts.push("\b");
      else if (e == 0x66) parts.push("\f");
      else if (e == 0x6e) parts.push("\n");
      else if (e == 0x72) parts.push("\r");
      else if (e == 0x74) parts.push("\t");
      else if (e == 0x75) {
        if (this.i + 4 > s.length) return null;
        const u = I32.parseInt(s.substr(this.i, 4), 16);
        this.i += 4;
        // UTF-16 code units are kept as they are: a surrogate pair written as two escapes
        // becomes the pair, which encodes to one UTF-8 character.
        parts.push(String.fromCharCode(u));
      } else return null;
      run = this.i;
    }
    return null;
  }
}
