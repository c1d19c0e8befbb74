//! Echoes what arrives on serial port 1 (the simulated board's terminal:
//! `akira run --uart-input 1@500ms:hello`) in upper case, and checks the
//! loopback on port 0 first. The app is suspended while it waits for
//! input, using no CPU; it exits when a line reads `quit`, or after 10 s
//! without input.
#![no_std]

use core::fmt::Write as _;
use core::time::Duration;

use akira_app::uart::Port;
use akira_app::{Error, info};

fn run() -> akira_app::Result<()> {
    // The loopback: what is written comes back.
    let mut lo = Port::new(0);
    lo.write_all(b"ping")?;
    let mut back = [0u8; 4];
    let n = lo.read(&mut back, Some(Duration::from_millis(10)))?;
    info!("loopback: {:?}", core::str::from_utf8(&back[..n]).unwrap_or("?"));

    let mut term = Port::new(1);
    let _ = write!(term, "echo ready\r\n");
    let mut buf = [0u8; 64];
    loop {
        let n = match term.read(&mut buf, Some(Duration::from_secs(10))) {
            Ok(n) => n,
            Err(Error::TIMED_OUT) => {
                info!("no input for 10 s");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let text = &mut buf[..n];
        if text.trim_ascii() == b"quit" {
            info!("bye");
            return Ok(());
        }
        text.make_ascii_uppercase();
        term.write_all(text)?;
    }
}

akira_app::main!(run);
