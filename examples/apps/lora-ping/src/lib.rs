//! Sends `ping N` on 868.1 MHz (SF9, 125 kHz, +14 dBm) and waits up to a
//! second for the `pong N` of `lora-pong`; five rounds, one every two
//! seconds, then reports the round trips and the airtime left of its 1 %
//! duty cycle. Run both on the simulated air:
//! `akira run examples/apps/lora-pong examples/apps/lora-ping`.
#![no_std]

use core::fmt::Write as _;
use core::time::Duration;

use akira_app::rf::{Lora, Modulation};
use akira_app::{Error, info, timer, warn};

const ROUNDS: u32 = 5;

fn run() -> akira_app::Result<()> {
    let radio = Lora::configure(&Modulation::new(868_100_000, 14).spreading_factor(9))?;
    // Out of the granted band: refused by the guard, nothing transmitted.
    let denied = Lora::configure(&Modulation::new(869_525_000, 14));
    info!("869.525 MHz: {:?}", denied.err());
    let mut answered = 0;
    for n in 1..=ROUNDS {
        let mut msg = heapless_line::Line::new();
        let _ = write!(msg, "ping {n}");
        radio.send(msg.as_bytes())?;
        let mut buf = [0u8; 32];
        match radio.receive(&mut buf, Some(Duration::from_secs(1))) {
            Ok(len) => {
                let q = akira_app::rf::last_packet();
                let (rssi, snr) = q.map_or((0, 0), |q| (q.rssi_dbm, q.snr_db));
                info!("got {:?} ({rssi} dBm, SNR {snr} dB)", core::str::from_utf8(&buf[..len]).unwrap_or("?"));
                answered += 1;
            }
            Err(Error::TIMED_OUT) => warn!("ping {n}: no answer"),
            Err(e) => return Err(e),
        }
        timer::sleep(Duration::from_secs(2));
    }
    info!("{answered}/{ROUNDS} answered; airtime left {} ms", akira_app::rf::airtime_left().as_millis());
    if answered == ROUNDS { Ok(()) } else { Err(Error::TIMED_OUT) }
}

/// A line of text on the stack.
mod heapless_line {
    /// Up to 32 bytes of text.
    pub struct Line {
        buf: [u8; 32],
        len: usize,
    }
    impl Line {
        pub const fn new() -> Line {
            Line { buf: [0; 32], len: 0 }
        }
        pub fn as_bytes(&self) -> &[u8] {
            &self.buf[..self.len]
        }
    }
    impl core::fmt::Write for Line {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.len + s.len();
            self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
}

akira_app::main!(run);
