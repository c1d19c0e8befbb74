//! `akira:adc`: analog inputs by channel. Needs the `adc` capability with
//! each channel the app reads:
//!
//! ```toml
//! [capabilities]
//! adc = [0]
//! ```
//!
//! ```ignore
//! use akira_app::adc::Channel;
//! # fn run() -> akira_app::Result<()> {
//! let knob = Channel::new(0);
//! let mv = knob.millivolts()?;
//! # Ok(()) }
//! ```

use crate::{Error, Result};

use crate::imports::adc as ffi;

/// An analog input channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel {
    channel: u8,
}

impl Channel {
    /// Channel `channel` (0–31).
    pub const fn new(channel: u8) -> Channel {
        Channel { channel }
    }

    /// Bits per conversion.
    pub fn resolution(&self) -> Result<u8> {
        // SAFETY: plain imports without pointers (this and the calls below).
        Error::check(unsafe { ffi::resolution(self.channel.into()) }).map(|b| b as u8)
    }

    /// One conversion: a code from 0 to `2^resolution - 1`.
    pub fn raw(&self) -> Result<u16> {
        Error::check(unsafe { ffi::read_raw(self.channel.into()) }).map(|r| r as u16)
    }

    /// One conversion in millivolts at the pin (calibrated where the board
    /// can).
    pub fn millivolts(&self) -> Result<u32> {
        Error::check(unsafe { ffi::read_mv(self.channel.into()) }).map(|mv| mv as u32)
    }
}
