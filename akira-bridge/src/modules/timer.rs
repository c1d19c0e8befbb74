//! `akira:timer`: monotonic time and sleeping.
//!
//! A sleep suspends the app; the scheduler resumes it when the deadline
//! passes, running other apps and firmware tasks meanwhile.

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};

use crate::board::Board;
use crate::errno::Errno;
use crate::host_fn;
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
        type C<'a, B> = Caller<'a, AppState<B>>;
        host_fn!(linker, SPEC, "now_us", |c: C<'_, B>| -> i64 {
            // The clock counts microseconds in a u64: i64 covers 292k years.
            c.data().board().now().as_micros() as i64
        })?;
        host_fn!(linker, SPEC, "sleep_us", |c: C<'_, B>, us: i64| {
            reply(micros(us).and_then(|us| {
                let state = c.data_mut();
                let until = state.board().now().saturating_add(core::time::Duration::from_micros(us));
                sleep_until(state, until)
            }))
        })?;
        host_fn!(linker, SPEC, "sleep_until_us", |c: C<'_, B>, t: i64| {
            // A time before boot has passed, like any other past time: the
            // app sleeps until the next round (docs/abi.md).
            let until = Instant::from_micros(u64::try_from(t).unwrap_or(0));
            reply(sleep_until(c.data_mut(), until))
        })?;
        Ok(())
    }
}
