//! The conformance runner in Rust: the contract is tests/conformance/README.md.

use solti::json::Value;
use solti::{BuildRequest, Description, EmitWriter, Error, Plan, RunRequest, Runner, Spec, Stream};
use std::io::Write;

struct Conformance;

fn map(pairs: &[(String, String)]) -> Value {
    Value::Object(pairs.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect())
}

impl Runner for Conformance {
    fn name(&self) -> &str {
        "conformance-rust"
    }

    fn describe(&self) -> Description {
        Description::new("1.0.0")
            .kind("conformance")
            .label("lang", "rust")
            .label("suite", "conformance")
            .description("solti-wasm conformance runner")
    }

    fn supports(&self, spec: &Spec) -> Result<bool, Error> {
        match spec.label("conformance") {
            Some("error") => Err(Error::internal("supports failed on request")),
            Some("refuse") => Ok(false),
            _ => Ok(spec.kind() == "conformance"),
        }
    }

    fn build(&self, req: &BuildRequest) -> Result<Plan, Error> {
        let spec = req.spec.extension_spec().ok_or_else(|| Error::missing_field("spec"))?;
        let op = spec.get("op").and_then(Value::as_str).ok_or_else(|| Error::missing_field("op"))?;
        match op {
            "echo" => {
                let text = spec.get("text").and_then(Value::as_str).ok_or_else(|| Error::missing_field("text"))?;
                let labels = req.spec.labels().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
                Ok(Plan::guest(Some(Value::object([
                    ("runId", Value::from(req.run_id.as_str())),
                    ("runner", Value::from(req.runner.as_str())),
                    ("slot", Value::from(req.spec.slot())),
                    ("timeout", req.spec.value().get("timeout").cloned().unwrap_or(Value::Null)),
                    ("labels", map(&labels)),
                    ("env", map(&req.env)),
                    ("text", Value::from(text)),
                    ("value", spec.get("value").cloned().unwrap_or(Value::Null)),
                ]))))
            }
            "error" => Err(Error::new(
                spec.get("code").and_then(Value::as_str).unwrap_or(""),
                spec.get("message").and_then(Value::as_str).unwrap_or(""),
            )),
            "trap" => panic!("trap requested"),
            "badplan" => Ok(Plan::exec("", Vec::<String>::new())),
            "log" => {
                solti::debug("conformance debug");
                solti::info("conformance info");
                solti::warn("conformance warn");
                solti::error("conformance error");
                Ok(Plan::guest(None))
            }
            other => Err(Error::invalid_spec(format!("unknown op {}", other))),
        }
    }

    fn run(&self, req: &RunRequest) -> Result<Vec<u8>, Error> {
        if req.payload.as_ref().and_then(|p| p.get("emit")).and_then(Value::as_bool) == Some(true) {
            solti::emit("conformance stdout ✓");
            solti::emit_err("conformance stderr");
            write!(EmitWriter(Stream::Stdout), "conformance {}\nconformance {}\n", 1, 2).ok();
        }
        if let Some(msg) = req.payload.as_ref().and_then(|p| p.get("fail")).and_then(Value::as_str) {
            return Err(Error::io(msg));
        }
        let out = Value::object([
            ("runId", Value::from(req.run_id.as_str())),
            ("attempt", Value::from(req.attempt)),
            ("env", map(&req.env)),
            ("payload", req.payload.clone().unwrap_or(Value::Null)),
        ]);
        Ok(out.to_json().into_bytes())
    }
}

solti::export_runner!(Conformance);
