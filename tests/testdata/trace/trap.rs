//! trap-rust: a runner whose supports panics (a trap: panic=abort) three calls deep, for
//! TestGuestStackTraces, which builds it with debug info and checks the stack the host reports.

use solti::{BuildRequest, Error, Plan, Runner, Spec};

#[inline(never)]
fn trap_depth3(n: usize) -> usize {
    if n > 0 {
        panic!("trap_depth3 panics on purpose");
    }
    n
}

#[inline(never)]
fn trap_depth2(n: usize) -> usize {
    trap_depth3(n + 1) + 1
}

#[inline(never)]
fn trap_depth1(n: usize) -> usize {
    trap_depth2(n * 2) + 1
}

struct Trap;

impl Runner for Trap {
    fn name(&self) -> &str {
        "trap-rust"
    }

    fn supports(&self, spec: &Spec) -> Result<bool, Error> {
        Ok(trap_depth1(spec.kind().len()) > 0)
    }

    fn build(&self, _req: &BuildRequest) -> Result<Plan, Error> {
        Err(Error::internal("never asked"))
    }
}

solti::export_runner!(Trap);
