//! `akira:spi`: SPI devices the board defines, by id. Needs the `spi`
//! capability with each device id the app uses:
//!
//! ```toml
//! [capabilities]
//! spi = [0]
//! ```
//!
//! ```ignore
//! use akira_app::spi::Device;
//! # fn run() -> akira_app::Result<()> {
//! let flash = Device::new(0);
//! let mut id = [0u8; 3];
//! flash.write_then_read(&[0x9f], &mut id)?; // JEDEC id
//! # Ok(()) }
//! ```
//!
//! Every call is one transaction: the board asserts the device's chip
//! select for its whole duration. A call moves at most [`MAX_TRANSFER`]
//! bytes each way.

use crate::{Error, Result};

/// Most bytes one call moves in each direction.
pub const MAX_TRANSFER: usize = 4096;

use crate::imports::spi as ffi;

fn len(buf: &[u8]) -> Result<i32> {
    if buf.len() > MAX_TRANSFER { Err(Error::TOO_LARGE) } else { Ok(buf.len() as i32) }
}

/// One SPI device, by the board's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    id: u8,
}

impl Device {
    /// Device `id` (0–31). Nothing is sent until it is used.
    pub const fn new(id: u8) -> Device {
        Device { id }
    }

    /// The device id.
    pub const fn id(&self) -> u8 {
        self.id
    }

    /// Clocks out `bytes`, ignoring what comes back.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        let n = len(bytes)?;
        // SAFETY: the host reads `n` bytes at the pointer, which `bytes`
        // owns, and checks the range against the app's memory (likewise
        // for every call below).
        Error::check(unsafe { ffi::write(self.id.into(), bytes.as_ptr(), n) }).map(|_| ())
    }

    /// Clocks in `buf.len()` bytes.
    pub fn read(&self, buf: &mut [u8]) -> Result<()> {
        let n = len(buf)?;
        // SAFETY: the host writes at most `n` bytes into `buf`, which is
        // borrowed exclusively.
        Error::check(unsafe { ffi::read(self.id.into(), buf.as_mut_ptr(), n) }).map(|_| ())
    }

    /// Full duplex: sends `bytes` while receiving into `buf`, for as many
    /// clocks as the longer of the two (zeros are sent past the end of
    /// `bytes`; bytes received past the end of `buf` are dropped).
    pub fn transfer(&self, bytes: &[u8], buf: &mut [u8]) -> Result<()> {
        let (w, r) = (len(bytes)?, len(buf)?);
        // SAFETY: distinct borrows, so the ranges do not overlap.
        Error::check(unsafe { ffi::transfer(self.id.into(), bytes.as_ptr(), w, buf.as_mut_ptr(), r) }).map(|_| ())
    }

    /// Full duplex in one buffer: each received byte replaces the one sent.
    pub fn transfer_in_place(&self, buf: &mut [u8]) -> Result<()> {
        let n = len(buf)?;
        // SAFETY: as for `read`.
        Error::check(unsafe { ffi::transfer_in_place(self.id.into(), buf.as_mut_ptr(), n) }).map(|_| ())
    }

    /// Sends `bytes` (a command), then reads `buf.len()` bytes, under one
    /// chip select.
    pub fn write_then_read(&self, bytes: &[u8], buf: &mut [u8]) -> Result<()> {
        let (w, r) = (len(bytes)?, len(buf)?);
        // SAFETY: distinct borrows, so the ranges do not overlap.
        Error::check(unsafe { ffi::write_then_read(self.id.into(), bytes.as_ptr(), w, buf.as_mut_ptr(), r) })
            .map(|_| ())
    }
}
