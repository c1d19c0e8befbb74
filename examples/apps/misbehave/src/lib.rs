//! A hostile app: it drives pin 7, which its manifest does not grant, and
//! then spins forever without waiting. The guard refuses the pin (the app
//! gets `Error::DENIED`, the firmware counts the denial) and the CPU budget
//! stops the loop with a fault; the firmware and other apps keep running.
#![no_std]

use akira_app::{error, gpio, info};

fn run() -> akira_app::Result<()> {
    gpio::configure(3, true)?;
    gpio::write(3, true)?;
    info!("pin 3 is mine");
    match gpio::configure(7, true).and_then(|()| gpio::write(7, true)) {
        Ok(()) => info!("pin 7 is mine too?"),
        Err(e) => error!("pin 7 refused: {e}"),
    }
    info!("now spinning forever");
    let mut n: u32 = 0;
    loop {
        // `black_box` keeps the optimiser from proving the loop useless.
        n = core::hint::black_box(n.wrapping_add(1));
    }
}

akira_app::main!(run);
