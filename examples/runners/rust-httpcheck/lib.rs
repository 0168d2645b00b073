//! rust-httpcheck: a solti-wasm runner (Rust SDK) for the extension kind "http-check".
//!
//! Spec: {"url":"https://example.com/health","expectStatus":200,"timeoutSeconds":5,"method":"GET"}
//! (only url is required). Build checks it and plans an exec of curl that fails unless the
//! response has the expected status; the URL is passed as an argument, never spliced into the
//! shell text. Build with, from the repository root:
//!
//!     guest-sdk/rust/build.sh examples/runners/rust-httpcheck/lib.rs examples/runners/rust-httpcheck.wasm

use solti::json::Value;
use solti::{BuildRequest, Description, Error, Plan, Runner, Spec};

struct HttpCheck;

/// The check, run by sh with the parameters as positional arguments ($1..$4).
const SCRIPT: &str = r#"code=$(curl -sS -o /dev/null -X "$1" --max-time "$2" -w '%{http_code}' -- "$3") || exit 2
[ "$code" = "$4" ] || { echo "http-check: $3 answered $code, want $4" >&2; exit 1; }"#;

const METHODS: [&str; 3] = ["GET", "HEAD", "OPTIONS"];

impl Runner for HttpCheck {
    fn name(&self) -> &str {
        "rust-httpcheck"
    }

    fn describe(&self) -> Description {
        Description::new("0.1.0")
            .kind("http-check")
            .label("lang", "rust")
            .label("example", "httpcheck")
            .description("checks that a URL answers with the expected HTTP status (curl, exec plan)")
    }

    fn supports(&self, spec: &Spec) -> Result<bool, Error> {
        Ok(spec.kind() == "http-check")
    }

    fn build(&self, req: &BuildRequest) -> Result<Plan, Error> {
        let spec = req.spec.extension_spec().ok_or_else(|| Error::missing_field("url"))?;
        if spec.as_object().is_none() {
            return Err(Error::invalid_spec("the http-check spec is not an object"));
        }
        for (key, _) in spec.as_object().unwrap_or(&[]) {
            if !["url", "expectStatus", "timeoutSeconds", "method"].contains(&key.as_str()) {
                return Err(Error::invalid_spec(format!("unknown field {:?}", key)));
            }
        }
        let url = spec.get("url").and_then(Value::as_str).ok_or_else(|| Error::missing_field("url"))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 9 || url.contains(char::is_whitespace) {
            return Err(Error::invalid_spec(format!("url {:?}: want an http:// or https:// URL without spaces", url)));
        }
        let status = match spec.get("expectStatus") {
            None => 200,
            Some(v) => match v.as_i64() {
                Some(s) if (100..=599).contains(&s) => s,
                _ => return Err(Error::invalid_spec("expectStatus: want an HTTP status, 100 to 599")),
            },
        };
        // Default: the task's own timeout, rounded up to whole seconds.
        let task_secs = (req.spec.timeout_ms().unwrap_or(10_000) + 999) / 1000;
        let secs = match spec.get("timeoutSeconds") {
            None => task_secs,
            Some(v) => match v.as_i64() {
                Some(s) if s > 0 && s <= 3600 => s,
                _ => return Err(Error::invalid_spec("timeoutSeconds: want 1 to 3600")),
            },
        };
        let method = spec.get("method").and_then(Value::as_str).unwrap_or("GET");
        if !METHODS.contains(&method) {
            return Err(Error::invalid_spec(format!("method {:?}: want one of GET, HEAD, OPTIONS", method)));
        }
        solti::logf!(Debug, "{} {} expecting {} within {}s", method, url, status, secs);
        let mut plan = Plan::exec("sh", ["-c", SCRIPT, "http-check", method, &secs.to_string(), url, &status.to_string()]);
        for (k, v) in &req.env {
            plan = plan.env(k.as_str(), v.as_str());
        }
        Ok(plan)
    }
}

solti::export_runner!(HttpCheck);
