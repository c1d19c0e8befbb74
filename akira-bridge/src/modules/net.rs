//! `akira:net`: TCP and UDP client sockets to the endpoints an app's
//! manifest lists.
//!
//! The manifest lists endpoints (`net = ["api.example.com:443"]`); an app
//! names one by its **index** in that list, so `connect` checks it with one
//! bit test ([`akira_caps::Guard::id`]) before anything is opened. The host
//! names were copied from the grant when the app was linked, so no call
//! compares a string: the board gets the granted host name and resolves
//! it. The port is the endpoint's (an endpoint with port 0, allowed by a
//! development policy, lets the app choose one). After `connect`, a socket
//! is a per-app handle: a small number into the firmware's socket table
//! ([`NetSockets`]) that records which app owns each socket, so an app can
//! only use the sockets it opened.
//!
//! Boards implement [`Net`], whose methods never block: `open` starts a
//! connection, `is_open` reports progress, `send` takes what fits,
//! `receive` takes what arrived. A call that cannot make progress suspends
//! the app on a module wait (as `akira:uart` does) that the scheduler
//! polls. The simulator implements [`Net`] with non-blocking std sockets.
//! A board on embassy implements it over `embassy-net`: a firmware task
//! owns the `Stack` and a pool of `TcpSocket`/`UdpSocket` buffers; `open`
//! queues a DNS query and a connect (`TcpSocket::connect` in the task),
//! `is_open` reports the socket's state, `send`/`receive` copy into and
//! out of the socket's rx/tx rings (`TcpSocket::write`/`read` with
//! `poll_fn`, never awaited inside the host call), and the scheduler's idle
//! future waits on the stack's wakers beside its timer.

use core::fmt;

use crate::host::{Caller, Linker};
use akira_caps::scope::{Endpoint, MAX_NET_ENDPOINTS};
use akira_caps::{Capability, ModuleCapability, ModuleSpec, Table};
use alloc::sync::Arc;

use crate::board::{Board, Trace};
use crate::charge::counted;
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state, reply};
use crate::time::Instant;

mod sockets;
#[cfg(test)]
mod tests;

pub use sockets::{NetSockets, SocketTable};

/// Most bytes one `send` or `receive` moves.
pub const MAX_TRANSFER: u32 = 4096;

/// A socket's transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Transport {
    /// A TCP stream.
    Tcp,
    /// A UDP socket connected to one peer: each send is one datagram, each
    /// receive one datagram from that peer.
    Udp,
}

/// A board's network stack. No method may block. Errors are the codes
/// apps see: [`Errno::NoSuchResource`] for a host that does not resolve
/// or refuses the connection, [`Errno::Busy`] when the board has no free
/// socket, [`Errno::Io`] for a reset connection.
pub trait Net {
    /// Starts opening a socket to `host:port` and returns the board's
    /// handle for it; the connection may still be in progress.
    fn open(&mut self, transport: Transport, host: &str, port: u16) -> Result<u32, Errno>;
    /// Whether socket `socket` is connected: `Ok(false)` while it is in
    /// progress, an error if it failed.
    fn is_open(&mut self, socket: u32) -> Result<bool, Errno>;
    /// Queues as much of `data` as the socket takes now; `Ok(0)` when it
    /// takes nothing (its buffer is full).
    fn send(&mut self, socket: u32, data: &[u8]) -> Result<usize, Errno>;
    /// Takes up to `buf.len()` received bytes (for UDP, one datagram,
    /// truncated to `buf`): `Ok(None)` when none are waiting, `Ok(Some(0))`
    /// when the peer closed the connection.
    fn receive(&mut self, socket: u32, buf: &mut [u8]) -> Result<Option<usize>, Errno>;
    /// Closes the socket and frees its handle.
    fn close(&mut self, socket: u32);
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::NET.import,
    capability: ModuleCapability::Builtin(Capability::Net),
    functions: akira_abi::NET.functions,
};

/// The `akira:net` module over the firmware's socket table; the board
/// must implement [`Net`].
#[derive(Clone, Copy)]
pub struct NetModule {
    sockets: &'static dyn SocketTable,
}

impl fmt::Debug for NetModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetModule").finish_non_exhaustive()
    }
}

impl NetModule {
    /// The module over `sockets`, shared by every app.
    pub const fn new(sockets: &'static dyn SocketTable) -> Self {
        NetModule { sockets }
    }
}

/// Wait operation codes.
const OP_CONNECT: u32 = 1;
const OP_SEND: u32 = 2;
const OP_RECEIVE: u32 = 3;

fn pack(socket: u32, ptr: u32, len: u32) -> u64 {
    u64::from(socket & 0xff) << 56 | u64::from(len & 0x00ff_ffff) << 32 | u64::from(ptr)
}

