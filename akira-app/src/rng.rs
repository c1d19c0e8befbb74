//! `akira:rng`: random numbers from the board's generator. Needs the `rng`
//! capability:
//!
//! ```toml
//! [capabilities]
//! rng = true
//! ```
//!
//! ```ignore
//! let mut nonce = [0u8; 12];
//! akira_app::rng::fill(&mut nonce)?;
//! let dice = akira_app::rng::below(6)? + 1;
//! ```

use crate::{Error, Result};

/// Most bytes one call to the host fills; [`fill`] loops for more.
const MAX_FILL: usize = 4096;

use crate::imports::rng as ffi;

/// Fills `buf` with random bytes (suitable for keys and nonces on a board
/// with a hardware generator).
pub fn fill(buf: &mut [u8]) -> Result<()> {
    for chunk in buf.chunks_mut(MAX_FILL) {
        // SAFETY: the host writes `chunk.len()` bytes into `chunk`, which is
        // borrowed exclusively; it checks the range against the app's
        // memory.
        Error::check(unsafe { ffi::fill(chunk.as_mut_ptr(), chunk.len() as i32) })?;
    }
    Ok(())
}

/// A random `u32`.
pub fn u32() -> Result<u32> {
    let mut b = [0u8; 4];
    fill(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// A random `u64`.
pub fn u64() -> Result<u64> {
    let mut b = [0u8; 8];
    fill(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// A uniformly random number in `0..n` (`n > 0`), without modulo bias.
pub fn below(n: u32) -> Result<u32> {
    if n == 0 {
        return Err(Error::INVALID);
    }
    // Reject the top partial range so every value is equally likely.
    let zone = u32::MAX - u32::MAX % n;
    loop {
        let r = u32()?;
        if r < zone {
            return Ok(r % n);
        }
    }
}
