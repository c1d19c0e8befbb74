//! `akira:timer`: monotonic time and sleeping.
//!
//! A sleep suspends the app; the scheduler resumes it when the deadline
//! passes, running other apps and firmware tasks meanwhile.

use akira_caps::{Capability, ModuleCapability, ModuleSpec};
use wasmi::{Caller, Linker};

use crate::board::Board;
use crate::errno::Errno;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, Wait, WaitKind, reply};
use crate::time::Instant;

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::TIMER.import,
    capability: ModuleCapability::Builtin(Capability::Timer),
    functions: akira_abi::TIMER.functions,
};

/// The `akira:timer` module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timer;

fn sleep_until<B: Board>(state: &mut AppState<B>, until: Instant) -> Result<i32, Refusal> {
    Err(state.suspend(Wait { until, kind: WaitKind::Sleep }))
}

fn micros(value: i64) -> Result<u64, Refusal> {
    u64::try_from(value).map_err(|_| Errno::Invalid.into())
}

impl<B: Board> HostModule<B> for Timer {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        linker.func_wrap(SPEC.import, "now_us", |c: Caller<'_, AppState<B>>| -> i64 {
            // The clock counts microseconds in a u64: i64 covers 292k years.
            c.data().board().now().as_micros() as i64
        })?;
        linker.func_wrap(SPEC.import, "sleep_us", |mut c: Caller<'_, AppState<B>>, us: i64| {
            reply(micros(us).and_then(|us| {
                let state = c.data_mut();
                let until = state.board().now().saturating_add(core::time::Duration::from_micros(us));
                sleep_until(state, until)
            }))
        })?;
        linker.func_wrap(SPEC.import, "sleep_until_us", |mut c: Caller<'_, AppState<B>>, t: i64| {
            reply(micros(t).and_then(|t| sleep_until(c.data_mut(), Instant::from_micros(t))))
        })?;
        Ok(())
    }
}