fn unpack(arg: u64) -> (u32, u32, u32) {
    ((arg >> 56) as u32, arg as u32, (arg >> 32) as u32 & 0x00ff_ffff)
}

fn deadline<B: Board>(state: &AppState<B>, timeout_us: i64) -> Result<Instant, Errno> {
    match u64::try_from(timeout_us) {
        Ok(0) => Err(Errno::TimedOut),
        Ok(us) => Ok(state.board().now().saturating_add(core::time::Duration::from_micros(us))),
        Err(_) => Ok(Instant::MAX),
    }
}

/// The app's endpoints, copied from its grant when it was linked.
type Endpoints = heapless::Vec<Endpoint, MAX_NET_ENDPOINTS>;

#[allow(clippy::too_many_arguments)]
fn connect<B: Board + Net>(
    sockets: &dyn SocketTable,
    endpoints: &Endpoints,
    module: ModuleIndex,
    state: &mut AppState<B>,
    endpoint: u32,
    transport: u32,
    port: u32,
    timeout_us: i64,
) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Net, endpoint))?;
    let e = endpoints.get(endpoint as usize).ok_or(Errno::Denied)?;
    // The endpoint's port; one the app picks only where the grant says
    // any port (0).
    let port = match (e.port, port) {
        (granted, 0) if granted != 0 => granted,
        (0, 0) => return Err(Errno::Invalid.into()),
        (0, wanted) => u16::try_from(wanted).map_err(|_| Errno::Invalid)?,
        (granted, wanted) if wanted == u32::from(granted) => granted,
        _ => return Err(Errno::Denied.into()),
    };
    if e.host == "*" {
        // A wildcard grant names no host the app could connect to.
        return Err(Errno::Invalid.into());
    }
    let transport = match transport {
        0 => Transport::Tcp,
        1 => Transport::Udp,
        _ => return Err(Errno::Invalid.into()),
    };
    let until = deadline(state, timeout_us).ok();
    // Sockets left behind by earlier instances, or by a connect of this
    // app that timed out, are closed here, when the board is at hand.
    let app = state.info().id;
    while let Some((handle, own)) = sockets.take_stale(app) {
        if own {
            state.guard_mut().give_back(Table::Sockets);
        }
        state.board_mut().close(handle);
    }
    // The app's share of the firmware's socket table (its manifest's
    // `sockets`, within the policy): no app can take every socket.
    state.shared(|g| g.take(Table::Sockets))?;
    let opened = state.board_mut().open(transport, &e.host, port);
    state.trace(Trace::NetOpen { endpoint, host: &e.host, port, result: opened.map(drop) });
    let inserted = opened.and_then(|handle| match sockets.insert(app, handle) {
        Some(id) => Ok((id, handle)),
        None => {
            state.board_mut().close(handle);
            Err(Errno::Busy)
        }
    });
    let (id, handle) = match inserted {
        Ok(socket) => socket,
        Err(e) => {
            state.guard_mut().give_back(Table::Sockets);
            return Err(e.into());
        }
    };
    match state.board_mut().is_open(handle) {
        Ok(true) => {
            sockets.connected(app, id);
            return Ok(id as i32);
        }
        Ok(false) => {}
        Err(e) => {
            release(sockets, state, id);
            return Err(e.into());
        }
    }
    let Some(until) = until else {
        release(sockets, state, id);
        return Err(Errno::TimedOut.into());
    };
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op: OP_CONNECT, arg: pack(id, 0, 0) } }))
}

/// One attempt to move bytes on socket `id` (owned by the calling app):
/// `None` when nothing could move.
fn attempt<B: Board + Net>(
    sockets: &dyn SocketTable,
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    op: u32,
    (id, ptr, len): (u32, u32, u32),
) -> Result<Option<usize>, Errno> {
    let app = state.info().id;
    let handle = sockets.get(app, id, false).ok_or(Errno::Invalid)?;
    if op == OP_RECEIVE {
        let buf = memory.bytes_mut(ptr, len)?;
        let Some(n) = state.board_mut().receive(handle, buf)? else { return Ok(None) };
        let n = n.min(buf.len());
        state.trace(Trace::Net { socket: id, sent: false, bytes: &buf[..n] });
        Ok(Some(n))
    } else {
        let data = memory.bytes(ptr, len)?;
        let n = state.board_mut().send(handle, data)?.min(data.len());
        if n == 0 {
            return Ok(None);
        }
        state.trace(Trace::Net { socket: id, sent: true, bytes: &data[..n] });
        Ok(Some(n))
    }
}

