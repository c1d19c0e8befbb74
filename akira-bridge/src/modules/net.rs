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

use core::cell::RefCell;
use core::fmt;

use akira_caps::scope::{Endpoint, MAX_NET_ENDPOINTS};
use akira_caps::{Capability, ModuleCapability, ModuleSpec, imports::builtin_import};
use alloc::sync::Arc;
use critical_section::Mutex;
use wasmi::{Caller, Linker};

use super::{experimental, sig};
use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state, reply};
use crate::time::Instant;

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

/// The table of open sockets: which app owns each app-visible socket id,
/// and the board's handle behind it. A socket is *connecting* from
/// [`SocketTable::insert`] until [`SocketTable::connected`].
pub trait SocketTable: Sync {
    /// Records a connecting socket of app `app`; its id, or `None` when
    /// the table is full.
    fn insert(&self, app: u16, handle: u32) -> Option<u32>;
    /// Marks socket `id` of app `app` connected.
    fn connected(&self, app: u16, id: u32);
    /// The board handle of socket `id` if app `app` owns it and it is
    /// connected (`connecting` false), or still connecting (`true`).
    fn get(&self, app: u16, id: u32, connecting: bool) -> Option<u32>;
    /// Forgets socket `id` of app `app`; its board handle.
    fn remove(&self, app: u16, id: u32) -> Option<u32>;
    /// Marks every socket of app `app` as left behind (the app was
    /// restarted or removed).
    fn orphan(&self, app: u16);
    /// Removes one socket to close: one left behind, or one of app `app`
    /// still connecting (its `connect` timed out: the app, which runs one
    /// call at a time, no longer waits for it). Its board handle.
    fn take_stale(&self, app: u16) -> Option<u32>;
}

/// Marks a socket left behind by an app that was restarted or removed.
const ORPHAN: u16 = u16::MAX;

/// One socket: owner, board handle, connected.
type Entry = Option<(u16, u32, bool)>;

/// A firmware's socket table of `N` sockets (at most 255), for a
/// `static`: `static SOCKETS: NetSockets<8> = NetSockets::new();`.
pub struct NetSockets<const N: usize> {
    slots: Mutex<RefCell<[Entry; N]>>,
}

impl<const N: usize> Default for NetSockets<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> NetSockets<N> {
    const FITS: () = assert!(N >= 1 && N <= 255, "a NetSockets holds 1 to 255 sockets");

    /// An empty table.
    pub const fn new() -> Self {
        let () = Self::FITS;
        NetSockets { slots: Mutex::new(RefCell::new([None; N])) }
    }

    fn with<R>(&self, f: impl FnOnce(&mut [Entry; N]) -> R) -> R {
        critical_section::with(|cs| f(&mut self.slots.borrow_ref_mut(cs)))
    }
}

impl<const N: usize> SocketTable for NetSockets<N> {
    fn insert(&self, app: u16, handle: u32) -> Option<u32> {
        self.with(|s| {
            let free = s.iter().position(Option::is_none)?;
            s[free] = Some((app, handle, false));
            Some(free as u32)
        })
    }

    fn connected(&self, app: u16, id: u32) {
        self.with(|s| {
            if let Some(Some((owner, _, open))) = s.get_mut(id as usize)
                && *owner == app
            {
                *open = true;
            }
        })
    }

    fn get(&self, app: u16, id: u32, connecting: bool) -> Option<u32> {
        self.with(|s| match s.get(id as usize) {
            Some(Some((owner, handle, open))) if *owner == app && app != ORPHAN && *open != connecting => Some(*handle),
            _ => None,
        })
    }

    fn remove(&self, app: u16, id: u32) -> Option<u32> {
        self.with(|s| {
            let slot = s.get_mut(id as usize)?;
            match *slot {
                Some((owner, handle, _)) if owner == app && app != ORPHAN => {
                    *slot = None;
                    Some(handle)
                }
                _ => None,
            }
        })
    }

    fn orphan(&self, app: u16) {
        self.with(|s| {
            for (owner, _, _) in s.iter_mut().flatten() {
                if *owner == app {
                    *owner = ORPHAN;
                }
            }
        })
    }

