//! Toggles the LED on pin 2 each time the button on pin 0 is pressed
//! (a falling edge: the button pulls the pin low). The app sleeps in the
//! edge wait, using no CPU between presses.
#![no_std]

use akira_app::gpio::{Edges, Input, Output};
use akira_app::info;

fn run() -> akira_app::Result<()> {
    let button = Input::new(0)?;
    let mut led = Output::new(2)?;
    let mut presses = 0u32;
    loop {
        button.wait_for_edge(Edges::Falling, None)?;
        presses += 1;
        let on = led.toggle()?;
        info!("press {presses}: LED {}", if on { "on" } else { "off" });
    }
}

akira_app::main!(run);
