//! Listens on 868.1 MHz (SF9, 125 kHz) and answers every `ping N` with
//! `pong N`; exits after five pongs, or after 10 s of silence. The partner
//! of `lora-ping`.
#![no_std]

use core::time::Duration;

use akira_app::rf::{Lora, Modulation};
use akira_app::{Error, info};

fn run() -> akira_app::Result<()> {
    let radio = Lora::configure(&Modulation::new(868_100_000, 14).spreading_factor(9))?;
    let mut buf = [0u8; 32];
    for _ in 0..5 {
        let len = match radio.receive(&mut buf, Some(Duration::from_secs(10))) {
            Ok(len) => len,
            Err(Error::TIMED_OUT) => {
                info!("silence for 10 s");
                return Err(Error::TIMED_OUT);
            }
            Err(e) => return Err(e),
        };
        let Some(n) = buf[..len].strip_prefix(b"ping ") else { continue };
        let mut reply = [0u8; 32];
        reply[..5].copy_from_slice(b"pong ");
        reply[5..5 + n.len()].copy_from_slice(n);
        radio.send(&reply[..5 + n.len()])?;
    }
    info!("answered five pings");
    Ok(())
}

akira_app::main!(run);