    fn take_stale(&self, app: u16) -> Option<u32> {
        self.with(|s| {
            let slot =
                s.iter_mut().find(|e| matches!(e, Some((o, _, open)) if *o == ORPHAN || (*o == app && !open)))?;
            slot.take().map(|(_, handle, _)| handle)
        })
    }
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: builtin_import(Capability::Net),
    capability: ModuleCapability::Builtin(Capability::Net),
    functions: &[
        experimental(
            "connect",
            sig::IIIL,
            sig::I,
            "connect(endpoint, transport, port, timeout_us): open a socket to a listed endpoint, suspending until connected; socket",
        ),
        experimental(
            "send",
            sig::IIIL,
            sig::I,
            "send(socket, ptr, len, timeout_us): queue what fits, suspending until some does; bytes queued",
        ),
        experimental(
            "receive",
            sig::IIIL,
            sig::I,
            "receive(socket, ptr, cap, timeout_us): take received bytes, suspending until some arrive; bytes (0: closed)",
        ),
        experimental("close", sig::I, sig::I, "close(socket): close the socket; 0"),
    ],
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
    while let Some(handle) = sockets.take_stale(app) {
        state.board_mut().close(handle);
    }
    let handle = state.board_mut().open(transport, &e.host, port);
    state.trace(Trace::NetOpen { endpoint, host: &e.host, port, result: handle.map(drop) });
    let handle = handle?;
    let Some(id) = sockets.insert(app, handle) else {
        state.board_mut().close(handle);
        return Err(Errno::Busy.into());
    };
    match state.board_mut().is_open(handle) {
        Ok(true) => {
            sockets.connected(app, id);
            return Ok(id as i32);
        }
        Ok(false) => {}
        Err(e) => {
            sockets.remove(app, id);
            state.board_mut().close(handle);
            return Err(e.into());
        }
    }
    let Some(until) = until else {
        sockets.remove(app, id);
        state.board_mut().close(handle);
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
    let handle = sockets.remove(state.info().id, id).ok_or(Errno::Invalid)?;
    state.board_mut().close(handle);
    Ok(0)
}

impl<B: Board + Net> HostModule<B> for NetModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        let granted = cx.granted.net.as_ref().ok_or(LinkError::NotGranted)?;
        // A restarted app starts with no sockets; what its last instance
        // left open is closed at the next connect.
        self.sockets.orphan(cx.app.id);
        let endpoints = Arc::new(granted.endpoints.clone());
        let (sockets, module) = (self.sockets, cx.module);
        let m = SPEC.import;
        linker.func_wrap(
            m,
            "connect",
            move |mut c: C<'_, B>, endpoint: u32, transport: u32, port: u32, timeout_us: i64| {
                reply(connect(sockets, &endpoints, module, c.data_mut(), endpoint, transport, port, timeout_us))
            },
        )?;
        for (name, op) in [("send", OP_SEND), ("receive", OP_RECEIVE)] {
            linker.func_wrap(m, name, move |mut c: C<'_, B>, socket: u32, ptr: u32, len: u32, timeout_us: i64| {
                reply(memory_and_state(&mut c).and_then(|(mut mem, s)| {
                    transfer(sockets, module, &mut mem, s, op, (socket, ptr, len), timeout_us)
                }))
            })?;
        }
        linker
            .func_wrap(m, "close", move |mut c: C<'_, B>, socket: u32| reply(close(sockets, c.data_mut(), socket)))?;
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
                        self.sockets.remove(app, id);
                        state.board_mut().close(handle);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Recorder, code, recorder_board, state};
    use crate::{AppInfo, Bridge};
    use akira_caps::scope::{HostName, NetScope};
    use akira_caps::{CapabilitySet, Grants, Guard};
    use std::collections::VecDeque;

    #[derive(Default)]
    struct Sock {
        connected: bool,
        incoming: VecDeque<u8>,
        peer_closed: bool,
        sent: Vec<u8>,
        room: usize,
        closed: bool,
    }

    /// A network whose sockets connect, receive and take bytes when the
    /// test says; it records every open.
    struct FakeNet {
        rec: Recorder,
        opens: Vec<(Transport, String, u16)>,
        sockets: Vec<Sock>,
        refuse: bool,
    }
    recorder_board!(FakeNet);

    impl FakeNet {
        fn sock(&mut self, h: u32) -> Result<&mut Sock, Errno> {
            self.sockets.get_mut(h as usize).filter(|s| !s.closed).ok_or(Errno::Invalid)
        }
    }

    impl Net for FakeNet {
        fn open(&mut self, transport: Transport, host: &str, port: u16) -> Result<u32, Errno> {
            self.opens.push((transport, host.to_string(), port));
            if self.refuse {
                return Err(Errno::NoSuchResource);
            }
            self.sockets.push(Sock::default());
            Ok(self.sockets.len() as u32 - 1)
        }
        fn is_open(&mut self, socket: u32) -> Result<bool, Errno> {
            Ok(self.sock(socket)?.connected)
        }
        fn send(&mut self, socket: u32, data: &[u8]) -> Result<usize, Errno> {
            let s = self.sock(socket)?;
            let n = data.len().min(s.room);
            s.sent.extend_from_slice(&data[..n]);
            s.room -= n;
            Ok(n)
        }
        fn receive(&mut self, socket: u32, buf: &mut [u8]) -> Result<Option<usize>, Errno> {
            let s = self.sock(socket)?;
            if s.incoming.is_empty() {
                return Ok(s.peer_closed.then_some(0));
            }
            let n = buf.len().min(s.incoming.len());
            for b in &mut buf[..n] {
                *b = s.incoming.pop_front().unwrap_or(0);
            }
            Ok(Some(n))
        }
        fn close(&mut self, socket: u32) {
            if let Some(s) = self.sockets.get_mut(socket as usize) {
                s.closed = true;
            }
        }
    }

    fn endpoints(list: &[(&str, u16)]) -> Endpoints {
        list.iter().map(|(h, p)| Endpoint { host: HostName::try_from(*h).unwrap(), port: *p }).collect()
    }

    const LISTED: &[(&str, u16)] = &[("echo.local", 7), ("*", 0), ("any-port.local", 0)];

    fn net() -> FakeNet {
        FakeNet { rec: Recorder::default(), opens: Vec::new(), sockets: Vec::new(), refuse: false }
    }

    /// App `id` granted the endpoints of `LISTED`.
    fn app(id: u16) -> AppState<FakeNet> {
        let caps =
            CapabilitySet { net: Some(Box::new(NetScope { endpoints: endpoints(LISTED) })), ..Default::default() };
        if id == 1 {
            return state(net(), &caps);
        }
        let info = AppInfo { id, name: "other".try_into().unwrap(), version: Default::default() };
        AppState::new(info, Guard::new(Grants::compile(&caps)), net(), crate::AppLimits::new(65536, 16))
    }

    fn table() -> &'static NetSockets<2> {
        Box::leak(Box::new(NetSockets::new()))
    }

    const M: ModuleIndex = ModuleIndex(0);

    fn open(t: &NetSockets<2>, s: &mut AppState<FakeNet>, endpoint: u32, port: u32, timeout: i64) -> i32 {
        code(connect(t, &endpoints(LISTED), M, s, endpoint, 0, port, timeout))
    }

    #[test]
    fn endpoints_outside_the_grant_are_refused_before_any_socket_is_opened() {
        let t = table();
        let mut s = app(1);
        assert_eq!(open(t, &mut s, 3, 0, -1), Errno::Denied.code(), "three endpoints listed");
        assert_eq!(open(t, &mut s, u32::MAX, 0, -1), Errno::Denied.code());
        assert_eq!(s.guard().denials(Capability::Net), 2);
        assert_eq!(open(t, &mut s, 0, 8, -1), Errno::Denied.code(), "endpoint 0 is port 7 only");
        assert_eq!(open(t, &mut s, 1, 80, -1), Errno::Invalid.code(), "a wildcard host names nothing");
        assert_eq!(open(t, &mut s, 2, 0, -1), Errno::Invalid.code(), "any port: the app must pick one");
        assert_eq!(open(t, &mut s, 2, 70_000, -1), Errno::Invalid.code());
        assert_eq!(code(connect(t, &endpoints(LISTED), M, &mut s, 0, 2, 0, -1)), Errno::Invalid.code(), "transport");
        assert!(s.board().opens.is_empty(), "nothing was opened");
        s.board_mut().refuse = true;
        assert_eq!(open(t, &mut s, 2, 8080, -1), Errno::NoSuchResource.code());
        assert_eq!(s.board().opens, [(Transport::Tcp, "any-port.local".to_string(), 8080)]);
        assert_eq!(t.insert(9, 9), Some(0), "the refused open took no slot");
    }

    #[test]
    fn connect_send_and_receive_suspend_until_the_network_moves() {
        let t = table();
        let mut s = app(1);
        let bridge: Bridge<FakeNet> = Bridge::new().with(NetModule::new(t)).unwrap();
        let mut backing = *b"hello...........";
        let mut mem = GuestMemory::new(&mut backing);
        let Err(Refusal::Trap(_)) = connect(t, &endpoints(LISTED), M, &mut s, 0, 0, 0, 1_000) else { panic!() };
        assert_eq!(s.board().opens, [(Transport::Tcp, "echo.local".to_string(), 7)], "the granted host and port");
        let wait = s.take_wait().unwrap();
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::ZERO), None, "still connecting");
        assert_eq!(code(transfer(t, M, &mut mem, &mut s, OP_SEND, (0, 0, 5), -1)), Errno::Invalid.code(), "not yet");
        s.board_mut().sockets[0].connected = true;
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::ZERO), Some(0), "socket 0");

        // The send buffer is full: the app waits until there is room.
        let Err(Refusal::Trap(_)) = transfer(t, M, &mut mem, &mut s, OP_SEND, (0, 0, 5), -1) else { panic!() };
        let wait = s.take_wait().unwrap();
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::ZERO), None);
        s.board_mut().sockets[0].room = 3;
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::ZERO), Some(3));
        assert_eq!(s.board().sockets[0].sent, b"hel");

        // Nothing received: suspended until bytes arrive, copied into the
        // app's buffer.
        let Err(Refusal::Trap(_)) = transfer(t, M, &mut mem, &mut s, OP_RECEIVE, (0, 8, 8), 500) else { panic!() };
        let wait = s.take_wait().unwrap();
        assert_eq!(wait.until, Instant::from_micros(500));
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(100)), None);
        s.board_mut().sockets[0].incoming.extend(b"HEL");
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(200)), Some(3));
        assert_eq!(mem.bytes(8, 3).unwrap(), b"HEL");
        s.board_mut().sockets[0].peer_closed = true;
        assert_eq!(code(transfer(t, M, &mut mem, &mut s, OP_RECEIVE, (0, 8, 8), -1)), 0, "closed by the peer");
        assert_eq!(code(close(t, &mut s, 0)), 0);
        assert!(s.board().sockets[0].closed);
        assert_eq!(code(close(t, &mut s, 0)), Errno::Invalid.code(), "closed once");
    }

    #[test]
    fn sockets_belong_to_the_app_that_opened_them() {
        let t = table();
        let mut owner = app(1);
        let mut other = app(2);
        owner.board_mut().sockets.push(Sock::default());
        let id = t.insert(1, 0).unwrap();
        t.connected(1, id);
        owner.board_mut().sockets[0].incoming.extend(b"secret");
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(transfer(t, M, &mut mem, &mut other, OP_RECEIVE, (id, 0, 8), 0)), Errno::Invalid.code());
        assert_eq!(code(close(t, &mut other, id)), Errno::Invalid.code());
        assert_eq!(code(transfer(t, M, &mut mem, &mut owner, OP_RECEIVE, (id, 12, 8), 0)), Errno::Fault.code());
        assert_eq!(code(transfer(t, M, &mut mem, &mut owner, OP_RECEIVE, (id, 0, MAX_TRANSFER + 1), 0)), -10);
        assert_eq!(owner.board().sockets[0].incoming.len(), 6, "nothing was taken");
        assert_eq!(code(transfer(t, M, &mut mem, &mut owner, OP_RECEIVE, (id, 0, 8), 0)), 6);
    }

    #[test]
    fn timed_out_connects_and_restarted_apps_leave_nothing_open() {
        let t = table();
        let mut s = app(1);
        let Err(Refusal::Trap(_)) = connect(t, &endpoints(LISTED), M, &mut s, 0, 1, 0, 10) else { panic!() };
        assert_eq!(s.board().opens[0].0, Transport::Udp);
        // The wait timed out (the scheduler's deadline); the next connect
        // closes the half-open socket first.
        s.take_wait();
        assert_eq!(open(t, &mut s, 0, 0, 0), Errno::TimedOut.code(), "timeout 0 does not wait");
        assert!(s.board().sockets[0].closed && s.board().sockets[1].closed);
        // A connected socket of an app that is restarted is orphaned and
        // closed at the next connect.
        s.board_mut().sockets.push(Sock { connected: true, ..Default::default() });
        let id = t.insert(1, 2).unwrap();
        t.connected(1, id);
        t.orphan(1);
        assert_eq!(t.get(1, id, false), None, "the new instance cannot use it");
        s.board_mut().refuse = true;
        open(t, &mut s, 0, 0, -1);
        assert!(s.board().sockets[2].closed);
    }

    #[test]
    fn wait_args_round_trip() {
        assert_eq!(unpack(pack(254, u32::MAX, MAX_TRANSFER)), (254, u32::MAX, MAX_TRANSFER));
    }
}
