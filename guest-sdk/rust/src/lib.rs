//! Guest SDK for solti-wasm runner modules, ABI v1 (`abi/ABI.md`).
//!
//! A runner is a type implementing [`Runner`]; [`export_runner!`] generates every ABI export
//! (`name`, `describe`, `supports`, `build`, `run` and the `solti_abi_v1` marker), moves inputs
//! and outputs through the host's `solti` imports and turns [`Error`]s into the ABI's
//! `{"code","message"}` objects. The crate has no dependencies and builds with Rust 1.63 for
//! `wasm32-unknown-unknown`; it carries its own JSON reader and writer ([`json`]).
//!
//! ```ignore
//! use solti::{Runner, Spec, BuildRequest, Plan, Error, Description};
//! struct Hello;
//! impl Runner for Hello {
//!     fn name(&self) -> &str { "hello" }
//!     fn supports(&self, spec: &Spec) -> bool { spec.kind() == "hello" }
//!     fn build(&self, req: &BuildRequest) -> Result<Plan, Error> { Ok(Plan::guest(None)) }
//! }
//! solti::export_runner!(Hello);
//! ```

pub mod json;

use json::Value;
use std::fmt;

/// The ABI's limit on one call's output (1 MiB): a larger result becomes an error instead of a
/// trap.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
/// The ABI's limit on one log message (4 KiB); the host truncates longer ones.
pub const MAX_LOG_BYTES: usize = 4 << 10;
/// The ABI's limit on one emitted line (4 KiB); the host truncates longer ones.
pub const MAX_LINE_BYTES: usize = 4 << 10;

// ---------------------------------------------------------------------------------------------
// Errors

/// A structured error, sent to the host as `{"code","message"}` (ABI §5.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: String,
    pub message: String,
}

