//! Talks to the echo server at endpoint 0 of its manifest: sends three
//! lines over TCP, reads each one back (suspended while it waits), checks
//! it, and closes. Exits with 0 if every line came back intact.
#![no_std]

use core::time::Duration;

use akira_app::net::Socket;
use akira_app::{Error, info};

const LINES: [&[u8]; 3] = [b"hello, net\n", b"from a wasm app\n", b"bye\n"];

fn run() -> akira_app::Result<()> {
    let mut socket = Socket::tcp(0, Some(Duration::from_secs(2)))?;
    info!("connected");
    let mut buf = [0u8; 64];
    for line in LINES {
        socket.write_all(line)?;
        let mut got = 0;
        while got < line.len() {
            let n = socket.receive(&mut buf[got..], Some(Duration::from_secs(2)))?;
            if n == 0 {
                info!("the server closed the connection");
                return Err(Error::IO);
            }
            got += n;
        }
        let text = core::str::from_utf8(&buf[..got]).unwrap_or("?");
        if &buf[..got] != line {
            info!("echo mismatch: {:?}", text);
            return Err(Error::IO);
        }
        info!("echoed {:?}", text.trim_end());
    }
    Ok(())
}

akira_app::main!(run);
