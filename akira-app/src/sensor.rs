//! `akira:sensor`: typed sensor channels in fixed-point units. Needs the
//! `sensor` capability with each channel the app reads:
//!
//! ```toml
//! [capabilities]
//! sensor = [0, 3]
//! ```
//!
//! ```ignore
//! use akira_app::sensor::{Kind, Sensor};
//! # fn run() -> akira_app::Result<()> {
//! let thermo = Sensor::new(0);
//! assert_eq!(thermo.kind()?, Kind::Temperature);
//! let millidegrees = thermo.read_one()?;
//! let [x, y, z] = Sensor::new(3).read_xyz()?;    // mm/s²
//! # Ok(()) }
//! ```
//!
//! Units ([`Kind::unit`]): temperature m°C, humidity 0.001 %RH, pressure
//! Pa, acceleration mm/s², angular rate milli-degrees/s, magnetic field nT,
//! illuminance mlx, distance mm, CO₂ ppm, voltage mV, current mA.

use crate::{Error, Result};

use crate::imports::sensor as ffi;

/// What a channel measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// m°C.
    Temperature,
    /// 0.001 %RH.
    Humidity,
    /// Pa.
    Pressure,
    /// mm/s², three axes.
    Acceleration,
    /// Milli-degrees per second, three axes.
    AngularRate,
    /// nT, three axes.
    MagneticField,
    /// mlx.
    Illuminance,
    /// mm.
    Distance,
    /// ppm.
    Co2,
    /// mV.
    Voltage,
    /// mA.
    Current,
    /// A kind this SDK does not know yet (its code).
    Other(u8),
}

impl Kind {
    fn from_code(code: i32) -> Kind {
        match code {
            1 => Kind::Temperature,
            2 => Kind::Humidity,
            3 => Kind::Pressure,
            4 => Kind::Acceleration,
            5 => Kind::AngularRate,
            6 => Kind::MagneticField,
            7 => Kind::Illuminance,
            8 => Kind::Distance,
            9 => Kind::Co2,
            10 => Kind::Voltage,
            11 => Kind::Current,
            other => Kind::Other(other as u8),
        }
    }

    /// The unit of its values.
    pub const fn unit(self) -> &'static str {
        match self {
            Kind::Temperature => "m°C",
            Kind::Humidity => "m%RH",
            Kind::Pressure => "Pa",
            Kind::Acceleration => "mm/s²",
            Kind::AngularRate => "mdps",
            Kind::MagneticField => "nT",
            Kind::Illuminance => "mlx",
            Kind::Distance => "mm",
            Kind::Co2 => "ppm",
            Kind::Voltage => "mV",
            Kind::Current => "mA",
            Kind::Other(_) => "",
        }
    }
}

/// One reading: one value, or three (x, y, z).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Values {
    values: [i32; 3],
    len: usize,
}

impl Values {
    /// The values, in the channel's unit.
    pub fn as_slice(&self) -> &[i32] {
        &self.values[..self.len]
    }
}

/// A sensor channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sensor {
    channel: u8,
}

impl Sensor {
    /// Channel `channel` (0–31).
    pub const fn new(channel: u8) -> Sensor {
        Sensor { channel }
    }

    /// What the channel measures.
    pub fn kind(&self) -> Result<Kind> {
        // SAFETY: a plain import without pointers.
        Error::check(unsafe { ffi::kind(self.channel.into()) }).map(Kind::from_code)
    }

    /// Measures: one value or three.
    pub fn read(&self) -> Result<Values> {
        let mut buf = [0u8; 12];
        // SAFETY: the host writes at most 12 bytes into `buf`, which this
        // frame owns; it checks the range against the app's memory.
        let n = Error::check(unsafe { ffi::read(self.channel.into(), buf.as_mut_ptr(), 12) })? as usize;
        let mut values = [0i32; 3];
        for (v, chunk) in values.iter_mut().zip(buf.chunks_exact(4)).take(n.min(3)) {
            *v = i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Ok(Values { values, len: n.min(3) })
    }

    /// Measures a one-value channel.
    pub fn read_one(&self) -> Result<i32> {
        self.read()?.as_slice().first().copied().ok_or(Error::IO)
    }

    /// Measures a three-axis channel.
    pub fn read_xyz(&self) -> Result<[i32; 3]> {
        match *self.read()?.as_slice() {
            [x, y, z] => Ok([x, y, z]),
            _ => Err(Error::INVALID),
        }
    }
}
