//! embedded-hal 1.0 and embedded-io 0.7 for apps (feature `embedded-hal`):
//! the SDK's handles implement the ecosystem's traits, so a driver crate
//! written against them (a sensor, a display, a radio) runs inside an app,
//! with every bus access still checked by the firmware's guard.
//!
//! | SDK type | traits |
//! |---|---|
//! | [`crate::i2c::Bus`] | `embedded_hal::i2c::I2c` |
//! | [`crate::spi::Device`] | `embedded_hal::spi::SpiDevice` |
//! | [`crate::gpio::Output`] | `OutputPin`, `StatefulOutputPin` |
//! | [`crate::gpio::Input`] | `InputPin` |
//! | [`crate::pwm::Channel`] | `SetDutyCycle` |
//! | [`Delay`] | `DelayNs` (the app is suspended, not spinning) |
//! | [`crate::uart::Port`] | `embedded_io::Read`, `Write` |
//!
//! A transaction maps onto one bridge call, so the shapes drivers use are
//! supported: I2C write, read, write-read, and adjacent writes up to
//! [`crate::i2c::MAX_TRANSFER`] bytes (sent as one write); SPI write, read,
//! transfer, transfer in place, and write-then-read under one chip select.
//! Other shapes return [`Error::UNSUPPORTED`] rather than splitting a
//! transaction the device expects whole.

use core::time::Duration;

use embedded_hal::digital::{self, ErrorType as DigitalErrorType};
use embedded_hal::i2c::{self, NoAcknowledgeSource};
use embedded_hal::{delay, pwm, spi};

use crate::Error;

impl digital::Error for Error {
    fn kind(&self) -> digital::ErrorKind {
        digital::ErrorKind::Other
    }
}

impl i2c::Error for Error {
    fn kind(&self) -> i2c::ErrorKind {
        match *self {
            Error::NO_SUCH_RESOURCE => i2c::ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address),
            Error::BUSY => i2c::ErrorKind::ArbitrationLoss,
            Error::IO => i2c::ErrorKind::Bus,
            _ => i2c::ErrorKind::Other,
        }
    }
}

impl spi::Error for Error {
    fn kind(&self) -> spi::ErrorKind {
        spi::ErrorKind::Other
    }
}

impl pwm::Error for Error {
    fn kind(&self) -> pwm::ErrorKind {
        pwm::ErrorKind::Other
    }
}

impl embedded_io::Error for Error {
    fn kind(&self) -> embedded_io::ErrorKind {
        match *self {
            Error::TIMED_OUT => embedded_io::ErrorKind::TimedOut,
            Error::DENIED => embedded_io::ErrorKind::PermissionDenied,
            Error::INVALID => embedded_io::ErrorKind::InvalidInput,
            _ => embedded_io::ErrorKind::Other,
        }
    }
}

impl i2c::ErrorType for crate::i2c::Bus {
    type Error = Error;
}

impl i2c::I2c for crate::i2c::Bus {
    fn transaction(&mut self, address: u8, operations: &mut [i2c::Operation<'_>]) -> Result<(), Error> {
        use i2c::Operation::{Read, Write};
        let bus = self.number();
        match operations {
            [] => Ok(()),
            [Write(w)] => crate::i2c::write(bus, address, w),
            [Read(r)] => crate::i2c::read(bus, address, r),
            [Write(w), Read(r)] => crate::i2c::write_read(bus, address, w, r),
            [Write([reg]), Write(w)] => crate::i2c::write_reg(bus, address, *reg, w),
            ops if ops.iter().all(|op| matches!(op, Write(_))) => {
                // Adjacent writes are one write on the wire.
                let mut buf = [0u8; crate::i2c::MAX_TRANSFER];
                let mut len = 0;
                for op in ops.iter() {
                    if let Write(w) = op {
                        let end = len + w.len();
                        buf.get_mut(len..end).ok_or(Error::TOO_LARGE)?.copy_from_slice(w);
                        len = end;
                    }
                }
                crate::i2c::write(bus, address, &buf[..len])
            }
            _ => Err(Error::UNSUPPORTED),
        }
    }
}

impl spi::ErrorType for crate::spi::Device {
    type Error = Error;
}

impl spi::SpiDevice<u8> for crate::spi::Device {
    fn transaction(&mut self, operations: &mut [spi::Operation<'_, u8>]) -> Result<(), Error> {
        use spi::Operation::{Read, Transfer, TransferInPlace, Write};
        match operations {
            [] => Ok(()),
            [Write(w)] => crate::spi::Device::write(self, w),
            [Read(r)] => crate::spi::Device::read(self, r),
            [Transfer(r, w)] => crate::spi::Device::transfer(self, w, r),
            [TransferInPlace(b)] => crate::spi::Device::transfer_in_place(self, b),
            [Write(w), Read(r)] => crate::spi::Device::write_then_read(self, w, r),
            _ => Err(Error::UNSUPPORTED),
        }
    }
}

impl DigitalErrorType for crate::gpio::Output {
    type Error = Error;
}

impl digital::OutputPin for crate::gpio::Output {
    fn set_low(&mut self) -> Result<(), Error> {
        crate::gpio::Output::set_low(self)
    }
    fn set_high(&mut self) -> Result<(), Error> {
        crate::gpio::Output::set_high(self)
    }
}

impl digital::StatefulOutputPin for crate::gpio::Output {
    fn is_set_high(&mut self) -> Result<bool, Error> {
        crate::gpio::Output::is_set_high(self)
    }
    fn is_set_low(&mut self) -> Result<bool, Error> {
        crate::gpio::Output::is_set_high(self).map(|h| !h)
    }
    fn toggle(&mut self) -> Result<(), Error> {
        crate::gpio::Output::toggle(self).map(|_| ())
    }
}

impl DigitalErrorType for crate::gpio::Input {
    type Error = Error;
}

impl digital::InputPin for crate::gpio::Input {
    fn is_high(&mut self) -> Result<bool, Error> {
        crate::gpio::Input::is_high(self)
    }
    fn is_low(&mut self) -> Result<bool, Error> {
        crate::gpio::Input::is_high(self).map(|h| !h)
    }
}

impl pwm::ErrorType for crate::pwm::Channel {
    type Error = Error;
}

impl pwm::SetDutyCycle for crate::pwm::Channel {
    fn max_duty_cycle(&self) -> u16 {
        crate::pwm::Channel::max_duty(self)
    }
    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), Error> {
        crate::pwm::Channel::set_duty(self, duty)
    }
}

/// `embedded_hal::delay::DelayNs` for drivers: each delay suspends the app
/// (`akira:timer`, so the app needs the `timer` capability); the firmware
/// runs other apps meanwhile. Delays are rounded up to microseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Delay;

impl delay::DelayNs for Delay {
    fn delay_ns(&mut self, ns: u32) {
        crate::timer::sleep(Duration::from_nanos(u64::from(ns).div_ceil(1000) * 1000));
    }
}

impl embedded_io::ErrorType for crate::uart::Port {
    type Error = Error;
}

impl embedded_io::Read for crate::uart::Port {
    /// Waits (suspended) for at least one byte.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        crate::uart::Port::read(self, buf, None)
    }
}

impl embedded_io::Write for crate::uart::Port {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        crate::uart::Port::write(self, buf, None)
    }
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}
