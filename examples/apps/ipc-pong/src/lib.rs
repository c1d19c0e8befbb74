//! Answers every message on topic `ping` with the same text, `ping`
//! turned into `pong`, on topic `pong`. It is suspended, using no CPU,
//! while its mailbox is empty; it exits after `ping 3`, or after 2 s
//! without a message.
#![no_std]

use core::time::Duration;

use akira_app::ipc::{self, Publisher};
use akira_app::{Error, info};

const PING: u8 = 0;
const PONG: Publisher = Publisher::new(0);

fn run() -> akira_app::Result<()> {
    ipc::subscribe(PING)?;
    let mut buf = [0u8; ipc::MAX_MESSAGE];
    loop {
        let msg = match ipc::receive(&mut buf, Some(Duration::from_secs(2))) {
            Err(Error::TIMED_OUT) => {
                info!("no ping for 2 s");
                return Ok(());
            }
            other => other?,
        };
        let text = &mut buf[..msg.len];
        let last = text == b"ping 3";
        if let Some(o) = text.get_mut(1) {
            *o = b'o';
        }
        PONG.publish(text)?;
        if last {
            info!("done");
            return Ok(());
        }
    }
}

akira_app::main!(run);