#[allow(clippy::too_many_arguments)]
fn transfer<B: Board + Net>(
    sockets: &dyn SocketTable,
    module: ModuleIndex,
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    op: u32,
    (id, ptr, len): (u32, u32, u32),
    timeout_us: i64,
) -> Result<i32, Refusal> {
    sockets.get(state.info().id, id, false).ok_or(Errno::Invalid)?;
    if len > MAX_TRANSFER {
        return Err(Errno::TooLarge.into());
    }
    // Checked now, so a suspended call holds a valid loan.
    memory.bytes(ptr, len)?;
    if len == 0 {
        return Ok(0);
    }
    if let Some(n) = attempt(sockets, memory, state, op, (id, ptr, len))? {
        return Ok(n as i32);
    }
    let until = deadline(state, timeout_us)?;
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op, arg: pack(id, ptr, len) } }))
}

fn close<B: Board + Net>(sockets: &dyn SocketTable, state: &mut AppState<B>, id: u32) -> Result<i32, Refusal> {
    release(sockets, state, id).ok_or(Errno::Invalid)?;
    Ok(0)
}

/// Takes socket `id` of the calling app out of the table, closes it and
/// gives its entry back to the app's share; `None` if the app has no such
/// socket.
fn release<B: Board + Net>(sockets: &dyn SocketTable, state: &mut AppState<B>, id: u32) -> Option<()> {
    let handle = sockets.remove(state.info().id, id)?;
    state.board_mut().close(handle);
    state.guard_mut().give_back(Table::Sockets);
    Some(())
}

impl<B: Board + Net> HostModule<B> for NetModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn app_stopped(&self, board: &mut B, app: u16) {
        // Its sockets are closed now and their entries freed: an app that
        // exits (or is removed, or updated to a new version) leaves the
        // table to the others. Sockets other stopped apps left behind go
        // with them.
        self.sockets.orphan(app);
        while let Some((handle, _)) = self.sockets.take_stale(app) {
            board.close(handle);
        }
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        let granted = cx.granted.net.as_ref().ok_or(LinkError::NotGranted)?;
        // A restarted app starts with no sockets; what its last instance
        // left open is closed at the next connect.
        self.sockets.orphan(cx.app.id);
        let endpoints = Arc::new(granted.endpoints.clone());
        let (sockets, module) = (self.sockets, cx.module);
        host_fn!(linker, SPEC, "connect", move |c: C<'_, B>,
                                                endpoint: u32,
                                                transport: u32,
                                                port: u32,
                                                timeout_us: i64| {
            reply(connect(sockets, &endpoints, module, c.data_mut(), endpoint, transport, port, timeout_us))
        },)?;
        let go = move |c: &mut C<'_, B>, op: u32, buf: (u32, u32, u32), timeout_us: i64| {
            reply(memory_and_state(c).and_then(|(mut mem, s)| {
                let result = transfer(sockets, module, &mut mem, s, op, buf, timeout_us);
                counted(s, u64::from(buf.2), result)
            }))
        };
        host_fn!(linker, SPEC, "send", move |c: C<'_, B>, socket: u32, ptr: u32, len: u32, timeout_us: i64| {
            go(&mut c, OP_SEND, (socket, ptr, len), timeout_us)
        })?;
        host_fn!(linker, SPEC, "receive", move |c: C<'_, B>, socket: u32, ptr: u32, len: u32, timeout_us: i64| {
            go(&mut c, OP_RECEIVE, (socket, ptr, len), timeout_us)
        })?;
        host_fn!(linker, SPEC, "close", move |c: C<'_, B>, socket: u32| reply(close(sockets, c.data_mut(), socket)))?;
        Ok(())
    }

    fn poll_wait_with_memory(
        &self,
        memory: &mut GuestMemory<'_>,
        state: &mut AppState<B>,
        op: u32,
        arg: u64,
    ) -> Option<i32> {
        let (id, ptr, len) = unpack(arg);
        let app = state.info().id;
        match op {
            OP_CONNECT => {
                let Some(handle) = self.sockets.get(app, id, true) else { return Some(Errno::Invalid.code()) };
                match state.board_mut().is_open(handle) {
                    Ok(true) => {
                        self.sockets.connected(app, id);
                        Some(id as i32)
                    }
                    Ok(false) => None,
                    Err(e) => {
                        release(self.sockets, state, id);
                        Some(e.code())
                    }
                }
            }
            OP_SEND | OP_RECEIVE => match attempt(self.sockets, memory, state, op, (id, ptr, len)) {
                Ok(None) => None,
                Ok(Some(n)) => Some(n as i32),
                Err(e) => Some(e.code()),
            },
            _ => Some(Errno::Invalid.code()),
        }
    }
}
