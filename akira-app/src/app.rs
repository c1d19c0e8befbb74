//! `akira:app`: query, start and stop other apps (a supervisor). Needs
//! the `app` capability naming the apps it controls:
//!
//! ```toml
//! [capabilities]
//! app = ["worker"]
//! ```
//!
//! An app is named by its index in that list: `app::stop(0)` stops
//! `worker`. `start` and `stop` return once the firmware has applied them
//! (this app is suspended meanwhile).

use crate::{Error, Result};

use crate::imports::app as ffi;

/// Where a controlled app is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Running or ready to run.
    Running,
    /// Suspended in a wait.
    Waiting,
    /// Stopped by [`stop`].
    Stopped,
    /// Exited.
    Exited,
    /// Stopped by a fault.
    Failed,
    /// Faulted, restarting after its backoff.
    Restarting,
}

/// The status of app `app` (an index of the `app` list);
/// [`Error::NO_SUCH_RESOURCE`] when it is not installed.
pub fn status(app: u8) -> Result<Status> {
    // SAFETY: no pointers.
    Ok(match Error::check(unsafe { ffi::status(app.into()) })? {
        0 => Status::Running,
        1 => Status::Waiting,
        2 => Status::Stopped,
        3 => Status::Exited,
        5 => Status::Restarting,
        _ => Status::Failed,
    })
}

/// Starts app `app` afresh unless it is live; returns once done.
pub fn start(app: u8) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::start(app.into()) }).map(drop)
}

/// Stops app `app`; returns once done.
pub fn stop(app: u8) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::stop(app.into()) }).map(drop)
}
