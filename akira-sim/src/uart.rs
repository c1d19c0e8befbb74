//! Simulated serial ports.
//!
//! | port | what |
//! |---|---|
//! | 0 | loopback: every byte written is received back on the same port |
//! | 1 | a terminal: what apps write is recorded; what they read comes from the script ([`crate::Simulation::uart_input_at`], `akira run --uart-input 1@500ms:hello`) |
//!
//! Each port buffers up to [`RX_BUFFER`] received bytes (more are dropped
//! and noted) and takes any write at once.

use std::collections::VecDeque;

use akira_bridge::Errno;

/// Received bytes each port holds before dropping.
pub const RX_BUFFER: usize = 1024;

/// Number of simulated ports.
pub const PORTS: usize = 2;

/// The board's serial ports.
#[derive(Default)]
pub struct SimUarts {
    rx: [VecDeque<u8>; PORTS],
    /// Bumped whenever bytes arrive, so the simulation knows a suspended
    /// read may now complete.
    arrivals: u64,
}

impl SimUarts {
    fn port(&mut self, port: u32) -> Result<&mut VecDeque<u8>, Errno> {
        self.rx.get_mut(port as usize).ok_or(Errno::NoSuchResource)
    }

    /// Bytes arrive on `port`; returns how many were dropped for lack of
    /// room.
    pub fn receive(&mut self, port: u32, bytes: &[u8]) -> Result<usize, Errno> {
        let rx = self.port(port)?;
        let room = RX_BUFFER - rx.len();
        let n = bytes.len().min(room);
        rx.extend(&bytes[..n]);
        if n > 0 {
            self.arrivals += 1;
        }
        Ok(bytes.len() - n)
    }

    /// Takes received bytes.
    pub fn read(&mut self, port: u32, buf: &mut [u8]) -> Result<usize, Errno> {
        let rx = self.port(port)?;
        let n = buf.len().min(rx.len());
        for (b, r) in buf.iter_mut().zip(rx.drain(..n)) {
            *b = r;
        }
        Ok(n)
    }

    /// Transmits: port 0 loops back, port 1 goes to the terminal (the
    /// record the bridge's trace makes).
    pub fn write(&mut self, port: u32, data: &[u8]) -> Result<usize, Errno> {
        self.port(port)?;
        if port == 0 {
            // The loopback takes only what it can receive back.
            let room = RX_BUFFER - self.rx[0].len();
            let n = data.len().min(room);
            self.receive(0, &data[..n])?;
            return Ok(n);
        }
        Ok(data.len())
    }

    /// How many times bytes arrived.
    pub fn arrivals(&self) -> u64 {
        self.arrivals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_terminal() {
        let mut u = SimUarts::default();
        assert_eq!(u.write(0, b"ping"), Ok(4));
        let mut buf = [0u8; 8];
        assert_eq!(u.read(0, &mut buf), Ok(4));
        assert_eq!(&buf[..4], b"ping");
        assert_eq!(u.write(1, b"out"), Ok(3));
        assert_eq!(u.read(1, &mut buf), Ok(0), "the terminal does not echo");
        assert_eq!(u.receive(1, &[0; RX_BUFFER + 3]), Ok(3));
        assert_eq!(u.write(0, &[0; RX_BUFFER + 1]), Ok(RX_BUFFER), "the loopback takes what it can hold");
        assert_eq!(u.write(0, b"x"), Ok(0), "full: the writer waits");
        assert_eq!(u.read(2, &mut buf), Err(Errno::NoSuchResource));
        assert_eq!(u.arrivals(), 3);
    }
}
