//! The simulated board's network: real sockets of the host, opened
//! non-blocking, so a suspended `akira:net` call is completed by the
//! scheduler's polling and never blocks the simulation.
//!
//! Host names are resolved with the host's resolver when a socket is
//! opened (the one blocking step; `localhost` and address literals resolve
//! at once). While a socket is open, a simulation on virtual time lets
//! time pass no faster than real time, so network timeouts mean what they
//! say.

use std::io::{self, Read, Write};
use std::net::ToSocketAddrs;

use akira_bridge::{Errno, Transport};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Most sockets open at once on the simulated board.
pub const SOCKETS: usize = 16;

/// The host sockets behind the board's handles (handle = index).
#[derive(Default)]
pub struct SimNet {
    sockets: Vec<Option<Socket>>,
}

/// Whether a non-blocking call would have waited (a connect in progress
/// is `EINPROGRESS` on Unix, `WouldBlock` elsewhere).
fn would_block(e: &io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EINPROGRESS) {
        return true;
    }
    e.kind() == io::ErrorKind::WouldBlock
}

impl SimNet {
    /// Sockets open now.
    pub fn open_count(&self) -> usize {
        self.sockets.iter().flatten().count()
    }

    fn socket(&mut self, handle: u32) -> Result<&mut Socket, Errno> {
        self.sockets.get_mut(handle as usize).and_then(Option::as_mut).ok_or(Errno::Invalid)
    }

    /// Starts connecting to `host:port`.
    pub fn open(&mut self, transport: Transport, host: &str, port: u16) -> Result<u32, Errno> {
        if self.open_count() >= SOCKETS {
            return Err(Errno::Busy);
        }
        let addr = (host, port).to_socket_addrs().ok().and_then(|mut a| a.next()).ok_or(Errno::NoSuchResource)?;
        let (ty, protocol) = match transport {
            Transport::Tcp => (Type::STREAM, Protocol::TCP),
            Transport::Udp => (Type::DGRAM, Protocol::UDP),
        };
        let socket = Socket::new(Domain::for_address(addr), ty, Some(protocol)).map_err(|_| Errno::Io)?;
        socket.set_nonblocking(true).map_err(|_| Errno::Io)?;
        match socket.connect(&SockAddr::from(addr)) {
            Ok(()) => {}
            Err(e) if would_block(&e) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return Err(Errno::NoSuchResource),
            Err(_) => return Err(Errno::Io),
        }
        let free = self.sockets.iter().position(Option::is_none).unwrap_or(self.sockets.len());
        if free == self.sockets.len() {
            self.sockets.push(None);
        }
        self.sockets[free] = Some(socket);
        Ok(free as u32)
    }

    /// Whether the connection is up.
    pub fn is_open(&mut self, handle: u32) -> Result<bool, Errno> {
        let socket = self.socket(handle)?;
        if socket.peer_addr().is_ok() {
            return Ok(true);
        }
        match socket.take_error() {
            Ok(None) => Ok(false),
            Ok(Some(e)) if e.kind() == io::ErrorKind::ConnectionRefused => Err(Errno::NoSuchResource),
            _ => Err(Errno::Io),
        }
    }

    /// Sends what the socket takes now.
    pub fn send(&mut self, handle: u32, data: &[u8]) -> Result<usize, Errno> {
        match self.socket(handle)?.write(data) {
            Ok(n) => Ok(n),
            Err(e) if would_block(&e) => Ok(0),
            Err(_) => Err(Errno::Io),
        }
    }

    /// Takes what arrived: `None` if nothing, `Some(0)` at end of stream.
    pub fn receive(&mut self, handle: u32, buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        match self.socket(handle)?.read(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if would_block(&e) => Ok(None),
            Err(_) => Err(Errno::Io),
        }
    }

    /// Closes the socket.
    pub fn close(&mut self, handle: u32) {
        if let Some(slot) = self.sockets.get_mut(handle as usize) {
            *slot = None;
        }
    }
}