impl Error {
    pub const UNSUPPORTED_KIND: &'static str = "unsupported_kind";
    pub const INVALID_SPEC: &'static str = "invalid_spec";
    pub const MISSING_FIELD: &'static str = "missing_field";
    pub const IO: &'static str = "io";
    pub const INTERNAL: &'static str = "internal";

    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Error {
        Error { code: code.into(), message: message.into() }
    }
    /// `invalid_spec`: the host reports "invalid specification: {message}".
    pub fn invalid_spec(message: impl Into<String>) -> Error {
        Error::new(Error::INVALID_SPEC, message)
    }
    /// `missing_field`: the message is the field's name.
    pub fn missing_field(field: impl Into<String>) -> Error {
        Error::new(Error::MISSING_FIELD, field)
    }
    pub fn unsupported_kind(message: impl Into<String>) -> Error {
        Error::new(Error::UNSUPPORTED_KIND, message)
    }
    pub fn io(message: impl Into<String>) -> Error {
        Error::new(Error::IO, message)
    }
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Error::INTERNAL, message)
    }

    /// The error as the ABI's JSON object.
    pub fn to_json(&self) -> String {
        Value::object([("code", Value::from(self.code.as_str())), ("message", Value::from(self.message.as_str()))]).to_json()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<json::ParseError> for Error {
    fn from(e: json::ParseError) -> Error {
        Error::invalid_spec(e.to_string())
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// A cell written at most once, for the parts of a [`Spec`] parsed on demand (the crate builds
/// with Rust 1.63, which has no `std::cell::OnceCell`).
struct Once<T>(std::cell::UnsafeCell<Option<T>>);

impl<T> Once<T> {
    fn new() -> Once<T> {
        Once(std::cell::UnsafeCell::new(None))
    }
    fn with(v: T) -> Once<T> {
        Once(std::cell::UnsafeCell::new(Some(v)))
    }
    fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        // SAFETY: UnsafeCell makes the owner !Sync, so no other thread sees the cell; the value
        // is written once, before the first reference to it exists, and never again; f never
        // reaches this cell.
        unsafe {
            if (*self.0.get()).is_none() {
                let v = f();
                *self.0.get() = Some(v);
            }
            (*self.0.get()).as_ref().unwrap()
        }
    }
    fn get(&self) -> Option<&T> {
        // SAFETY: as in get_or_init: once set, the value is never replaced.
        unsafe { (*self.0.get()).as_ref() }
    }
}

impl<T: Clone> Clone for Once<T> {
    fn clone(&self) -> Once<T> {
        match self.get() {
            Some(v) => Once::with(v.clone()),
            None => Once::new(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Once<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

/// A task spec (ABI §5.1), read lazily. Before `supports` is called only the kind is read, by a
/// scan of the first bytes of the host's canonical JSON (ABI §5 fixes the field order: `slot`,
/// then `kind`); every other part is parsed when first asked for and kept, so nothing is parsed
/// twice. Input that is not canonical JSON (a hand-made test input) is parsed whole instead.
#[derive(Clone, Debug)]
pub struct Spec {
    raw: Vec<u8>,
    /// Canonical JSON: where the slot's and the kind name's bytes are in raw.
    canonical: bool,
    slot: (usize, usize),
    kind: (usize, usize),
    is_ext: bool,
    /// Where the kind's body value starts (0: "embedded", no body), and where an extension's
    /// spec value starts (0: none).
    body_at: usize,
    spec_at: usize,
    /// Otherwise: the kind name, read from the whole value.
    kind_owned: String,
    whole: Once<Value>,
    body: Once<Option<Value>>,
    ext: Once<Option<Value>>,
    /// The members after the kind (timeout, restart, ..., labels), parsed on first use.
    rest: Once<Vec<(String, Value)>>,
}

/// Reads an escape-free string at b[i]; returns its byte range and the index after it.
#[inline(always)]
fn plain_string(b: &[u8], i: usize) -> Option<((usize, usize), usize)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let n = b[i + 1..].iter().position(|&c| c == b'"' || c == b'\\')?;
    if b[i + 1 + n] != b'"' {
        return None;
    }
    Some(((i + 1, i + 1 + n), i + 2 + n))
}

/// lit returns the index after p if b[i..] starts with p. The bytes are compared in an inlined
/// loop: a slice comparison is a call to compiler-builtins' byte-loop memcmp on wasm32, which
/// LLVM does not expand there.
#[inline(always)]
fn lit(b: &[u8], i: usize, p: &[u8]) -> Option<usize> {
    if b.len() < i || b.len() - i < p.len() {
        return None;
    }
    if same(&b[i..i + p.len()], p) {
        Some(i + p.len())
    } else {
        None
    }
}

/// same reports whether a and b hold the same bytes, without memcmp: eight bytes at a time,
/// then four, then one. Inlined with a literal b (the scan's keys), it folds into one or two
/// unaligned loads and compares per key.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let mut k = 0;
    while k + 8 <= n {
        if u64::from_le_bytes(a[k..k + 8].try_into().unwrap()) != u64::from_le_bytes(b[k..k + 8].try_into().unwrap()) {
            return false;
        }
        k += 8;
    }
    if k + 4 <= n {
        if u32::from_le_bytes(a[k..k + 4].try_into().unwrap()) != u32::from_le_bytes(b[k..k + 4].try_into().unwrap()) {
            return false;
        }
        k += 4;
    }
    while k < n {
        if a[k] != b[k] {
            return false;
        }
        k += 1;
    }
    true
}

/// utf8 reports whether b is UTF-8: kind names are ASCII, checked inline; anything else goes to
/// the standard library's validation.
#[inline]
fn utf8(b: &[u8]) -> bool {
    b.iter().all(|&c| c < 0x80) || std::str::from_utf8(b).is_ok()
}

impl Spec {
    /// Parses a TaskSpec (for native tests of a runner): the whole document is checked here,
    /// where the SDK's own exports only read what the runner asks for.
    pub fn parse(json: &[u8]) -> Result<Spec, Error> {
        let v = Value::parse(json)?;
        if v.as_object().is_none() {
            return Err(Error::invalid_spec("the task spec is not a JSON object"));
        }
        let mut s = Spec::raw(json.to_vec());
        s.whole = Once::with(v);
        if !s.scan() {
            s.from_whole();
        }
        Ok(s)
    }

    /// Reads the task spec the host sent: only the kind, unless it is not canonical JSON.
    fn from_host(raw: Vec<u8>) -> Result<Spec, Error> {
        let mut s = Spec::raw(raw);
        s.read()?;
        Ok(s)
    }

    /// read reads the kind of a spec made by [`Spec::raw`], in place (supports' hot path moves
    /// no Spec around: on wasm32 each move is a memcpy of the whole struct).
    #[inline]
    fn read(&mut self) -> Result<(), Error> {
        if self.scan() {
            return Ok(());
        }
        self.read_whole()
    }

    /// read_whole is read's slow path, out of line: input that is not canonical JSON.
    #[inline(never)]
    fn read_whole(&mut self) -> Result<(), Error> {
        let v = Value::parse(&self.raw)?;
        if v.as_object().is_none() {
            return Err(Error::invalid_spec("the task spec is not a JSON object"));
        }
        self.whole = Once::with(v);
        self.from_whole();
        Ok(())
    }

    #[inline(always)]
    fn raw(raw: Vec<u8>) -> Spec {
        Spec {
            raw,
            canonical: false,
            slot: (0, 0),
            kind: (0, 0),
            is_ext: false,
            body_at: 0,
            spec_at: 0,
            kind_owned: String::new(),
            whole: Once::new(),
            body: Once::new(),
            ext: Once::new(),
            rest: Once::new(),
        }
    }

    /// scan reads the kind of canonical JSON: {"slot":"s","kind":"embedded",...},
    /// {"slot":"s","kind":{"tag":B},...} or {"slot":"s","kind":{"extension":{"type":"t","spec":V}},...}.
    /// The kind's bytes are checked to be UTF-8 here, once (an ASCII name without a call), so
    /// that [`Spec::kind`] hands them out without checking again.
    #[inline]
    fn scan(&mut self) -> bool {
        let b = &self.raw;
        let scanned = (|| {
            let i = lit(b, 0, b"{\"slot\":")?;
            let (slot, i) = plain_string(b, i)?;
            let i = lit(b, i, b",\"kind\":")?;
            if b.get(i) == Some(&b'"') {
                let (kind, _) = plain_string(b, i)?;
                return Some((slot, kind, false, 0, 0));
            }
            let (tag, i) = plain_string(b, lit(b, i, b"{")?)?;
            let i = lit(b, i, b":")?;
            if !same(&b[tag.0..tag.1], b"extension") {
                return Some((slot, tag, false, i, 0));
            }
            let (kind, j) = plain_string(b, lit(b, i, b"{\"type\":")?)?;
            match b.get(j) {
                Some(b'}') => Some((slot, kind, true, i, 0)),
                _ => Some((slot, kind, true, i, lit(b, j, b",\"spec\":")?)),
            }
        })();
        match scanned {
            Some((slot, kind, is_ext, body_at, spec_at)) if utf8(&b[kind.0..kind.1]) => {
                self.canonical = true;
                self.slot = slot;
                self.kind = kind;
                self.is_ext = is_ext;
                self.body_at = body_at;
                self.spec_at = spec_at;
                true
            }
            _ => false,
        }
    }

    /// from_whole reads the kind from the whole parsed value (input that is not canonical).
    fn from_whole(&mut self) {
        let v = self.value();
        let (kind, is_ext) = match v.get("kind") {
            Some(Value::String(s)) => (s.clone(), false),
            Some(Value::Object(m)) => match m.first() {
                Some((k, body)) if k == "extension" => (body.get("type").and_then(Value::as_str).unwrap_or("").to_string(), true),
                Some((k, _)) => (k.clone(), false),
                None => (String::new(), false),
            },
            _ => (String::new(), false),
        };
        self.kind_owned = kind;
        self.is_ext = is_ext;
        self.canonical = false;
    }

    /// Gives back the spec's bytes (the SDK reuses them as the next call's input buffer).
    /// (In place: moving the Spec out would be a copy of the whole struct on wasm32.)
    #[inline]
    fn take_raw(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.raw)
    }

    fn str_at(&self, r: (usize, usize)) -> &str {
        std::str::from_utf8(&self.raw[r.0..r.1]).unwrap_or("")
    }

    /// The whole spec, parsed on first use.
    pub fn value(&self) -> &Value {
        self.whole.get_or_init(|| Value::parse(&self.raw).unwrap_or(Value::Null))
    }
    /// The spec's JSON, as the host sent it.
    pub fn json(&self) -> &[u8] {
        &self.raw
    }
    /// The task's slot.
    pub fn slot(&self) -> &str {
        if self.canonical {
            return self.str_at(self.slot);
        }
        self.value().get("slot").and_then(Value::as_str).unwrap_or("")
    }
    /// The kind's name: an extension's type (`"http-check"`), or `subprocess`, `wasm`,
    /// `container`, `embedded`.
    #[inline]
    pub fn kind(&self) -> &str {
        if self.canonical {
            // SAFETY: scan checked these bytes are UTF-8 before it set canonical, and raw is
            // never changed afterwards.
            return unsafe { std::str::from_utf8_unchecked(&self.raw[self.kind.0..self.kind.1]) };
        }
        &self.kind_owned
    }
    /// Whether the kind is an extension kind.
    pub fn is_extension(&self) -> bool {
        self.is_ext
    }
    /// The body of the kind: `{"mode":…,"env":…}` for subprocess, `{"type","spec"}` for an
    /// extension.
    pub fn kind_body(&self) -> Option<&Value> {
        self.body
            .get_or_init(|| {
                if !self.canonical {
                    return self.value().get("kind")?.as_object()?.first().map(|(_, b)| b.clone());
                }
                if self.body_at == 0 {
                    return None;
                }
                Value::parse_at(&self.raw, self.body_at).ok().map(|(v, _)| v)
            })
            .as_ref()
    }
    /// An extension kind's `spec` (free JSON), if any.
    pub fn extension_spec(&self) -> Option<&Value> {
        self.ext
            .get_or_init(|| {
                if !self.canonical {
                    return self.value().path(&["kind", "extension", "spec"]).cloned();
                }
                if let Some(body) = self.body.get() {
                    return body.as_ref()?.get("spec").cloned();
                }
                if self.spec_at == 0 {
                    return None;
                }
                Value::parse_at(&self.raw, self.spec_at).ok().map(|(v, _)| v)
            })
            .as_ref()
    }
    /// member returns a top-level member after the kind: in canonical JSON, the members after
    /// the kind are parsed once, and the kind's body (which holds an extension's spec, often
    /// most of the input) is skipped, not parsed.
    fn member(&self, key: &str) -> Option<&Value> {
        if !self.canonical {
            return self.value().get(key);
        }
        let rest = self.rest.get_or_init(|| self.parse_rest().unwrap_or_default());
        rest.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    fn parse_rest(&self) -> Option<Vec<(String, Value)>> {
        let b = &self.raw;
        let mut i = if self.body_at == 0 {
            plain_string(b, self.kind.0 - 1)?.1
        } else {
            lit(b, json::skip_value(b, self.body_at)?, b"}")?
        };
        let mut out = Vec::new();
        while b.get(i) == Some(&b',') {
            let (k, j) = Value::parse_at(b, i + 1).ok()?;
            let j = lit(b, j, b":")?;
            let (v, j) = Value::parse_at(b, j).ok()?;
            if let Value::String(k) = k {
                out.push((k, v));
            }
            i = j;
        }
        Some(out)
    }
    /// The timeout per attempt, in milliseconds.
    pub fn timeout_ms(&self) -> Option<i64> {
        self.member("timeout").and_then(Value::as_i64)
    }
    /// `maxRetries`, when set.
    pub fn max_retries(&self) -> Option<i64> {
        self.member("maxRetries").and_then(Value::as_i64)
    }
    /// The task's labels, in key order.
    pub fn labels(&self) -> Vec<(&str, &str)> {
        string_map(self.member("labels"))
    }
    /// One label.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.member("labels").and_then(|l| l.get(key)).and_then(Value::as_str)
    }
    /// The kind's own env (subprocess, wasm, container), in key order. The build input's
    /// [`BuildRequest::env`] is this merged with the host's env: prefer it.
    pub fn kind_env(&self) -> Vec<(&str, &str)> {
        string_map(self.kind_body().and_then(|b| b.get("env")))
    }
}

fn string_map(v: Option<&Value>) -> Vec<(&str, &str)> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.as_str(), s))).collect())
        .unwrap_or_default()
}

