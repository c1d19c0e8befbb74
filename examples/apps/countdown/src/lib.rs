//! Counts down from 3, one LED flash per second, then exits with 0: a
//! short app for pushing to a device (the QEMU firmware's CI run uses it).
#![no_std]

use akira_app::{gpio::Output, info, timer};

fn run() -> akira_app::Result<()> {
    let mut led = Output::new(2)?;
    for n in (1..=3).rev() {
        info!("{n}...");
        led.set_high()?;
        timer::sleep_ms(200);
        led.set_low()?;
        timer::sleep_ms(800);
    }
    info!("liftoff");
    Ok(())
}

akira_app::main!(run);
