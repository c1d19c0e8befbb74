//! Waters for a moment: opens valve 0, waits, closes it. Also tries valve
//! 1, which this app did not ask for: the guard refuses it.
#![no_std]

use akira_app::{error, info, timer};

/// The app side of `acme:valve`: what a team ships to its app developers
/// (as a small crate, or a C header for C apps).
mod valve {
    use akira_app::{Error, Result};

    mod ffi {
        #[link(wasm_import_module = "acme:valve")]
        unsafe extern "C" {
            pub fn set(valve: u32, open: u32) -> i32;
            pub fn is_open(valve: u32) -> i32;
        }
    }

    /// Opens (`true`) or closes valve `valve`.
    pub fn set(valve: u32, open: bool) -> Result<()> {
        // SAFETY: a host function taking two integers.
        Error::check(unsafe { ffi::set(valve, open as u32) }).map(drop)
    }

    /// Whether valve `valve` is open.
    pub fn is_open(valve: u32) -> Result<bool> {
        // SAFETY: a host function taking an integer.
        Error::check(unsafe { ffi::is_open(valve) }).map(|v| v != 0)
    }
}

fn run() -> akira_app::Result<()> {
    valve::set(0, true)?;
    info!("valve 0 open: {}", valve::is_open(0)?);
    timer::sleep_ms(200);
    valve::set(0, false)?;
    info!("valve 0 closed after 200 ms");
    if let Err(e) = valve::set(1, true) {
        error!("valve 1: {}", e);
    }
    Ok(())
}

akira_app::main!(run);
