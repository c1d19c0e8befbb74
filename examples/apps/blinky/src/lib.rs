//! Blinks the LED on logical pin 2 every 500 ms, forever.
#![no_std]

use akira_app::{gpio::Output, info, timer};

fn run() -> akira_app::Result<()> {
    let mut led = Output::new(2)?;
    loop {
        let on = led.toggle()?;
        info!("LED {}", if on { "on" } else { "off" });
        timer::sleep_ms(500);
    }
}

akira_app::main!(run);
