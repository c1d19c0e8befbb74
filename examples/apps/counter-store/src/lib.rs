//! Counts its boots in the app's key-value store: reads `boots`, adds one,
//! writes it back and prints it. Run it twice on the same storage file
//! (`akira run examples/apps/counter-store --storage counter.flash`) and it
//! prints 1, then 2. Also shows the quota at work: a value larger than the
//! app's 64-byte quota is refused.
#![no_std]

use akira_app::{Error, info, storage};

fn run() -> akira_app::Result<()> {
    let boots = storage::get_u32(b"boots")?.unwrap_or(0) + 1;
    storage::set(b"boots", &boots.to_le_bytes())?;
    info!("boot count: {boots}");
    match storage::set(b"too-big", &[0u8; 64]) {
        Err(Error::NO_SPACE) => {}
        other => {
            info!("a 64-byte value beside the counter should pass the quota: {other:?}");
            return Err(Error::INVALID);
        }
    }
    info!("using {} of {} bytes", storage::used()?, storage::quota());
    Ok(())
}

akira_app::main!(run);
