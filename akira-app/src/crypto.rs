//! `akira:crypto`: SHA-256, HMAC-SHA-256 and Ed25519 verification done
//! natively by the firmware, far faster than in the interpreter. Needs the
//! `sys` capability (the module touches nothing but the app's own memory).
//!
//! ```ignore
//! use akira_app::crypto;
//! let digest = crypto::sha256(b"abc")?;
//! let mac = crypto::hmac_sha256(b"key", b"message")?;
//! let ok = crypto::ed25519_verify(&public_key, b"message", &signature)?;
//! ```
//!
//! Each call costs fuel for the work it does (about one unit per byte, and
//! 100 000 per signature check), so it counts against the app's CPU budget
//! like the instructions it replaces.

use crate::{Error, Result};

use crate::imports::crypto as ffi;

fn len(data: &[u8]) -> Result<i32> {
    i32::try_from(data.len()).map_err(|_| Error::TOO_LARGE)
}

/// The SHA-256 digest of `data`.
pub fn sha256(data: &[u8]) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    // SAFETY: the host reads `data` and writes 32 bytes into `out`, both
    // owned here; it checks the ranges against the app's memory.
    Error::check(unsafe { ffi::sha256(data.as_ptr(), len(data)?, out.as_mut_ptr()) })?;
    Ok(out)
}

/// The HMAC-SHA-256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    // SAFETY: as for `sha256`.
    Error::check(unsafe { ffi::hmac_sha256(key.as_ptr(), len(key)?, msg.as_ptr(), len(msg)?, out.as_mut_ptr()) })?;
    Ok(out)
}

/// Whether `signature` is a valid Ed25519 signature of `msg` by
/// `public_key` (strict: malleable encodings are refused).
/// [`Error::INVALID`] if `public_key` is not a valid key.
pub fn ed25519_verify(public_key: &[u8; 32], msg: &[u8], signature: &[u8; 64]) -> Result<bool> {
    // SAFETY: the host reads 32, `msg.len()` and 64 bytes from buffers
    // owned by the caller; it checks the ranges against the app's memory.
    let r = unsafe { ffi::ed25519_verify(public_key.as_ptr(), msg.as_ptr(), len(msg)?, signature.as_ptr()) };
    Error::check(r).map(|v| v == 1)
}

/// Compares two MACs or digests in time that does not depend on where
/// they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
