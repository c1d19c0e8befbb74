//! A two-key macro pad: the board is a USB/BLE keyboard. Button 0 types a
//! line of text; button 1 presses the "volume up" media key. Between
//! presses the app waits suspended for the next input event.
#![no_std]

use akira_app::hid::{self, EventKind};
use akira_app::info;

/// What button 0 types.
const TEXT: &str = "Hello from Akira!\n";
/// Consumer-control usage "Volume Increment".
const VOLUME_UP: u16 = 0xe9;

fn run() -> akira_app::Result<()> {
    info!("macro pad ready: button 0 types, button 1 turns the volume up");
    loop {
        let event = hid::next_event(None)?;
        match (event.kind, event.code) {
            (EventKind::Pressed, 0) => {
                hid::type_text(TEXT)?;
                info!("typed {} characters", TEXT.len());
            }
            (EventKind::Pressed, 1) => {
                hid::consumer(VOLUME_UP)?;
                hid::consumer(0)?;
                info!("volume up");
            }
            _ => {}
        }
    }
}

akira_app::main!(run);
