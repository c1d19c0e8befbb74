//! `akira:net`: TCP and UDP client sockets. Needs the `net` capability
//! with the endpoints the app connects to:
//!
//! ```toml
//! [capabilities]
//! net = ["api.example.com:443", "10.0.0.2:5683"]
//! ```
//!
//! An endpoint is named by its index in that list: `Socket::tcp(0, ..)`
//! connects to `api.example.com:443`. The firmware checks the index
//! before it opens anything. Connecting, sending and receiving suspend
//! only this app while they wait.
//!
//! ```ignore
//! use akira_app::net::Socket;
//! # fn run() -> akira_app::Result<()> {
//! let mut socket = Socket::tcp(0, Some(core::time::Duration::from_secs(5)))?;
//! socket.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
//! let mut buf = [0u8; 256];
//! let n = socket.receive(&mut buf, None)?;     // 0: closed by the server
//! # Ok(()) }
//! ```

use core::time::Duration;

use crate::{Error, Result};

/// Most bytes one call moves.
pub const MAX_TRANSFER: usize = 4096;

use crate::imports::net as ffi;

fn micros(timeout: Option<Duration>) -> i64 {
    timeout.map_or(-1, |t| t.as_micros().min(i64::MAX as u128) as i64)
}

/// A socket's transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A TCP stream.
    Tcp = 0,
    /// UDP to one peer: each send is a datagram, each receive one datagram.
    Udp = 1,
}

/// An open socket; closed when dropped.
#[derive(Debug)]
pub struct Socket {
    id: i32,
}

impl Socket {
    /// Connects to endpoint `endpoint` (an index of the app's `net` list)
    /// on the endpoint's port, or on `port` where the manifest's endpoint
    /// allows any port (`host:0`); `port` 0 means the endpoint's. Waits
    /// up to `timeout` for the connection ([`Error::TIMED_OUT`]);
    /// [`Error::DENIED`] for an endpoint or port not granted.
    pub fn connect(endpoint: u8, transport: Transport, port: u16, timeout: Option<Duration>) -> Result<Socket> {
        // SAFETY: no pointers.
        let r = unsafe { ffi::connect(endpoint.into(), transport as i32, port.into(), micros(timeout)) };
        Error::check(r).map(|id| Socket { id })
    }

    /// A TCP connection to endpoint `endpoint` on its port.
    pub fn tcp(endpoint: u8, timeout: Option<Duration>) -> Result<Socket> {
        Socket::connect(endpoint, Transport::Tcp, 0, timeout)
    }

    /// A UDP socket talking to endpoint `endpoint` on its port.
    pub fn udp(endpoint: u8) -> Result<Socket> {
        Socket::connect(endpoint, Transport::Udp, 0, None)
    }

    /// Queues as much of `data` as the socket takes, waiting until it
    /// takes some (up to `timeout`). Returns how many bytes were queued.
    pub fn send(&mut self, data: &[u8], timeout: Option<Duration>) -> Result<usize> {
        let n = data.len().min(MAX_TRANSFER);
        // SAFETY: the host reads at most `n` bytes at the pointer, which
        // `data` owns; it checks the range against the app's memory.
        let r = unsafe { ffi::send(self.id, data.as_ptr(), n as i32, micros(timeout)) };
        Error::check(r).map(|n| n as usize)
    }

    /// Sends all of `data`, waiting as long as it takes.
    pub fn write_all(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let n = self.send(data, None)?;
            data = &data[n.min(data.len())..];
        }
        Ok(())
    }

    /// Takes received bytes into `buf`, waiting for some (up to
    /// `timeout`). Returns how many; 0 when the peer closed the
    /// connection (or `buf` is empty).
    pub fn receive(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize> {
        let n = buf.len().min(MAX_TRANSFER);
        // SAFETY: the host writes at most `n` bytes into `buf`, which is
        // borrowed exclusively; while the app is suspended nothing else
        // touches it.
        let r = unsafe { ffi::receive(self.id, buf.as_mut_ptr(), n as i32, micros(timeout)) };
        Error::check(r).map(|n| n as usize)
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: no pointers. Closing a socket twice is refused, harmlessly.
        unsafe { ffi::close(self.id) };
    }
}