fn owned_map(v: Option<&Value>) -> Vec<(String, String)> {
    string_map(v).into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The input of `build` (ABI §5.2).
#[derive(Clone, Debug)]
pub struct BuildRequest {
    /// `{runner}-{slot}-{seq}`, allocated by the host for this build.
    pub run_id: String,
    /// This runner's name.
    pub runner: String,
    /// The kind's env merged with the host's (the host's values win), sorted by key.
    pub env: Vec<(String, String)>,
    pub spec: Spec,
}

impl BuildRequest {
    /// Parses a BuildInput. Canonical input, {"runId":"r","runner":"n"[,"env":{...}],"spec":S},
    /// is read without parsing the spec (S is the rest but the closing brace); other JSON is
    /// parsed whole.
    pub fn parse(json: &[u8]) -> Result<BuildRequest, Error> {
        if let Some(r) = BuildRequest::canonical(json) {
            return Ok(r);
        }
        let v = Value::parse(json).map_err(|e| Error::internal(format!("build input: {}", e)))?;
        let spec = match v.get("spec") {
            Some(s @ Value::Object(_)) => Spec::parse(s.to_json().as_bytes())?,
            _ => return Err(Error::internal("build input: no spec")),
        };
        Ok(BuildRequest {
            run_id: v.get("runId").and_then(Value::as_str).unwrap_or("").to_string(),
            runner: v.get("runner").and_then(Value::as_str).unwrap_or("").to_string(),
            env: owned_map(v.get("env")),
            spec,
        })
    }

    fn canonical(b: &[u8]) -> Option<BuildRequest> {
        let (id, i) = plain_string(b, lit(b, 0, b"{\"runId\":")?)?;
        let (runner, mut i) = plain_string(b, lit(b, i, b",\"runner\":")?)?;
        let mut env = Vec::new();
        if let Some(j) = lit(b, i, b",\"env\":") {
            let (v, end) = Value::parse_at(b, j).ok()?;
            env = owned_map(Some(&v));
            i = end;
        }
        let i = lit(b, i, b",\"spec\":")?;
        if b.len() < i + 2 || b[b.len() - 1] != b'}' {
            return None;
        }
        let spec = Spec::from_host(b[i..b.len() - 1].to_vec()).ok()?;
        Some(BuildRequest {
            run_id: std::str::from_utf8(&b[id.0..id.1]).ok()?.to_string(),
            runner: std::str::from_utf8(&b[runner.0..runner.1]).ok()?.to_string(),
            env,
            spec,
        })
    }
}

/// The input of `run` (ABI §5.6).
#[derive(Clone, Debug)]
pub struct RunRequest {
    pub run_id: String,
    /// 1 for the first attempt.
    pub attempt: i64,
    pub env: Vec<(String, String)>,
    /// The guest plan's payload (`None` when the plan had none).
    pub payload: Option<Value>,
}

impl RunRequest {
    pub fn parse(json: &[u8]) -> Result<RunRequest, Error> {
        let v = Value::parse(json).map_err(|e| Error::internal(format!("run input: {}", e)))?;
        Ok(RunRequest {
            run_id: v.get("runId").and_then(Value::as_str).unwrap_or("").to_string(),
            attempt: v.get("attempt").and_then(Value::as_i64).unwrap_or(1),
            env: owned_map(v.get("env")),
            payload: v.get("payload").cloned(),
        })
    }
    /// The payload, or a `missing_field` error.
    pub fn payload(&self) -> Result<&Value, Error> {
        self.payload.as_ref().ok_or_else(|| Error::missing_field("payload"))
    }
}

// ---------------------------------------------------------------------------------------------
// Outputs

/// A plan (ABI §5.3): what the host executes for the task.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Call this module's `run` with the payload, on a fresh instance.
    Guest { payload: Option<Value> },
    /// A subprocess, where the host's policy allows the command.
    Exec { command: String, args: Vec<String>, env: Vec<(String, String)>, cwd: String, fail_on_non_zero: bool },
    /// A WASI command module, granted only args and env.
    Wasi { module: String, args: Vec<String>, env: Vec<(String, String)> },
}

