//! Supervises `blinky` (run it beside this app): after 1.2 s it stops
//! blinky for a second (the LED stays as it was), then starts it afresh,
//! and exits. It may control only the apps its manifest lists: asking
//! about any other is refused.
#![no_std]

use akira_app::app::{self, Status};
use akira_app::{Error, info, timer};

/// `blinky`: index 0 of this app's `app` list.
const BLINKY: u8 = 0;

fn run() -> akira_app::Result<()> {
    timer::sleep_ms(1200);
    info!("blinky is {:?}", app::status(BLINKY)?);
    app::stop(BLINKY)?;
    if app::status(BLINKY)? != Status::Stopped {
        return Err(Error::INVALID);
    }
    info!("blinky stopped for 1 s");
    timer::sleep_ms(1000);
    app::start(BLINKY)?;
    info!("blinky started again: {:?}", app::status(BLINKY)?);
    if let Err(e) = app::status(1) {
        info!("app 1: {}", e);
    }
    Ok(())
}

akira_app::main!(run);
