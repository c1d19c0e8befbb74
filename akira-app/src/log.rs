//! `akira:log`: console lines. Needs the `log` capability.
//!
//! The macros format into a 256-byte buffer on the stack (longer lines are
//! cut), so logging needs no allocator:
//!
//! ```ignore
//! let volts = 3.3;
//! akira_app::info!("battery at {volts:.2} V");
//! ```

use core::fmt::{self, Write};

use crate::imports::log as ffi;

/// Message severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum Level {
    /// Something failed.
    Error = 0,
    /// Something is wrong but the app goes on.
    Warn = 1,
    /// Normal operation.
    Info = 2,
    /// Detail for developers.
    Debug = 3,
    /// Very fine detail.
    Trace = 4,
}

/// Writes one console line.
pub fn write(level: Level, message: &str) -> crate::Result<()> {
    // SAFETY: the host reads `len` bytes at `ptr`, which `message` owns; it
    // checks the range against the app's memory.
    let ret = unsafe { ffi::write(level as i32, message.as_ptr(), message.len() as i32) };
    crate::Error::check(ret).map(|_| ())
}

/// Longest line the macros write, in bytes.
pub const LINE: usize = 256;

struct Line {
    buf: [u8; LINE],
    len: usize,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = LINE - self.len;
        // Cut on a character boundary so the line stays UTF-8.
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Formats and writes one console line (what the macros call).
pub fn write_fmt(level: Level, args: fmt::Arguments<'_>) {
    let mut line = Line { buf: [0; LINE], len: 0 };
    let _ = line.write_fmt(args);
    // The buffer holds only whole characters written by `write_str`.
    let text = core::str::from_utf8(&line.buf[..line.len]).unwrap_or("");
    let _ = write(level, text);
}

/// Logs at error level: `error!("failed: {}", e)`.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::write_fmt($crate::log::Level::Error, format_args!($($arg)*)) };
}

/// Logs at warn level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::write_fmt($crate::log::Level::Warn, format_args!($($arg)*)) };
}

/// Logs at info level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::write_fmt($crate::log::Level::Info, format_args!($($arg)*)) };
}

/// Logs at debug level.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::write_fmt($crate::log::Level::Debug, format_args!($($arg)*)) };
}
