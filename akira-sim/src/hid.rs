//! The simulated HID device: a keyboard, mouse, gamepad, consumer control
//! and raw device on a host that takes every report at once. Reports are
//! recorded (`hid keyboard [02 00 04 00 00 00 00 00] types 'A'`: the
//! host's view of a keyboard report is decoded with the bridge's US
//! layout). The board's buttons (pins 0 and 1, `akira run --press`) are
//! also the device's buttons: each press and release is an input event
//! (code = pin) in a queue of [`EVENTS`].

use akira_bridge::modules::hid::{MAX_KEYS, ascii_key, modifiers};
use akira_bridge::{Errno, EventQueue};

/// Input events the device queues before dropping new ones.
pub const EVENTS: usize = 16;

/// Reports the simulated stack takes per call (the host polls at once,
/// so there is always this much room).
pub const ROOM: usize = 64;

/// The simulated HID device.
#[derive(Debug, Default)]
pub struct SimHid {
    /// Input events for apps.
    pub events: EventQueue<EVENTS>,
    /// Keys held down by the last keyboard report.
    held: [u8; MAX_KEYS],
}

impl SimHid {
    /// Room for reports of `kind`: every kind of the vocabulary is offered.
    pub fn room(kind: u32) -> Result<usize, Errno> {
        if (kind as usize) < akira_caps::scope::hid::NAMES.len() { Ok(ROOM) } else { Err(Errno::NoSuchResource) }
    }

    /// The host reads keyboard report `bytes`: the ASCII character of the
    /// first key newly held down, if any.
    pub fn host_sees(&mut self, bytes: &[u8]) -> Option<char> {
        let [mods, _, keys @ ..] = bytes else { return None };
        let mut held = [0u8; MAX_KEYS];
        let n = keys.len().min(MAX_KEYS);
        held[..n].copy_from_slice(&keys[..n]);
        let new = held.iter().copied().find(|k| *k != 0 && !self.held.contains(k));
        self.held = held;
        let shift = mods & (modifiers::LEFT_SHIFT | modifiers::RIGHT_SHIFT) != 0;
        let want = (if shift { modifiers::LEFT_SHIFT } else { 0 }, new?);
        (0u8..0x80).find(|&c| ascii_key(c) == Some(want)).map(char::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_decodes_key_presses() {
        let mut h = SimHid::default();
        assert_eq!(h.host_sees(&[0x02, 0, 0x04, 0, 0, 0, 0, 0]), Some('A'));
        assert_eq!(h.host_sees(&[0x02, 0, 0x04, 0, 0, 0, 0, 0]), None, "held, not typed again");
        assert_eq!(h.host_sees(&[0; 8]), None);
        assert_eq!(h.host_sees(&[0, 0, 0x04, 0, 0, 0, 0, 0]), Some('a'));
        assert_eq!(h.host_sees(&[0, 0, 0x28, 0, 0, 0, 0, 0]), Some('\n'));
        assert_eq!(h.host_sees(&[0x20, 0, 0x1e, 0, 0, 0, 0, 0]), Some('!'), "right shift");
        assert_eq!(SimHid::room(5), Err(Errno::NoSuchResource));
    }
}
