//! The engine seam: the types a module's host functions are written
//! against ([`Caller`], [`Linker`], [`Error`]).
//!
//! With the `wasmi` feature (on by default) they are wasmi's own: the
//! interpreter calls the bridge's functions from inside its executor.
//! Without it they are this crate's ([`native`]): a firmware without the
//! interpreter, whose apps all run as native code (akira-aot, from signers
//! trusted with it), links the same modules into a [`Linker`] of plain
//! functions that the sandbox calls directly, with the app's state, its
//! linear memory and its fuel. Module code does not change: `host_fn!`
//! defines a function in whichever [`Linker`] this is, with the same
//! closure.
//!
//! The feature picks the types, so a firmware either links wasmi or runs
//! native code only; [`native`] is compiled either way (so its docs are
//! there), and used without wasmi.

#[cfg(feature = "wasmi")]
pub use wasmi::errors::LinkerError;
#[cfg(feature = "wasmi")]
pub use wasmi::{Caller, Error, Linker};

pub mod native;
#[cfg(not(feature = "wasmi"))]
pub use native::{Caller, Error, Func, HostResult, IntoFunc, Linker, LinkerError, Param};

use core::fmt;

use akira_caps::Denial;

/// The host error a suspending host function returns; the sandbox turns it
/// into a suspended app. Carries nothing: the wait is in [`AppState`](crate::AppState).
#[derive(Clone, Copy, Debug)]
pub struct Suspend;

impl fmt::Display for Suspend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("app suspended by a host call")
    }
}

#[cfg(feature = "wasmi")]
impl wasmi::errors::HostError for Suspend {}

/// The host error a denied call returns in strict mode: the app is stopped
/// with a fault instead of getting [`Errno::Denied`](crate::Errno::Denied).
#[derive(Clone, Copy, Debug)]
pub struct DeniedFault(pub Denial);

impl fmt::Display for DeniedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(feature = "wasmi")]
impl wasmi::errors::HostError for DeniedFault {}

/// The trap `sys.exit(code)` (and WASI's `proc_exit`) ends the app with.
pub(crate) fn exit(code: i32) -> Error {
    #[cfg(feature = "wasmi")]
    return Error::i32_exit(code);
    #[cfg(not(feature = "wasmi"))]
    Error::Exit(code)
}

/// The trap a suspending host call unwinds the app's call with; the wait
/// is in the app's state.
pub(crate) fn suspended() -> Error {
    #[cfg(feature = "wasmi")]
    return Error::host(Suspend);
    #[cfg(not(feature = "wasmi"))]
    Error::Suspended
}

/// The trap a denied call stops the app with in strict mode.
pub(crate) fn denied(denial: Denial) -> Error {
    #[cfg(feature = "wasmi")]
    return Error::host(DeniedFault(denial));
    #[cfg(not(feature = "wasmi"))]
    Error::Denied(denial)
}
