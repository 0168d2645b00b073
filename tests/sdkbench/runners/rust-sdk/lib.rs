//! The Rust SDK's kind-check runner for tests/sdkbench: supports checks the kind only; build
//! plans the extension spec as the guest payload; run returns the payload.

use solti::{BuildRequest, Error, Plan, RunRequest, Runner, Spec};

struct Bench;

impl Runner for Bench {
    fn name(&self) -> &str {
        "bench-rust-sdk"
    }
    fn supports(&self, spec: &Spec) -> Result<bool, Error> {
        Ok(spec.kind() == "bench")
    }
    fn build(&self, req: &BuildRequest) -> Result<Plan, Error> {
        Ok(Plan::guest(req.spec.extension_spec().cloned()))
    }
    fn run(&self, req: &RunRequest) -> Result<Vec<u8>, Error> {
        Ok(req.payload()?.to_json().into_bytes())
    }
}

solti::export_runner!(Bench);