impl Plan {
    pub fn guest(payload: Option<Value>) -> Plan {
        Plan::Guest { payload }
    }
    /// An exec plan with `failOnNonZero` set; chain [`Plan::env`], [`Plan::cwd`].
    pub fn exec<S: Into<String>>(command: impl Into<String>, args: impl IntoIterator<Item = S>) -> Plan {
        Plan::Exec {
            command: command.into(),
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            cwd: String::new(),
            fail_on_non_zero: true,
        }
    }
    pub fn wasi<S: Into<String>>(module: impl Into<String>, args: impl IntoIterator<Item = S>) -> Plan {
        Plan::Wasi { module: module.into(), args: args.into_iter().map(Into::into).collect(), env: Vec::new() }
    }
    /// Adds an env variable (exec and wasi plans).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Plan {
        if let Plan::Exec { env, .. } | Plan::Wasi { env, .. } = &mut self {
            env.push((key.into(), value.into()));
        }
        self
    }
    /// Sets the working directory (exec plans).
    pub fn cwd(mut self, dir: impl Into<String>) -> Plan {
        if let Plan::Exec { cwd, .. } = &mut self {
            *cwd = dir.into();
        }
        self
    }
    /// Sets `failOnNonZero` (exec plans).
    pub fn fail_on_non_zero(mut self, yes: bool) -> Plan {
        if let Plan::Exec { fail_on_non_zero, .. } = &mut self {
            *fail_on_non_zero = yes;
        }
        self
    }

    /// Checks what the host would refuse.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            Plan::Exec { command, .. } if command.trim().is_empty() => Err(Error::internal("invalid plan: exec.command is blank")),
            Plan::Wasi { module, .. } if module.trim().is_empty() => Err(Error::internal("invalid plan: wasi.module is blank")),
            _ => Ok(()),
        }
    }

    pub fn to_value(&self) -> Value {
        fn env_value(env: &[(String, String)]) -> Value {
            let mut e: Vec<_> = env.to_vec();
            e.sort();
            Value::Object(e.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
        }
        fn strings(a: &[String]) -> Value {
            Value::Array(a.iter().map(|s| Value::from(s.as_str())).collect())
        }
        match self {
            Plan::Guest { payload } => Value::object([(
                "guest",
                Value::Object(payload.iter().map(|p| ("payload".to_string(), p.clone())).collect()),
            )]),
            Plan::Exec { command, args, env, cwd, fail_on_non_zero } => Value::object([(
                "exec",
                Value::object([
                    ("command", Value::from(command.as_str())),
                    ("args", strings(args)),
                    ("env", env_value(env)),
                    ("cwd", Value::from(cwd.as_str())),
                    ("failOnNonZero", Value::Bool(*fail_on_non_zero)),
                ]),
            )]),
            Plan::Wasi { module, args, env } => Value::object([(
                "wasi",
                Value::object([("module", Value::from(module.as_str())), ("args", strings(args)), ("env", env_value(env))]),
            )]),
        }
    }

    pub fn to_json(&self) -> String {
        self.to_value().to_json()
    }
}

