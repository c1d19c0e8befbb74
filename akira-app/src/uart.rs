//! `akira:uart`: serial ports by number. Needs the `uart` capability with
//! each port the app uses:
//!
//! ```toml
//! [capabilities]
//! uart = [1]
//! ```
//!
//! Reads and writes suspend only this app while they wait: a read returns
//! as soon as any bytes have arrived (up to the buffer's size), a write as
//! soon as the port has taken some of them.
//!
//! ```ignore
//! use core::fmt::Write as _;
//! use akira_app::uart::Port;
//! # fn run() -> akira_app::Result<()> {
//! let mut port = Port::new(1);
//! let mut buf = [0u8; 64];
//! let n = port.read(&mut buf, None)?;          // waits for input
//! port.write_all(&buf[..n])?;                  // echo
//! let _ = write!(port, "{} bytes\r\n", n);     // formatted output
//! # Ok(()) }
//! ```

use core::fmt;
use core::time::Duration;

use crate::{Error, Result};

/// Most bytes one call moves.
pub const MAX_TRANSFER: usize = 4096;

use crate::imports::uart as ffi;

fn micros(timeout: Option<Duration>) -> i64 {
    timeout.map_or(-1, |t| t.as_micros().min(i64::MAX as u128) as i64)
}

/// Takes up to `buf.len()` bytes received on `port`, waiting for at least
/// one (up to `timeout`, then [`Error::TIMED_OUT`]; `None` waits for ever,
/// `Some(Duration::ZERO)` does not wait). Returns how many were read; 0
/// only for an empty `buf`.
pub fn read(port: u8, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize> {
    let n = buf.len().min(MAX_TRANSFER);
    // SAFETY: the host writes at most `n` bytes into `buf`, which is
    // borrowed exclusively; it checks the range against the app's memory,
    // and while the app is suspended nothing else touches `buf`.
    let r = unsafe { ffi::read(port.into(), buf.as_mut_ptr(), n as i32, micros(timeout)) };
    Error::check(r).map(|n| n as usize)
}

/// Queues as much of `data` as `port` takes, waiting until it takes at
/// least one byte (up to `timeout`). Returns how many were queued.
pub fn write(port: u8, data: &[u8], timeout: Option<Duration>) -> Result<usize> {
    let n = data.len().min(MAX_TRANSFER);
    // SAFETY: the host reads at most `n` bytes at the pointer, which
    // `data` owns; it checks the range against the app's memory.
    let r = unsafe { ffi::write(port.into(), data.as_ptr(), n as i32, micros(timeout)) };
    Error::check(r).map(|n| n as usize)
}

/// A serial port.
#[derive(Debug)]
pub struct Port {
    port: u8,
}

impl Port {
    /// Port `port` (0–31). Nothing is sent until it is used.
    pub const fn new(port: u8) -> Port {
        Port { port }
    }

    /// The port number.
    pub const fn number(&self) -> u8 {
        self.port
    }

    /// See [`read()`].
    pub fn read(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize> {
        read(self.port, buf, timeout)
    }

    /// See [`write()`].
    pub fn write(&mut self, data: &[u8], timeout: Option<Duration>) -> Result<usize> {
        write(self.port, data, timeout)
    }

    /// Queues all of `data`, waiting as long as it takes.
    pub fn write_all(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let n = write(self.port, data, None)?;
            data = &data[n.min(data.len())..];
        }
        Ok(())
    }
}

impl fmt::Write for Port {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_all(s.as_bytes()).map_err(|_| fmt::Error)
    }
}
