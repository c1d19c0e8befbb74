//! Sends `ping 1` to `ping 3` on topic `ping` and waits, suspended, for
//! each answer on `pong` (run it with `ipc-pong`:
//! `akira run examples/apps/ipc-ping examples/apps/ipc-pong`). Until
//! someone subscribes, a publish reaches nobody: it retries every 10 ms.
#![no_std]

use core::fmt::Write as _;
use core::time::Duration;

use akira_app::ipc::{self, Publisher};
use akira_app::{Error, info, timer};

const PING: Publisher = Publisher::new(0);
const PONG: u8 = 0;

fn run() -> akira_app::Result<()> {
    ipc::subscribe(PONG)?;
    let mut text = heapless_line::Line::new();
    for n in 1..=3 {
        text.clear();
        let _ = write!(text, "ping {n}");
        while PING.publish(text.as_bytes())? == 0 {
            timer::sleep_ms(10);
        }
        let mut buf = [0u8; ipc::MAX_MESSAGE];
        let msg = match ipc::receive(&mut buf, Some(Duration::from_secs(1))) {
            Err(Error::TIMED_OUT) => {
                info!("no answer to ping {n}");
                return Err(Error::TIMED_OUT);
            }
            other => other?,
        };
        info!("got {:?}", core::str::from_utf8(&buf[..msg.len]).unwrap_or("?"));
    }
    Ok(())
}

/// A line of text in a fixed buffer.
mod heapless_line {
    pub struct Line {
        buf: [u8; 32],
        len: usize,
    }

    impl Line {
        pub const fn new() -> Line {
            Line { buf: [0; 32], len: 0 }
        }
        pub fn clear(&mut self) {
            self.len = 0;
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