/// What `describe` returns (ABI §5.4).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Description {
    pub version: String,
    /// The kinds handled; the host asks `supports` only for these (empty: every kind).
    pub kinds: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub description: String,
}

impl Description {
    pub fn new(version: &str) -> Description {
        Description { version: version.to_string(), ..Description::default() }
    }
    pub fn kind(mut self, kind: &str) -> Description {
        self.kinds.push(kind.to_string());
        self
    }
    pub fn label(mut self, key: &str, value: &str) -> Description {
        self.labels.push((key.to_string(), value.to_string()));
        self
    }
    pub fn description(mut self, text: &str) -> Description {
        self.description = text.to_string();
        self
    }
    pub fn to_json(&self) -> String {
        let mut m = Vec::new();
        if !self.version.is_empty() {
            m.push(("version".to_string(), Value::from(self.version.as_str())));
        }
        if !self.kinds.is_empty() {
            m.push(("kinds".to_string(), Value::Array(self.kinds.iter().map(|k| Value::from(k.as_str())).collect())));
        }
        if !self.labels.is_empty() {
            let mut l = self.labels.clone();
            l.sort();
            m.push(("labels".to_string(), Value::Object(l.into_iter().map(|(k, v)| (k, Value::String(v))).collect())));
        }
        if !self.description.is_empty() {
            m.push(("description".to_string(), Value::from(self.description.as_str())));
        }
        Value::Object(m).to_json()
    }
}

// ---------------------------------------------------------------------------------------------
// The runner

