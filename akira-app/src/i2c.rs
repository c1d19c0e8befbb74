//! `akira:i2c`: I2C devices by bus number and 7-bit address. Needs the
//! `i2c` capability with each device the app talks to:
//!
//! ```toml
//! [capabilities]
//! i2c = [{ bus = 0, addresses = [0x48] }]
//! ```
//!
//! ```ignore
//! use akira_app::i2c::Device;
//! # fn run() -> akira_app::Result<()> {
//! let tmp102 = Device::new(0, 0x48);
//! let raw = tmp102.read_reg_u16_be(0x00)?;
//! let millidegrees = i32::from(raw as i16 >> 4) * 1000 / 16;
//! # Ok(()) }
//! ```
//!
//! A transfer moves at most [`MAX_TRANSFER`] bytes each way. An address no
//! device acknowledges is [`Error::NO_SUCH_RESOURCE`]; a device the
//! manifest does not list is [`Error::DENIED`].

use crate::{Error, Result};

/// Most bytes one call moves in each direction.
pub const MAX_TRANSFER: usize = 1024;

use crate::imports::i2c as ffi;

fn len(buf: &[u8]) -> Result<i32> {
    if buf.len() > MAX_TRANSFER { Err(Error::TOO_LARGE) } else { Ok(buf.len() as i32) }
}

/// Writes `bytes` to device `addr` on `bus` in one transfer (no bytes: a
/// probe, which succeeds if the device acknowledges its address).
pub fn write(bus: u8, addr: u8, bytes: &[u8]) -> Result<()> {
    let n = len(bytes)?;
    // SAFETY: the host reads `n` bytes at the pointer, which `bytes` owns,
    // and checks the range against the app's memory (likewise below).
    Error::check(unsafe { ffi::write(bus.into(), addr.into(), bytes.as_ptr(), n) }).map(|_| ())
}

/// Fills `buf` from device `addr` on `bus` in one transfer.
pub fn read(bus: u8, addr: u8, buf: &mut [u8]) -> Result<()> {
    let n = len(buf)?;
    // SAFETY: the host writes at most `n` bytes at the pointer, which `buf`
    // owns exclusively.
    Error::check(unsafe { ffi::read(bus.into(), addr.into(), buf.as_mut_ptr(), n) }).map(|_| ())
}

/// Writes `bytes`, then (repeated start) fills `buf`, in one transaction.
pub fn write_read(bus: u8, addr: u8, bytes: &[u8], buf: &mut [u8]) -> Result<()> {
    let (w, r) = (len(bytes)?, len(buf)?);
    // SAFETY: `bytes` and `buf` are distinct borrows, so the ranges do not
    // overlap; the host checks both.
    Error::check(unsafe { ffi::write_read(bus.into(), addr.into(), bytes.as_ptr(), w, buf.as_mut_ptr(), r) })
        .map(|_| ())
}

/// Writes the register number `reg`, then (repeated start) fills `buf`.
pub fn read_reg(bus: u8, addr: u8, reg: u8, buf: &mut [u8]) -> Result<()> {
    let n = len(buf)?;
    // SAFETY: as for `read`.
    Error::check(unsafe { ffi::read_reg(bus.into(), addr.into(), reg.into(), buf.as_mut_ptr(), n) }).map(|_| ())
}

/// Writes the register number `reg` followed by `bytes`, in one transfer.
pub fn write_reg(bus: u8, addr: u8, reg: u8, bytes: &[u8]) -> Result<()> {
    let n = len(bytes)?;
    // SAFETY: as for `write`.
    Error::check(unsafe { ffi::write_reg(bus.into(), addr.into(), reg.into(), bytes.as_ptr(), n) }).map(|_| ())
}

/// A whole I2C bus, for drivers that take an `embedded_hal::i2c::I2c`
/// and an address (feature `embedded-hal`). Only the addresses the
/// manifest lists on this bus answer; the others are
/// [`Error::DENIED`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bus {
    bus: u8,
}

impl Bus {
    /// Bus `bus` (0–3).
    pub const fn new(bus: u8) -> Bus {
        Bus { bus }
    }

    /// The bus number.
    pub const fn number(&self) -> u8 {
        self.bus
    }

    /// The device at `addr` on this bus.
    pub const fn device(&self, addr: u8) -> Device {
        Device::new(self.bus, addr)
    }
}

/// One I2C device: a bus number and a 7-bit address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    bus: u8,
    addr: u8,
}

impl Device {
    /// The device at `addr` on `bus`. Nothing is sent until it is used.
    pub const fn new(bus: u8, addr: u8) -> Device {
        Device { bus, addr }
    }

    /// The bus number.
    pub const fn bus(&self) -> u8 {
        self.bus
    }

    /// The 7-bit address.
    pub const fn address(&self) -> u8 {
        self.addr
    }

    /// Whether the device acknowledges its address (a zero-length write).
    pub fn is_present(&self) -> Result<bool> {
        match write(self.bus, self.addr, &[]) {
            Ok(()) => Ok(true),
            Err(Error::NO_SUCH_RESOURCE) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// See [`write()`].
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        write(self.bus, self.addr, bytes)
    }

    /// See [`read()`].
    pub fn read(&self, buf: &mut [u8]) -> Result<()> {
        read(self.bus, self.addr, buf)
    }

    /// See [`write_read()`].
    pub fn write_read(&self, bytes: &[u8], buf: &mut [u8]) -> Result<()> {
        write_read(self.bus, self.addr, bytes, buf)
    }

    /// See [`read_reg()`].
    pub fn read_reg(&self, reg: u8, buf: &mut [u8]) -> Result<()> {
        read_reg(self.bus, self.addr, reg, buf)
    }

    /// See [`write_reg()`].
    pub fn write_reg(&self, reg: u8, bytes: &[u8]) -> Result<()> {
        write_reg(self.bus, self.addr, reg, bytes)
    }

    /// Reads one byte from register `reg`.
    pub fn read_reg_u8(&self, reg: u8) -> Result<u8> {
        let mut b = [0u8; 1];
        self.read_reg(reg, &mut b)?;
        Ok(b[0])
    }

    /// Reads a big-endian 16-bit value from register `reg`.
    pub fn read_reg_u16_be(&self, reg: u8) -> Result<u16> {
        let mut b = [0u8; 2];
        self.read_reg(reg, &mut b)?;
        Ok(u16::from_be_bytes(b))
    }

    /// Writes a big-endian 16-bit value to register `reg`.
    pub fn write_reg_u16_be(&self, reg: u8, value: u16) -> Result<()> {
        self.write_reg(reg, &value.to_be_bytes())
    }
}
