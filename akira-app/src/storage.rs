//! `akira:storage`: the app's own key-value store, kept in the board's
//! flash across resets and updates. Needs the `storage` capability with a
//! byte quota:
//!
//! ```toml
//! [capabilities]
//! storage = { quota = "1 KiB" }
//! ```
//!
//! ```ignore
//! use akira_app::storage;
//! let boots = storage::get_u32(b"boots")?.unwrap_or(0) + 1;
//! storage::set(b"boots", &boots.to_le_bytes())?;
//! ```
//!
//! Keys are 1 to [`MAX_KEY`] bytes, values up to [`MAX_VALUE`] bytes. No
//! other app sees this app's keys. A write that would take the key and
//! value bytes the app holds past its quota fails with
//! [`Error::NO_SPACE`]; a write cut by a reset leaves the old value or
//! the new one.

use crate::{Error, Result};

/// Longest key, in bytes.
pub const MAX_KEY: usize = 32;
/// Longest value, in bytes.
pub const MAX_VALUE: usize = 256;

use crate::imports::storage as ffi;

/// Reads `key`'s value into `buf`: `Some(len)` with the value's full
/// length (if it is longer than `buf`, `buf` holds its start), `None` if
/// the key is not set.
pub fn get(key: &[u8], buf: &mut [u8]) -> Result<Option<usize>> {
    // SAFETY: the host reads `key` and writes at most `buf.len()` bytes to
    // `buf`, which is borrowed exclusively; it checks both ranges against
    // the app's memory.
    let ret = unsafe { ffi::get(key.as_ptr(), key.len() as i32, buf.as_mut_ptr(), buf.len() as i32) };
    match Error::check(ret) {
        Ok(len) => Ok(Some(len as usize)),
        Err(Error::NO_SUCH_RESOURCE) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads a little-endian `u32` stored under `key`; `None` if the key is
/// not set, [`Error::INVALID`] if its value is not 4 bytes.
pub fn get_u32(key: &[u8]) -> Result<Option<u32>> {
    let mut b = [0u8; 4];
    match get(key, &mut b)? {
        None => Ok(None),
        Some(4) => Ok(Some(u32::from_le_bytes(b))),
        Some(_) => Err(Error::INVALID),
    }
}

/// Stores `value` under `key`, replacing any old value.
pub fn set(key: &[u8], value: &[u8]) -> Result<()> {
    // SAFETY: the host only reads the two ranges, after checking them
    // against the app's memory.
    Error::check(unsafe { ffi::set(key.as_ptr(), key.len() as i32, value.as_ptr(), value.len() as i32) })?;
    Ok(())
}

/// Removes `key`; `false` if it was not set.
pub fn remove(key: &[u8]) -> Result<bool> {
    // SAFETY: the host only reads `key`, after checking its range.
    match Error::check(unsafe { ffi::remove(key.as_ptr(), key.len() as i32) }) {
        Ok(_) => Ok(true),
        Err(Error::NO_SUCH_RESOURCE) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The bytes this app holds: its keys and values (and the keys of values
/// it removed, until set again).
pub fn used() -> Result<u32> {
    // SAFETY: a plain import without pointers.
    Error::check64(unsafe { ffi::used() }).map(|n| n as u32)
}

/// This app's quota in bytes.
pub fn quota() -> u32 {
    // SAFETY: a plain import without pointers.
    unsafe { ffi::quota() as u32 }
}