/// What a runner module implements. One instance never receives two calls at once.
pub trait Runner {
    /// The runner's unique name: 1-64 characters of `[A-Za-z0-9._-]`.
    fn name(&self) -> &str;
    /// Version, kinds and labels. The default declares nothing (asked for every kind).
    fn describe(&self) -> Description {
        Description::default()
    }
    /// Whether the runner builds this task. Called for every task of a declared kind: keep it
    /// cheap. Return `Err` to report a fault (counted as "no").
    fn supports(&self, spec: &Spec) -> Result<bool, Error>;
    /// Turns the task into a plan.
    fn build(&self, req: &BuildRequest) -> Result<Plan, Error>;
    /// Executes a guest plan; the result is the task's output (any bytes; JSON is
    /// conventional). The default fails: runners that only build exec or wasi plans need none.
    fn run(&self, req: &RunRequest) -> Result<Vec<u8>, Error> {
        let _ = req;
        Err(Error::internal("runner has no run"))
    }
}

// ---------------------------------------------------------------------------------------------
// Logging

/// Log levels (ABI §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// Logs `msg` through the host (at most 256 records per call; longer than 4 KiB truncated).
pub fn log(level: Level, msg: &str) {
    host::log(level as i32, msg.as_bytes());
}
pub fn debug(msg: &str) {
    log(Level::Debug, msg)
}
pub fn info(msg: &str) {
    log(Level::Info, msg)
}
pub fn warn(msg: &str) {
    log(Level::Warn, msg)
}
pub fn error(msg: &str) {
    log(Level::Error, msg)
}

/// `solti::logf!(Info, "built {} for {}", what, who)`.
#[macro_export]
macro_rules! logf {
    ($level:ident, $($arg:tt)*) => { $crate::log($crate::Level::$level, &::std::format!($($arg)*)) };
}

// ---------------------------------------------------------------------------------------------
// Live output

/// The streams of live output (ABI §4, `emit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Stream {
    Stdout = 1,
    Stderr = 2,
}

/// Streams `text` live to `stream` during `run` through the host's optional `emit` import: the
/// host splits it at newlines (a trailing newline ends the last line) and hands each line to
/// whoever supervises the task (`solti-wasm run` prints them). Lines are not the run's result;
/// outside `run` the host logs them at debug level. At most 10 000 lines per call are kept,
/// each at most 4 KiB ([`MAX_LINE_BYTES`]; longer ones are truncated).
///
/// A module imports `emit` only if it calls one of the emit functions: a host older than `emit`
/// refuses a module that imports it.
pub fn emit_to(stream: Stream, text: &str) {
    host::emit(stream as i32, text.as_bytes());
}
/// Streams a line (or several, separated by newlines) to the run's stdout: see [`emit_to`].
pub fn emit(line: &str) {
    emit_to(Stream::Stdout, line)
}
/// Streams a line (or several) to the run's stderr: see [`emit_to`].
pub fn emit_err(line: &str) {
    emit_to(Stream::Stderr, line)
}

/// `solti::emitf!(Stdout, "step {} of {}", i, n)`: formats, then emits once (see [`emit_to`]).
#[macro_export]
macro_rules! emitf {
    ($stream:ident, $($arg:tt)*) => { $crate::emit_to($crate::Stream::$stream, &::std::format!($($arg)*)) };
}

/// A writer whose every write, and every `write!`/`writeln!` (formatted first, then sent at
/// once), is emitted on a stream: for APIs that take an `io::Write` or a `fmt::Write`.
///
/// ```ignore
/// use std::io::Write;
/// writeln!(solti::EmitWriter(solti::Stream::Stderr), "retrying in {} ms", ms).ok();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmitWriter(pub Stream);

impl std::io::Write for EmitWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        host::emit(self.0 as i32, buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    // The default would emit each piece of the format string separately (and the host would
    // make each one a line).
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> std::io::Result<()> {
        emit_to(self.0, &fmt::format(args));
        Ok(())
    }
}

