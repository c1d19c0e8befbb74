//! Helpers shared by the CLI's integration tests.
#![allow(dead_code)]

/// An echo server on an ephemeral port of 127.0.0.1 that serves one
/// connection; it returns the port.
pub fn echo_server() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 256];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => stream.write_all(&buf[..n]).unwrap(),
            }
        }
    });
    port
}
