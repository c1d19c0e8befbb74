//! Simulated sensor channels.
//!
//! | channel | kind | value |
//! |---|---|---|
//! | 0 | temperature (m°C) | the TMP102 on I2C bus 0, read through the simulated bus as a driver would (1/16 °C steps) |
//! | 1 | relative humidity (0.001 %RH) | 45 000 |
//! | 2 | pressure (Pa) | 101 325 |
//! | 3 | acceleration (mm/s², x, y, z) | 0, 0, 9 807: the board lies flat |
//! | 4 | illuminance (mlx) | 320 000 |

use akira_bridge::{Errno, Reading, SensorKind};

/// Number of channels.
pub const CHANNELS: u32 = 5;

/// What channel `channel` measures.
pub fn kind(channel: u32) -> Result<SensorKind, Errno> {
    Ok(match channel {
        0 => SensorKind::Temperature,
        1 => SensorKind::Humidity,
        2 => SensorKind::Pressure,
        3 => SensorKind::Acceleration,
        4 => SensorKind::Illuminance,
        _ => return Err(Errno::NoSuchResource),
    })
}

/// A reading of the channels that do not depend on the board (1–4).
pub fn fixed(channel: u32) -> Result<Reading, Errno> {
    let reading = match channel {
        1 => Reading::scalar(SensorKind::Humidity, 45_000),
        2 => Reading::scalar(SensorKind::Pressure, 101_325),
        3 => Reading::axes(SensorKind::Acceleration, 0, 0, 9_807),
        4 => Reading::scalar(SensorKind::Illuminance, 320_000),
        _ => None,
    };
    reading.ok_or(Errno::NoSuchResource)
}
