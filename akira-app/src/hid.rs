//! `akira:hid`: the board as a USB or BLE keyboard, mouse, gamepad or
//! media remote, and the device's input events. Needs the `hid`
//! capability with each device kind the app sends as:
//!
//! ```toml
//! [capabilities]
//! hid = ["keyboard", "mouse"]   # also "gamepad", "consumer", "raw"
//! ```
//!
//! Sending waits (suspended, up to a second) while the host has not taken
//! the earlier reports; [`next_event`] waits for a button.
//!
//! ```ignore
//! use akira_app::hid::{self, EventKind};
//! # fn run() -> akira_app::Result<()> {
//! loop {
//!     let event = hid::next_event(None)?;
//!     if event.kind == EventKind::Pressed && event.code == 0 {
//!         hid::type_text("Hello from Akira\n")?;
//!     }
//! }
//! # }
//! ```

use core::time::Duration;

use crate::{Error, Result};

/// Most keys one keyboard report holds down.
pub const MAX_KEYS: usize = 6;
/// Longest raw report, in bytes.
pub const MAX_RAW: usize = 64;
/// Longest text one host call types; [`type_text`] loops for more.
const MAX_TEXT: usize = 256;

/// Keyboard modifier bits.
pub mod modifiers {
    /// Left Control.
    pub const LEFT_CTRL: u8 = 0x01;
    /// Left Shift.
    pub const LEFT_SHIFT: u8 = 0x02;
    /// Left Alt.
    pub const LEFT_ALT: u8 = 0x04;
    /// Left GUI (Windows, Command).
    pub const LEFT_GUI: u8 = 0x08;
    /// Right Control.
    pub const RIGHT_CTRL: u8 = 0x10;
    /// Right Shift.
    pub const RIGHT_SHIFT: u8 = 0x20;
    /// Right Alt.
    pub const RIGHT_ALT: u8 = 0x40;
    /// Right GUI.
    pub const RIGHT_GUI: u8 = 0x80;
}

/// Mouse button bits.
pub mod buttons {
    /// Left button.
    pub const LEFT: u8 = 0x01;
    /// Right button.
    pub const RIGHT: u8 = 0x02;
    /// Middle button.
    pub const MIDDLE: u8 = 0x04;
}

use crate::imports::hid as ffi;

/// Sends one keyboard report: `modifiers` bits and up to [`MAX_KEYS`]
/// keys (HID usage ids, e.g. 0x04 for A) held down. `keyboard(0, &[])`
/// releases everything.
pub fn keyboard(modifiers: u8, keys: &[u8]) -> Result<()> {
    if keys.len() > MAX_KEYS {
        return Err(Error::TOO_LARGE);
    }
    // SAFETY: the host reads `keys.len()` bytes at the pointer, which
    // `keys` owns; it checks the range against the app's memory.
    Error::check(unsafe { ffi::keyboard(modifiers.into(), keys.as_ptr(), keys.len() as i32) }).map(drop)
}

/// Types `text` (ASCII on a US layout: letters, digits, punctuation,
/// space, `\n`, `\t`) as key presses and releases. Another character is
/// [`Error::INVALID`], before anything is typed (per 256-byte chunk).
pub fn type_text(text: &str) -> Result<()> {
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        let chunk = &rest[..rest.len().min(MAX_TEXT)];
        // SAFETY: the host reads `chunk.len()` bytes at the pointer, which
        // `text` owns; it checks the range against the app's memory.
        let typed = Error::check(unsafe { ffi::type_text(chunk.as_ptr(), chunk.len() as i32) })? as usize;
        if typed == 0 {
            // The host types at least one character or fails; never loop.
            return Err(Error::IO);
        }
        rest = &rest[typed.min(chunk.len())..];
    }
    Ok(())
}

/// Sends one mouse report: [`buttons`] held and relative motion
/// (-127..=127; right, down and away from the user are positive).
pub fn mouse(buttons: u8, dx: i8, dy: i8, wheel: i8) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::mouse(buttons.into(), dx.into(), dy.into(), wheel.into()) }).map(drop)
}

/// Sends one gamepad report: 16 buttons (bit n: button n + 1) and two
/// sticks (-127..=127).
pub fn gamepad(buttons: u16, x: i8, y: i8, rx: i8, ry: i8) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::gamepad(buttons.into(), x.into(), y.into(), rx.into(), ry.into()) }).map(drop)
}

/// Sends one consumer-control report: a usage of page 0x0C (0xE9 volume
/// up, 0xEA volume down, 0xCD play/pause); 0 releases.
pub fn consumer(usage: u16) -> Result<()> {
    // SAFETY: no pointers.
    Error::check(unsafe { ffi::consumer(usage.into()) }).map(drop)
}

/// Sends one vendor-defined report of at most [`MAX_RAW`] bytes.
pub fn raw(report: &[u8]) -> Result<()> {
    if report.len() > MAX_RAW {
        return Err(Error::TOO_LARGE);
    }
    // SAFETY: the host reads `report.len()` bytes at the pointer, which
    // `report` owns; it checks the range against the app's memory.
    Error::check(unsafe { ffi::raw(report.as_ptr(), report.len() as i32) }).map(drop)
}

/// What an input event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A button went down ([`Event::code`]: which).
    Pressed,
    /// A button went up.
    Released,
    /// The host set the keyboard LEDs ([`Event::value`]: bit 0 Num Lock,
    /// 1 Caps Lock, 2 Scroll Lock).
    Leds,
    /// A kind this SDK does not know (a newer firmware).
    Other(u16),
}

/// An input event of the HID device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The button.
    pub code: u16,
    /// The LED bits, for [`EventKind::Leds`].
    pub value: i32,
}

impl Event {
    /// Decodes the 8 bytes the host writes.
    pub fn from_bytes(b: [u8; 8]) -> Event {
        let kind = match u16::from_le_bytes([b[0], b[1]]) {
            1 => EventKind::Pressed,
            2 => EventKind::Released,
            3 => EventKind::Leds,
            other => EventKind::Other(other),
        };
        Event { kind, code: u16::from_le_bytes([b[2], b[3]]), value: i32::from_le_bytes([b[4], b[5], b[6], b[7]]) }
    }
}

/// Takes the oldest input event, waiting for one up to `timeout`
/// ([`Error::TIMED_OUT`]; `None` waits for ever, `Some(Duration::ZERO)`
/// does not wait).
pub fn next_event(timeout: Option<Duration>) -> Result<Event> {
    let mut buf = [0u8; 8];
    let us = timeout.map_or(-1, |t| t.as_micros().min(i64::MAX as u128) as i64);
    // SAFETY: the host writes 8 bytes into `buf`, borrowed exclusively;
    // while the app is suspended nothing else touches it.
    Error::check(unsafe { ffi::next_event(buf.as_mut_ptr(), 8, us) })?;
    Ok(Event::from_bytes(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_decode() {
        let e = Event::from_bytes([1, 0, 3, 0, 0, 0, 0, 0]);
        assert_eq!((e.kind, e.code), (EventKind::Pressed, 3));
        let e = Event::from_bytes([3, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!((e.kind, e.value), (EventKind::Leds, 2));
        assert_eq!(Event::from_bytes([9, 0, 0, 0, 0, 0, 0, 0]).kind, EventKind::Other(9));
    }
}
