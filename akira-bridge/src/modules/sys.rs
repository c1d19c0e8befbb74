//! `akira:sys`: the app's own identity, yielding and exiting, and the
//! device's power state: uptime, why it last reset, and the app's
//! low-power hint (through [`Board`]'s default methods, so every board
//! has them).

use crate::host::{Caller, Linker};
use akira_caps::{ABI_VERSION, Capability, ModuleCapability, ModuleSpec};

use crate::board::{Board, PowerHint};
use crate::errno::Errno;
use crate::host_fn;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, Wait, WaitKind, memory_and_state, reply};

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::SYS.import,
    capability: ModuleCapability::Builtin(Capability::Sys),
    functions: akira_abi::SYS.functions,
};

/// The `akira:sys` module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sys;

fn app_name<B: Board>(c: &mut Caller<'_, AppState<B>>, ptr: u32, cap: u32) -> Result<i32, Refusal> {
    let (mut memory, state) = memory_and_state(c)?;
    let name = state.info().name.as_bytes();
    let n = name.len().min(cap as usize);
    memory.write(ptr, &name[..n])?;
    let len = name.len();
    state.work(n as u64);
    Ok(len as i32)
}

fn sleep_hint<B: Board>(state: &mut AppState<B>, level: u32) -> i32 {
    let Some(hint) = PowerHint::from_u32(level) else { return Errno::Invalid.code() };
    let info = state.info().clone();
    state.board_mut().power_hint(&info, hint);
    0
}

impl<B: Board> HostModule<B> for Sys {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        host_fn!(linker, SPEC, "exit", |c: C<'_, B>, code: i32| -> Result<(), crate::host::Error> {
            Err(crate::host::exit(code))
        })?;
        host_fn!(linker, SPEC, "yield_now", |c: C<'_, B>| {
            let state = c.data_mut();
            let now = state.board().now();
            reply(Err(state.suspend(Wait { until: now, kind: WaitKind::Yield })))
        })?;
        host_fn!(linker, SPEC, "app_name", |c: C<'_, B>, ptr: u32, cap: u32| reply(app_name(&mut c, ptr, cap)))?;
        host_fn!(linker, SPEC, "app_version", |c: C<'_, B>| -> i64 {
            let v = c.data().info().version;
            i64::from(v.major) << 32 | i64::from(v.minor) << 16 | i64::from(v.patch)
        })?;
        host_fn!(linker, SPEC, "abi_version", |c: C<'_, B>| -> i32 { i32::from(ABI_VERSION) })?;
        host_fn!(linker, SPEC, "denials", |c: C<'_, B>| -> i32 {
            c.data().guard().total_denials().min(i32::MAX as u32) as i32
        })?;
        host_fn!(linker, SPEC, "uptime_us", |c: C<'_, B>| -> i64 {
            c.data().board().uptime_us().min(i64::MAX as u64) as i64
        })?;
        host_fn!(linker, SPEC, "reset_reason", |c: C<'_, B>| -> i32 { c.data().board().reset_reason() as i32 })?;
        host_fn!(linker, SPEC, "sleep_hint", |c: C<'_, B>, level: u32| -> i32 { sleep_hint(c.data_mut(), level) })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Recorder, recorder_board, state};
    use crate::{AppInfo, ResetReason};
    use akira_caps::CapabilitySet;

    /// A board that woke from deep sleep and keeps the hints it gets.
    struct Sleepy {
        rec: Recorder,
        hints: Vec<(u16, PowerHint)>,
    }

    impl Board for Sleepy {
        fn now(&self) -> crate::Instant {
            self.rec.now()
        }
        fn log(&mut self, app: &AppInfo, level: crate::Level, message: &str) {
            self.rec.log(app, level, message)
        }
        fn reset_reason(&self) -> ResetReason {
            ResetReason::Wakeup
        }
        fn power_hint(&mut self, app: &AppInfo, hint: PowerHint) {
            self.hints.push((app.id, hint));
        }
    }

    #[test]
    fn hints_reach_the_board_and_bad_levels_do_not() {
        let caps = CapabilitySet { sys: true, ..Default::default() };
        let mut s = state(Sleepy { rec: Recorder::default(), hints: Vec::new() }, &caps);
        assert_eq!(sleep_hint(&mut s, 2), 0);
        assert_eq!(sleep_hint(&mut s, 0), 0);
        assert_eq!(sleep_hint(&mut s, 3), Errno::Invalid.code());
        assert_eq!(s.board().hints, [(1, PowerHint::Deep), (1, PowerHint::Active)]);
        assert_eq!(s.board().reset_reason() as i32, 7);
    }

    struct Plain {
        rec: Recorder,
    }
    recorder_board!(Plain);

    #[test]
    fn boards_that_say_nothing_get_the_defaults() {
        let mut b = Plain { rec: Recorder { now: 1_234, events: Vec::new() } };
        assert_eq!(b.uptime_us(), 1_234, "uptime is the clock's reading");
        assert_eq!(b.reset_reason(), ResetReason::Unknown);
        let info = AppInfo { id: 0, name: Default::default(), version: Default::default() };
        b.power_hint(&info, PowerHint::Deep);
        assert!(b.rec.events.is_empty());
    }
}
