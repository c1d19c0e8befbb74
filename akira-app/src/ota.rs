//! `akira:ota`: the app's own over-the-air update. Needs the `ota`
//! capability:
//!
//! ```toml
//! [capabilities]
//! ota = true
//! ```
//!
//! A freshly installed version runs on trial until the firmware confirms
//! it after a healthy run; if the device boots again first, the version
//! is reverted (docs/abi.md says exactly when). An app can confirm itself
//! as soon as its own self-test passed, or ask to go back to the previous
//! version:
//!
//! ```ignore
//! use akira_app::ota;
//! if ota::is_trial() {
//!     if self_test_passed() { ota::confirm()?; } else { ota::request_rollback()?; }
//! }
//! ```
//!
//! Both requests are carried out at the firmware's next scheduling round;
//! after a rollback request the app is stopped and its previous version
//! started, so it should do no more work.

use crate::{Error, Result};

use crate::imports::ota as ffi;

fn unpack(v: i64) -> (u16, u16, u16) {
    ((v >> 32) as u16, (v >> 16) as u16, v as u16)
}

/// The running version: `(major, minor, patch)`.
pub fn version() -> (u16, u16, u16) {
    // SAFETY: a plain import without pointers.
    unpack(unsafe { ffi::version() })
}

/// The version a rollback would return to, if there is one.
pub fn previous_version() -> Result<Option<(u16, u16, u16)>> {
    // SAFETY: a plain import without pointers.
    match Error::check64(unsafe { ffi::previous_version() }) {
        Ok(v) => Ok(Some(unpack(v))),
        Err(Error::NO_SUCH_RESOURCE) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the running version is on trial (not yet confirmed).
pub fn is_trial() -> bool {
    // SAFETY: a plain import without pointers.
    unsafe { ffi::is_trial() == 1 }
}

/// Confirms the running version (nothing happens if it is not on trial).
pub fn confirm() -> Result<()> {
    // SAFETY: a plain import without pointers.
    Error::check(unsafe { ffi::confirm() }).map(|_| ())
}

/// Asks for the previous version; [`Error::NO_SUCH_RESOURCE`] if there is
/// none.
pub fn request_rollback() -> Result<()> {
    // SAFETY: a plain import without pointers.
    Error::check(unsafe { ffi::request_rollback() }).map(|_| ())
}
