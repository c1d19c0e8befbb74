//! `akira:log`: console output, rate-limited per app
//! ([`akira_caps::Guard::console_line`]: lines past
//! [`akira_caps::guard::CONSOLE_LINES_PER_S`] over a rolling second are
//! dropped, answered `AKIRA_EBUSY` and counted).

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};

use crate::board::{Board, Level};
use crate::errno::Errno;
use crate::host_fn;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, memory_and_state, reply};

/// Longest message one `write` accepts, in bytes.
pub const MAX_MESSAGE: u32 = 1024;

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::LOG.import,
    capability: ModuleCapability::Builtin(Capability::Log),
    functions: akira_abi::LOG.functions,
};

/// The `akira:log` module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Log;

fn write<B: Board>(c: &mut Caller<'_, AppState<B>>, level: u32, ptr: u32, len: u32) -> Result<i32, Refusal> {
    let level = Level::from_u32(level).ok_or(Errno::Invalid)?;
    if len > MAX_MESSAGE {
        return Err(Errno::TooLarge.into());
    }
    let (memory, state) = memory_and_state(c)?;
    let message = memory.str(ptr, len)?;
    let now = state.board().now().as_micros();
    if !state.guard_mut().console_line(now) {
        return Err(Errno::Busy.into());
    }
    state.work(u64::from(len));
    let info = state.info().clone();
    state.board_mut().log(&info, level, message);
    Ok(0)
}

impl<B: Board> HostModule<B> for Log {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        host_fn!(linker, SPEC, "write", |c: Caller<'_, AppState<B>>, level: u32, ptr: u32, len: u32| {
            reply(write(&mut c, level, ptr, len))
        })?;
        host_fn!(linker, SPEC, "dropped", |c: Caller<'_, AppState<B>>| -> i64 {
            i64::from(c.data().guard().dropped_lines())
        })?;
        Ok(())
    }
}
