//! The reports apps send: [`Report`] for each device kind, its bytes, and
//! the US keyboard layout `type_text` uses ([`ascii_key`]).

use akira_caps::scope::hid::{CONSUMER, GAMEPAD, KEYBOARD, MOUSE, RAW};

/// Longest raw report, in bytes.
pub const MAX_RAW: usize = 64;
/// Most keys one keyboard report holds down (the boot protocol's six).
pub const MAX_KEYS: usize = 6;
/// Longest text one `type_text` call takes, in bytes.
pub const MAX_TEXT: u32 = 256;
/// How long a report waits for room before `AKIRA_ETIMEDOUT`.
pub const SEND_TIMEOUT_US: u64 = 1_000_000;

/// Keyboard modifier bits (the first byte of a keyboard report).
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

/// One HID report, in the layouts of [`Report::encode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Report<'a> {
    /// Keyboard (boot protocol): modifier bits and up to six keys held
    /// down (HID usage ids, page 0x07; 0 = none).
    Keyboard {
        /// [`modifiers`] bits.
        modifiers: u8,
        /// Keys held down.
        keys: [u8; MAX_KEYS],
    },
    /// Mouse (boot protocol plus a wheel): buttons and relative motion.
    Mouse {
        /// Bit 0 left, 1 right, 2 middle.
        buttons: u8,
        /// Right is positive.
        x: i8,
        /// Down is positive.
        y: i8,
        /// Away from the user is positive.
        wheel: i8,
    },
    /// Gamepad: 16 buttons and two sticks.
    Gamepad {
        /// Bit n: button n + 1.
        buttons: u16,
        /// Left stick x.
        x: i8,
        /// Left stick y.
        y: i8,
        /// Right stick x.
        rx: i8,
        /// Right stick y.
        ry: i8,
    },
    /// Consumer control: one usage (page 0x0C, e.g. 0xE9 volume up); 0
    /// releases.
    Consumer {
        /// The usage id.
        usage: u16,
    },
    /// Raw bytes for a vendor-defined report.
    Raw(&'a [u8]),
}

impl Report<'_> {
    /// The device kind ([`akira_caps::scope::hid`] number).
    pub fn kind(&self) -> u32 {
        match self {
            Report::Keyboard { .. } => KEYBOARD,
            Report::Mouse { .. } => MOUSE,
            Report::Gamepad { .. } => GAMEPAD,
            Report::Consumer { .. } => CONSUMER,
            Report::Raw(_) => RAW,
        }
    }

    /// The report's bytes: keyboard `[modifiers, 0, k1..k6]`, mouse
    /// `[buttons, x, y, wheel]`, gamepad `[buttons lo, hi, x, y, rx, ry]`,
    /// consumer `[usage lo, hi]`, raw as given (at most [`MAX_RAW`]).
    pub fn encode<'b>(&self, buf: &'b mut [u8; MAX_RAW]) -> &'b [u8] {
        let n = match *self {
            Report::Keyboard { modifiers, keys } => {
                buf[0] = modifiers;
                buf[1] = 0;
                buf[2..8].copy_from_slice(&keys);
                8
            }
            Report::Mouse { buttons, x, y, wheel } => {
                buf[..4].copy_from_slice(&[buttons, x as u8, y as u8, wheel as u8]);
                4
            }
            Report::Gamepad { buttons, x, y, rx, ry } => {
                let [lo, hi] = buttons.to_le_bytes();
                buf[..6].copy_from_slice(&[lo, hi, x as u8, y as u8, rx as u8, ry as u8]);
                6
            }
            Report::Consumer { usage } => {
                buf[..2].copy_from_slice(&usage.to_le_bytes());
                2
            }
            Report::Raw(bytes) => {
                let n = bytes.len().min(MAX_RAW);
                buf[..n].copy_from_slice(&bytes[..n]);
                n
            }
        };
        &buf[..n]
    }
}
/// The key (modifier bits, usage id) that types ASCII `c` on a US layout:
/// letters, digits, punctuation, space, `\n` (Enter), `\t` (Tab) and
/// `\x08` (Backspace). `None` for other bytes.
pub const fn ascii_key(c: u8) -> Option<(u8, u8)> {
    const SHIFT: u8 = modifiers::LEFT_SHIFT;
    Some(match c {
        b'a'..=b'z' => (0, 0x04 + (c - b'a')),
        b'A'..=b'Z' => (SHIFT, 0x04 + (c - b'A')),
        b'1'..=b'9' => (0, 0x1e + (c - b'1')),
        b'0' => (0, 0x27),
        b'\n' => (0, 0x28),
        0x08 => (0, 0x2a),
        b'\t' => (0, 0x2b),
        b' ' => (0, 0x2c),
        b'-' => (0, 0x2d),
        b'=' => (0, 0x2e),
        b'[' => (0, 0x2f),
        b']' => (0, 0x30),
        b'\\' => (0, 0x31),
        b';' => (0, 0x33),
        b'\'' => (0, 0x34),
        b'`' => (0, 0x35),
        b',' => (0, 0x36),
        b'.' => (0, 0x37),
        b'/' => (0, 0x38),
        b'!' => (SHIFT, 0x1e),
        b'@' => (SHIFT, 0x1f),
        b'#' => (SHIFT, 0x20),
        b'$' => (SHIFT, 0x21),
        b'%' => (SHIFT, 0x22),
        b'^' => (SHIFT, 0x23),
        b'&' => (SHIFT, 0x24),
        b'*' => (SHIFT, 0x25),
        b'(' => (SHIFT, 0x26),
        b')' => (SHIFT, 0x27),
        b'_' => (SHIFT, 0x2d),
        b'+' => (SHIFT, 0x2e),
        b'{' => (SHIFT, 0x2f),
        b'}' => (SHIFT, 0x30),
        b'|' => (SHIFT, 0x31),
        b':' => (SHIFT, 0x33),
        b'"' => (SHIFT, 0x34),
        b'~' => (SHIFT, 0x35),
        b'<' => (SHIFT, 0x36),
        b'>' => (SHIFT, 0x37),
        b'?' => (SHIFT, 0x38),
        _ => return None,
    })
}
