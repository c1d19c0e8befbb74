//! Simulated analog inputs: 12-bit, 3300 mV full scale.
//!
//! | channel | what | default input |
//! |---|---|---|
//! | 0 | a potentiometer | a triangle: 0 mV at 0 s, 3300 mV at 5 s, 0 mV at 10 s, ... |
//! | 1 | a battery through a 1:2 divider | 1850 mV at the pin (3.7 V battery) |
//!
//! [`crate::SimBoard::set_adc_mv`] fixes either input.

use akira_bridge::Instant;

/// Number of channels.
pub const CHANNELS: usize = 2;
/// Bits per conversion.
pub const BITS: u8 = 12;
/// Millivolts that read the full-scale code.
pub const FULL_SCALE_MV: u32 = 3300;

/// The default input of `channel` at `now`, in millivolts.
pub fn default_mv(channel: u32, now: Instant) -> u32 {
    match channel {
        0 => {
            // 10 s period triangle.
            let phase = now.as_micros() % 10_000_000;
            let rising = phase.min(10_000_000 - phase);
            (rising * u64::from(FULL_SCALE_MV) / 5_000_000) as u32
        }
        _ => 1850,
    }
}

/// The code a perfect converter gives for `mv`.
pub fn code(mv: u32) -> u16 {
    let max = (1u32 << BITS) - 1;
    ((u64::from(mv.min(FULL_SCALE_MV)) * u64::from(max) + u64::from(FULL_SCALE_MV) / 2) / u64::from(FULL_SCALE_MV))
        as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn potentiometer_triangle_and_codes() {
        assert_eq!(default_mv(0, Instant::ZERO), 0);
        assert_eq!(default_mv(0, Instant::from_micros(2_500_000)), 1650);
        assert_eq!(default_mv(0, Instant::from_micros(5_000_000)), 3300);
        assert_eq!(default_mv(0, Instant::from_micros(7_500_000)), 1650);
        assert_eq!(code(0), 0);
        assert_eq!(code(1650), 2048);
        assert_eq!(code(5000), 4095, "clamped at full scale");
    }
}
