//! `akira:rf`: LoRa on the board's sub-GHz radio. Needs the `rf`
//! capability with the bands, power cap and duty cycle the app uses:
//!
//! ```toml
//! [capabilities]
//! rf = { bands = [[863000000, 870000000]], max-power-dbm = 14, duty-cycle-permille = 10 }
//! ```
//!
//! Sends and receives suspend only this app while the radio works. Every
//! packet's time on air counts against the app's duty cycle;
//! [`Error::NO_SPACE`] means it is spent for now.
//!
//! ```ignore
//! use akira_app::rf::{Lora, Modulation};
//! let radio = Lora::configure(&Modulation::new(868_100_000, 14))?;
//! radio.send(b"ping")?;
//! let mut buf = [0u8; 64];
//! let n = radio.receive(&mut buf, Some(Duration::from_secs(2)))?;
//! let quality = akira_app::rf::last_packet();
//! ```

use core::time::Duration;

use crate::{Error, Result};

/// Largest payload, in bytes.
pub const MAX_PACKET: usize = 255;

use crate::imports::rf as ffi;

/// LoRa settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modulation {
    /// Carrier frequency, in Hz.
    pub frequency_hz: u32,
    /// Spreading factor, 7 to 12.
    pub spreading_factor: u8,
    /// Bandwidth in Hz (125 000, 250 000, 500 000, ...).
    pub bandwidth_hz: u32,
    /// Coding rate denominator, 5 to 8 (4/5 to 4/8).
    pub coding_rate: u8,
    /// Transmit power, in dBm.
    pub power_dbm: i8,
}

impl Modulation {
    /// SF7, 125 kHz, coding rate 4/5 at `frequency_hz` and `power_dbm`.
    pub const fn new(frequency_hz: u32, power_dbm: i8) -> Modulation {
        Modulation { frequency_hz, spreading_factor: 7, bandwidth_hz: 125_000, coding_rate: 5, power_dbm }
    }

    /// The same with spreading factor `sf`.
    pub const fn spreading_factor(self, sf: u8) -> Modulation {
        Modulation { spreading_factor: sf, ..self }
    }

    /// The same with bandwidth `hz`.
    pub const fn bandwidth(self, hz: u32) -> Modulation {
        Modulation { bandwidth_hz: hz, ..self }
    }
}

/// Signal quality of a received packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketInfo {
    /// Received signal strength, in dBm.
    pub rssi_dbm: i16,
    /// Signal-to-noise ratio, in dB.
    pub snr_db: i16,
}

/// The app's LoRa radio, configured.
#[derive(Debug)]
pub struct Lora {
    _configured: (),
}

impl Lora {
    /// Sets the app's modulation; [`Error::DENIED`] outside its bands or
    /// above its power cap, [`Error::INVALID`] for settings no LoRa radio
    /// takes.
    pub fn configure(m: &Modulation) -> Result<Lora> {
        // SAFETY: plain integers.
        let r = unsafe {
            ffi::configure(
                m.frequency_hz as i32,
                m.spreading_factor.into(),
                m.bandwidth_hz as i32,
                m.coding_rate.into(),
                m.power_dbm.into(),
            )
        };
        Error::check(r).map(|_| Lora { _configured: () })
    }

    /// Transmits `data` (at most [`MAX_PACKET`] bytes) as one packet,
    /// waiting until it is sent.
    pub fn send(&self, data: &[u8]) -> Result<()> {
        if data.len() > MAX_PACKET {
            return Err(Error::TOO_LARGE);
        }
        // SAFETY: the host reads `data.len()` bytes at the pointer, which
        // `data` owns; it checks the range against the app's memory.
        Error::check(unsafe { ffi::send(data.as_ptr(), data.len() as i32) }).map(|_| ())
    }

    /// Waits for a packet (up to `timeout`, then [`Error::TIMED_OUT`];
    /// `None` waits for ever) and copies up to `buf.len()` bytes of it into
    /// `buf`. Returns how many.
    pub fn receive(&self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize> {
        let n = buf.len().min(MAX_PACKET);
        let us = timeout.map_or(-1, |t| t.as_micros().min(i64::MAX as u128) as i64);
        // SAFETY: the host writes at most `n` bytes into `buf`, borrowed
        // exclusively; it checks the range, and nothing else touches
        // `buf` while the app is suspended.
        let r = unsafe { ffi::receive(buf.as_mut_ptr(), n as i32, us) };
        Error::check(r).map(|n| n as usize)
    }
}

/// Signal quality of the last packet this app received, if any.
pub fn last_packet() -> Option<PacketInfo> {
    let mut out = [0i16; 2];
    // SAFETY: the host writes 4 bytes into `out`, borrowed exclusively.
    let r = unsafe { ffi::last_packet(out.as_mut_ptr().cast()) };
    (r == 1).then_some(PacketInfo { rssi_dbm: out[0], snr_db: out[1] })
}

/// Airtime this app may still use in the rolling hour.
pub fn airtime_left() -> Duration {
    // SAFETY: no arguments.
    let us = unsafe { ffi::airtime_left() };
    Duration::from_micros(us.max(0) as u64)
}
