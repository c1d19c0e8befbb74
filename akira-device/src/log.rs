//! The device's log through defmt (feature `defmt`): what the board
//! examples gave a vendor adapter as the apps' console and the device as
//! its notes, without formatting anything on the device.

use akira_bridge::{AppInfo, Level};

use crate::Note;

/// Logs a line an app wrote (`akira:log`) at its level, after the app's
/// name: `blinky: LED on`. A vendor adapter's `init` takes it as the
/// board's console.
pub fn console(app: &AppInfo, level: Level, message: &str) {
    let name = app.name.as_str();
    match level {
        Level::Error => defmt::error!("{=str}: {=str}", name, message),
        Level::Warn => defmt::warn!("{=str}: {=str}", name, message),
        Level::Info => defmt::info!("{=str}: {=str}", name, message),
        Level::Debug => defmt::debug!("{=str}: {=str}", name, message),
        Level::Trace => defmt::trace!("{=str}: {=str}", name, message),
    }
}

/// Logs what the device did ([`Note`]): give it to [`Device::new`],
/// [`Device::serve`] and the other calls that take notes.
///
/// [`Device::new`]: crate::Device::new
/// [`Device::serve`]: crate::Device::serve
pub fn note(note: Note<'_>) {
    defmt::info!("device: {}", note);
}