impl fmt::Write for EmitWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        emit_to(self.0, s);
        Ok(())
    }
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> fmt::Result {
        emit_to(self.0, &fmt::format(args));
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Host imports

#[cfg(target_arch = "wasm32")]
mod host {
    #[link(wasm_import_module = "solti")]
    extern "C" {
        #[link_name = "input"]
        fn solti_input(dst: *mut u8);
        #[link_name = "output"]
        fn solti_output(ptr: *const u8, len: u32);
        #[link_name = "log"]
        fn solti_log(level: i32, ptr: *const u8, len: u32);
    }
    pub fn input(len: i32) -> Vec<u8> {
        input_into(Vec::new(), len)
    }
    /// input_into reads the input into buf, reusing its capacity.
    #[inline]
    pub fn input_into(mut buf: Vec<u8>, len: i32) -> Vec<u8> {
        let n = if len > 0 { len as usize } else { 0 };
        buf.clear();
        buf.reserve(n);
        if n > 0 {
            // SAFETY: the host writes exactly n bytes at buf's address (or traps the call), so
            // all n bytes are initialised before the length covers them; not zeroing them first
            // saves a pass over the input.
            unsafe {
                solti_input(buf.as_mut_ptr());
                buf.set_len(n);
            }
        }
        buf
    }
    pub fn output(b: &[u8]) {
        // SAFETY: the host copies len bytes during the call.
        unsafe { solti_output(b.as_ptr(), b.len() as u32) }
    }
    pub fn log(level: i32, b: &[u8]) {
        // SAFETY: as for output.
        unsafe { solti_log(level, b.as_ptr(), b.len() as u32) }
    }
    /// The optional emit import is declared here, where it is used, and nowhere else: a module
    /// that never emits does not import it (the linker drops what no live code calls).
    pub fn emit(stream: i32, b: &[u8]) {
        #[link(wasm_import_module = "solti")]
        extern "C" {
            #[link_name = "emit"]
            fn solti_emit(stream: i32, ptr: *const u8, len: u32);
        }
        // SAFETY: as for output.
        unsafe { solti_emit(stream, b.as_ptr(), b.len() as u32) }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod host {
    // Outside wasm (native unit tests of a runner) there is no host: logs go to stderr.
    pub fn input(_len: i32) -> Vec<u8> {
        Vec::new()
    }
    pub fn input_into(mut buf: Vec<u8>, _len: i32) -> Vec<u8> {
        buf.clear();
        buf
    }
    pub fn output(_b: &[u8]) {}
    pub fn log(level: i32, b: &[u8]) {
        eprintln!("{} {}", ["DEBUG", "INFO", "WARN", "ERROR"][(level & 3) as usize], String::from_utf8_lossy(b));
    }
    // Emitted text goes to the process's stdout or stderr, ended by a newline.
    pub fn emit(stream: i32, b: &[u8]) {
        #[cfg(test)]
        EMITTED.with(|e| e.borrow_mut().push((stream, b.to_vec())));
        let text = String::from_utf8_lossy(b);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        if stream == 2 {
            eprintln!("{}", text);
        } else {
            println!("{}", text);
        }
    }
    #[cfg(test)]
    thread_local! {
        // The emit calls of the current test thread: (stream, bytes).
        pub static EMITTED: std::cell::RefCell<Vec<(i32, Vec<u8>)>> = std::cell::RefCell::new(Vec::new());
    }
}

/// The export glue used by [`export_runner!`]; not a stable API.
#[doc(hidden)]
pub mod __export {
    use super::*;

    fn reply(rc: i32, out: &[u8]) -> i32 {
        if out.len() > MAX_OUTPUT_BYTES {
            let e = Error::internal(format!("output of {} bytes exceeds the ABI limit of {}", out.len(), MAX_OUTPUT_BYTES));
            host::output(e.to_json().as_bytes());
            return if rc == 0 || rc == 1 { 1 } else { rc };
        }
        host::output(out);
        rc
    }

    fn fail(rc: i32, e: &Error) -> i32 {
        host::output(e.to_json().as_bytes());
        rc
    }

    /// Installs a panic hook, once, that logs the panic at error level before the trap. The
    /// check is inlined into every export; the installation is out of line.
    #[inline(always)]
    fn hook() {
        static mut DONE: bool = false;
        // SAFETY: a wasm instance is single-threaded.
        unsafe {
            if !DONE {
                DONE = true;
                install_hook();
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn install_hook() {
        std::panic::set_hook(Box::new(|info| super::error(&format!("panic: {}", info))));
    }

    pub fn name(r: &dyn Runner) -> i32 {
        hook();
        reply(0, r.name().as_bytes())
    }
    pub fn describe(r: &dyn Runner) -> i32 {
        hook();
        reply(0, r.describe().to_json().as_bytes())
    }
    /// The input buffer of supports, kept across calls: the hot path allocates nothing.
    static mut SUPPORTS_INPUT: Vec<u8> = Vec::new();

    /// supports is generic, and inlined into the export, so that the runner's supports is a
    /// direct call the compiler can inline (not a call through the trait object's vtable).
    #[inline(always)]
    pub fn supports<R: Runner + ?Sized>(r: &R, len: i32) -> i32 {
        hook();
        // SAFETY: a wasm instance is single-threaded and supports does not re-enter itself.
        let buf = host::input_into(unsafe { std::mem::take(&mut SUPPORTS_INPUT) }, len);
        let mut s = Spec::raw(buf);
        let res = s.read().and_then(|_| r.supports(&s));
        unsafe { SUPPORTS_INPUT = s.take_raw() };
        match res {
            Ok(true) => 1,
            Ok(false) => 0,
            Err(e) => fail(-1, &e),
        }
    }
    pub fn build(r: &dyn Runner, len: i32) -> i32 {
        hook();
        let res = BuildRequest::parse(&host::input(len)).and_then(|b| r.build(&b)).and_then(|p| p.validate().map(|_| p));
        match res {
            Ok(p) => reply(0, p.to_json().as_bytes()),
            Err(e) => fail(1, &e),
        }
    }
    pub fn run(r: &dyn Runner, len: i32) -> i32 {
        hook();
        match RunRequest::parse(&host::input(len)).and_then(|q| r.run(&q)) {
            Ok(out) => reply(0, &out),
            Err(e) => fail(1, &e),
        }
    }
}

/// Exports the ABI v1 functions for a runner: `solti::export_runner!(MyRunner);` The argument is
/// a constant expression of a type implementing [`Runner`] and `Sync` (a unit struct, or a
/// struct built by a `const fn`; a wasm instance is single-threaded, but statics must be Sync).
#[macro_export]
macro_rules! export_runner {
    ($runner:expr) => {
        const _: () = {
            static __SOLTI_RUNNER: &(dyn $crate::Runner + Sync) = &$runner;
            #[no_mangle]
            pub extern "C" fn solti_abi_v1() {}
            #[no_mangle]
            pub extern "C" fn name() -> i32 {
                $crate::__export::name(__SOLTI_RUNNER)
            }
            #[no_mangle]
            pub extern "C" fn describe() -> i32 {
                $crate::__export::describe(__SOLTI_RUNNER)
            }
            #[no_mangle]
            pub extern "C" fn supports(len: i32) -> i32 {
                $crate::__export::supports(__SOLTI_RUNNER, len)
            }
            #[no_mangle]
            pub extern "C" fn build(len: i32) -> i32 {
                $crate::__export::build(__SOLTI_RUNNER, len)
            }
            #[no_mangle]
            pub extern "C" fn run(len: i32) -> i32 {
                $crate::__export::run(__SOLTI_RUNNER, len)
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_access() {
        let s = Spec::parse(br#"{"slot":"a","kind":{"extension":{"type":"t","spec":{"x":1}}},"timeout":5,"labels":{"k":"v"}}"#).unwrap();
        assert_eq!(s.kind(), "t");
        assert_eq!(s.timeout_ms(), Some(5));
        assert_eq!(s.label("k"), Some("v"));
        assert_eq!(s.extension_spec().unwrap().to_json(), r#"{"x":1}"#);
        // The host's path reads the kind alone, and the rest on demand.
        let h = Spec::from_host(br#"{"slot":"a","kind":{"extension":{"type":"t","spec":{"x":[1,"}"]}}},"timeout":5,"labels":{"k":"v"}}"#.to_vec()).unwrap();
        assert_eq!((h.slot(), h.kind(), h.is_extension()), ("a", "t", true));
        assert_eq!(h.label("k"), Some("v"));
        assert_eq!(h.timeout_ms(), Some(5));
        assert_eq!(h.extension_spec().unwrap().to_json(), r#"{"x":[1,"}"]}"#);
        assert_eq!(h.kind_body().unwrap().get("type").and_then(Value::as_str), Some("t"));
        let e = Spec::from_host(br#"{"slot":"b","kind":"embedded","timeout":7}"#.to_vec()).unwrap();
        assert_eq!((e.kind(), e.is_extension(), e.timeout_ms()), ("embedded", false, Some(7)));
        assert!(e.kind_body().is_none());
        let sp = Spec::from_host(br#"{"slot":"c","kind":{"subprocess":{"mode":{"command":{"command":"ls"}},"env":{"A":"1"}}},"timeout":9}"#.to_vec()).unwrap();
        assert_eq!((sp.kind(), sp.timeout_ms(), sp.kind_env()), ("subprocess", Some(9), vec![("A", "1")]));
        // Not canonical: parsed whole.
        let n = Spec::from_host(br#"{ "kind": {"extension": {"spec": 1, "type": "u"}}, "slot": "d" }"#.to_vec()).unwrap();
        assert_eq!((n.slot(), n.kind(), n.extension_spec().unwrap().to_json()), ("d", "u", "1".to_string()));
        assert!(Spec::from_host(b"{nope".to_vec()).is_err());
        let b = BuildRequest::parse(br#"{"runId":"r-a-1","runner":"r","env":{"E":"2"},"spec":{"slot":"a","kind":"embedded","timeout":3}}"#).unwrap();
        assert_eq!((b.run_id.as_str(), b.runner.as_str(), b.env.clone(), b.spec.timeout_ms()), ("r-a-1", "r", vec![("E".to_string(), "2".to_string())], Some(3)));
        let p = Plan::exec("ls", ["-l"]).env("B", "2").env("A", "1");
        assert_eq!(p.to_json(), r#"{"exec":{"command":"ls","args":["-l"],"env":{"A":"1","B":"2"},"cwd":"","failOnNonZero":true}}"#);
    }

    #[test]
    fn emit_calls() {
        use std::io::Write as _;
        host::EMITTED.with(|e| e.borrow_mut().clear());
        emit("one");
        emit_err("oops");
        emitf!(Stdout, "step {} of {}", 1, 2);
        writeln!(EmitWriter(Stream::Stderr), "{}={}", "k", 42).unwrap();
        EmitWriter(Stream::Stdout).write_all(b"raw\n").unwrap();
        fmt::Write::write_fmt(&mut EmitWriter(Stream::Stdout), format_args!("a{}", 'b')).unwrap();
        let got: Vec<(i32, String)> =
            host::EMITTED.with(|e| e.borrow().iter().map(|(s, b)| (*s, String::from_utf8(b.clone()).unwrap())).collect());
        let want: Vec<(i32, String)> = vec![
            (1, "one".into()),
            (2, "oops".into()),
            (1, "step 1 of 2".into()),
            (2, "k=42\n".into()), // one call per writeln!, not one per piece
            (1, "raw\n".into()),
            (1, "ab".into()),
        ];
        assert_eq!(got, want);
    }
}
