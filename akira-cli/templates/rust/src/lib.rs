//! {{name}}: an Akira app. It greets, blinks the LED on logical pin 2
//! three times and exits. `akira run .` builds it and runs it on the
//! simulated board; `akira pack . --key release.key` makes a package for
//! a device.
#![no_std]

use akira_app::{gpio::Output, info, timer};

fn run() -> akira_app::Result<()> {
    info!("hello from {{name}}");
    let mut led = Output::new(2)?;
    for _ in 0..3 {
        led.toggle()?; // on
        timer::sleep_ms(250);
        led.toggle()?; // off
        timer::sleep_ms(250);
    }
    info!("blinked three times");
    Ok(())
}

akira_app::main!(run);
