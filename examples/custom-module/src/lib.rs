//! `acme:valve`: a product team's own bridge module, written with the same
//! public extension trait ([`HostModule`]) as Akira's built-in modules.
//!
//! - Its capability lives in the vendor namespace (`acme:valve`). An app
//!   asks for the valves it drives in `Akira.toml`
//!   (`"acme:valve" = [0]`); the device policy says which valves any app
//!   may have. A misspelt name is refused at install, like any unknown
//!   capability.
//! - The import is checked when the app is installed: an app that was not
//!   granted `acme:valve` never gets the module linked.
//! - Each call checks its valve id with one bit test on the app's grants
//!   ([`akira_bridge::AppState::guarded`]): no string compare, no scan.
//! - The hardware sits behind a trait ([`Valves`]) that the firmware's
//!   board implements, so the module works on any board (and in tests).
//! - Each function declares what a call costs the app in fuel
//!   ([`akira_bridge::Cost`], `FnSpec::new`'s default or `.costing(..)`),
//!   and is defined with [`akira_bridge::host_fn!`], which charges it on
//!   every call: apps pay for the work they ask of the firmware.
//!
//! Copy this crate into your firmware's workspace, rename it, and register
//! the module next to the built-ins: `Bridge::with_builtins().with(ValveModule)`.

#![no_std]

use akira_bridge::akira_caps::{FnSpec, ModuleCapability, ModuleSpec, Param, Ret, Type};
use akira_bridge::host::{Caller, Linker};
use akira_bridge::{AppState, Board, Cost, Errno, HostModule, LinkContext, LinkError, host_fn, reply};

/// The capability and import module name.
pub const NAME: &str = "acme:valve";

/// What the module needs from the board: valves it can open and close.
pub trait Valves {
    /// Opens (`true`) or closes valve `valve`. [`Errno::NoSuchResource`]
    /// for a valve the board does not have.
    fn set_valve(&mut self, valve: u32, open: bool) -> Result<(), Errno>;
    /// Whether valve `valve` is open.
    fn valve_is_open(&mut self, valve: u32) -> Result<bool, Errno>;
}

/// The module's ABI: what apps import, each function with its named and
/// typed parameters, what it does (all experimental: `FnSpec::new`) and
/// what a call costs: moving a valve drives a solenoid for a while, so
/// `set` costs more than the default.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: NAME,
    capability: ModuleCapability::Vendor(NAME),
    functions: &[
        FnSpec::new(
            "set",
            &[Param::new("valve", Type::U32), Param::new("open", Type::I32)],
            Ret::I32,
            "set(valve, open): open (1) or close (0) a valve; 0, AKIRA_EDENIED, AKIRA_ENORES",
        )
        .costing(Cost::fixed(200)),
        FnSpec::new(
            "is_open",
            &[Param::new("valve", Type::U32)],
            Ret::I32,
            "is_open(valve): 1 open, 0 closed, or an error code",
        ),
    ],
};

/// The `acme:valve` module: register it with
/// [`Bridge::with`](akira_bridge::Bridge::with).
pub struct ValveModule;

impl<B: Board + Valves> HostModule<B> for ValveModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        // Where this app's `acme:valve` ids sit in its grants: resolved
        // once, when the app is linked, so each call is a bit test.
        let slot = cx.vendor_slot(NAME)?;
        host_fn!(linker, SPEC, "set", move |c: Caller<'_, AppState<B>>, valve: u32, open: u32| {
            let state = c.data_mut();
            reply(state.guarded(|g| g.vendor(slot, valve)).and_then(|()| {
                state.board_mut().set_valve(valve, open != 0)?;
                Ok(0)
            }))
        })?;
        host_fn!(linker, SPEC, "is_open", move |c: Caller<'_, AppState<B>>, valve: u32| {
            let state = c.data_mut();
            reply(
                state
                    .guarded(|g| g.vendor(slot, valve))
                    .and_then(|()| Ok(state.board_mut().valve_is_open(valve)? as i32)),
            )
        })?;
        Ok(())
    }
}
