//! Simulated PWM channels.
//!
//! | channel | what | duty range | frequency |
//! |---|---|---|---|
//! | 0–2 | red, green and blue of an RGB LED | 0–1000 (0.1 % steps) | fixed |
//! | 3 | a piezo buzzer | 0–1000 | settable, 1 Hz–100 kHz (default 2 kHz) |
//!
//! Each channel is an embedded-hal 1.0 `SetDutyCycle` ([`SimPwmChannel`])
//! in the bridge's `PwmChannels`, as on a real board.

use std::convert::Infallible;

use akira_bridge::Errno;
use embedded_hal::pwm::{ErrorType, SetDutyCycle};

/// Number of simulated channels.
pub const CHANNELS: usize = 4;
/// The channel whose frequency can be set.
pub const BUZZER: u32 = 3;

/// A PWM channel that remembers its duty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimPwmChannel {
    /// Current duty.
    pub duty: u16,
    /// Duty meaning 100 %.
    pub max: u16,
}

impl Default for SimPwmChannel {
    fn default() -> Self {
        SimPwmChannel { duty: 0, max: 1000 }
    }
}

impl ErrorType for SimPwmChannel {
    type Error = Infallible;
}

impl SetDutyCycle for SimPwmChannel {
    fn max_duty_cycle(&self) -> u16 {
        self.max
    }

    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), Infallible> {
        self.duty = duty.min(self.max);
        Ok(())
    }
}

/// The buzzer's frequency range, in hertz.
pub const BUZZER_HZ: std::ops::RangeInclusive<u32> = 1..=100_000;

/// Checks a frequency request: only the buzzer has one.
pub fn check_frequency(channel: u32, hz: u32) -> Result<(), Errno> {
    if channel as usize >= CHANNELS {
        Err(Errno::NoSuchResource)
    } else if channel != BUZZER {
        Err(Errno::Unsupported)
    } else if !BUZZER_HZ.contains(&hz) {
        Err(Errno::Invalid)
    } else {
        Ok(())
    }
}
