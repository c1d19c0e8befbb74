//! `akira:sys`: the app's own identity, yielding and exiting.

use akira_caps::{ABI_VERSION, Capability, ModuleCapability, ModuleSpec, imports::builtin_import};
use wasmi::{Caller, Linker};

use super::{sig, stable};
use crate::board::Board;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, Wait, WaitKind, memory_and_state, reply};

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: builtin_import(Capability::Sys),
    capability: ModuleCapability::Builtin(Capability::Sys),
    functions: &[
        stable("exit", sig::I, sig::NONE, "exit(code): end the app with `code`; does not return"),
        stable("yield_now", sig::NONE, sig::I, "yield_now(): let other apps run, then continue; 0"),
        stable(
            "app_name",
            sig::II,
            sig::I,
            "app_name(ptr, cap): copy up to `cap` bytes of the app's name; its full length",
        ),
        stable("app_version", sig::NONE, sig::L, "app_version(): major << 32 | minor << 16 | patch"),
        stable("abi_version", sig::NONE, sig::I, "abi_version(): the ABI the firmware provides"),
        stable("denials", sig::NONE, sig::I, "denials(): calls of this app the guard refused"),
    ],
};

/// The `akira:sys` module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sys;

fn app_name<B: Board>(c: &mut Caller<'_, AppState<B>>, ptr: u32, cap: u32) -> Result<i32, Refusal> {
    let (mut memory, state) = memory_and_state(c)?;
    let name = state.info().name.as_bytes();
    let n = name.len().min(cap as usize);
    memory.write(ptr, &name[..n])?;
    Ok(name.len() as i32)
}

impl<B: Board> HostModule<B> for Sys {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        let m = SPEC.import;
        linker.func_wrap(m, "exit", |_: C<'_, B>, code: i32| -> Result<(), wasmi::Error> {
            Err(wasmi::Error::i32_exit(code))
        })?;
        linker.func_wrap(m, "yield_now", |mut c: C<'_, B>| {
            let state = c.data_mut();
            let now = state.board().now();
            reply(Err(state.suspend(Wait { until: now, kind: WaitKind::Yield })))
        })?;
        linker.func_wrap(m, "app_name", |mut c: C<'_, B>, ptr: u32, cap: u32| reply(app_name(&mut c, ptr, cap)))?;
        linker.func_wrap(m, "app_version", |c: C<'_, B>| -> i64 {
            let v = c.data().info().version;
            i64::from(v.major) << 32 | i64::from(v.minor) << 16 | i64::from(v.patch)
        })?;
        linker.func_wrap(m, "abi_version", |_: C<'_, B>| -> i32 { i32::from(ABI_VERSION) })?;
        linker.func_wrap(m, "denials", |c: C<'_, B>| -> i32 {
            c.data().guard().total_denials().min(i32::MAX as u32) as i32
        })?;
        Ok(())
    }
}
