//! `akira:pwm`: PWM channels by number. Needs the `pwm` capability with
//! each channel the app drives:
//!
//! ```toml
//! [capabilities]
//! pwm = [0, 3]
//! ```
//!
//! ```ignore
//! use akira_app::pwm::Channel;
//! # fn run() -> akira_app::Result<()> {
//! let mut led = Channel::new(0)?;
//! led.set_percent(25)?;
//! let mut buzzer = Channel::new(3)?;
//! buzzer.set_frequency(440)?;      // Error::UNSUPPORTED where the board cannot
//! buzzer.set_fraction(1, 2)?;
//! # Ok(()) }
//! ```

use crate::{Error, Result};

use crate::imports::pwm as ffi;

/// The duty value meaning 100 % on `channel`.
pub fn max_duty(channel: u8) -> Result<u16> {
    // SAFETY: plain imports without pointers (this and the calls below).
    Error::check(unsafe { ffi::max_duty(channel.into()) }).map(|d| d as u16)
}

/// Sets `channel`'s duty to `duty` out of [`max_duty`].
pub fn set_duty(channel: u8, duty: u16) -> Result<()> {
    Error::check(unsafe { ffi::set_duty(channel.into(), duty.into()) }).map(|_| ())
}

/// Sets `channel`'s frequency in hertz.
pub fn set_frequency(channel: u8, hz: u32) -> Result<()> {
    let hz = i32::try_from(hz).map_err(|_| Error::INVALID)?;
    Error::check(unsafe { ffi::set_frequency(channel.into(), hz) }).map(|_| ())
}

/// A PWM channel, with its duty range read once.
#[derive(Debug)]
pub struct Channel {
    channel: u8,
    max: u16,
}

impl Channel {
    /// Channel `channel` (0–31); reads its duty range.
    pub fn new(channel: u8) -> Result<Channel> {
        Ok(Channel { channel, max: max_duty(channel)? })
    }

    /// The duty value meaning 100 %.
    pub fn max_duty(&self) -> u16 {
        self.max
    }

    /// Sets the duty to `duty` out of [`Channel::max_duty`].
    pub fn set_duty(&mut self, duty: u16) -> Result<()> {
        set_duty(self.channel, duty)
    }

    /// Sets the duty to `num / denom` of the period (rounded down).
    pub fn set_fraction(&mut self, num: u16, denom: u16) -> Result<()> {
        if denom == 0 || num > denom {
            return Err(Error::INVALID);
        }
        let duty = u32::from(self.max) * u32::from(num) / u32::from(denom);
        set_duty(self.channel, duty as u16)
    }

    /// Sets the duty in percent (0–100).
    pub fn set_percent(&mut self, percent: u8) -> Result<()> {
        self.set_fraction(percent.into(), 100)
    }

    /// Fully off.
    pub fn off(&mut self) -> Result<()> {
        self.set_duty(0)
    }

    /// Sets the frequency in hertz.
    pub fn set_frequency(&mut self, hz: u32) -> Result<()> {
        set_frequency(self.channel, hz)
    }
}
