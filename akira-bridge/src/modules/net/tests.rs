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
    let caps = CapabilitySet {
        net: Some(Box::new(NetScope { endpoints: endpoints(LISTED), ..Default::default() })),
        ..Default::default()
    };
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

#[test]
fn an_app_holds_at_most_its_share_of_the_socket_table() {
    let t: &'static NetSockets<4> = Box::leak(Box::new(NetSockets::new()));
    let mut s = app(1);
    let mut other = app(2);
    let share = usize::from(NetScope::DEFAULT_SOCKETS);
    for id in 0..share as u32 {
        let Err(Refusal::Trap(_)) = connect(t, &endpoints(LISTED), M, &mut s, 0, 0, 0, 1_000) else { panic!() };
        // The connect is in progress; the network opens it.
        t.connected(1, id);
    }
    assert_eq!(s.guard().held(Table::Sockets), share as u8);
    let past = connect(t, &endpoints(LISTED), M, &mut s, 0, 0, 0, 1_000);
    assert_eq!(code(past), Errno::Busy.code(), "past its share");
    assert_eq!(s.guard().denials(Capability::Net), 1, "the denial is counted");
    assert_eq!(s.board().opens.len(), share, "nothing opened for it");
    let Err(Refusal::Trap(_)) = connect(t, &endpoints(LISTED), M, &mut other, 0, 0, 0, 1_000) else {
        panic!("another app still gets a socket")
    };
    assert_eq!(other.guard().held(Table::Sockets), 1);
    // A socket closed, or one whose connect timed out, is given back.
    assert_eq!(code(close(t, &mut s, 0)), 0);
    assert_eq!(s.guard().held(Table::Sockets), share as u8 - 1);
    let Err(Refusal::Trap(_)) = connect(t, &endpoints(LISTED), M, &mut s, 0, 0, 0, 1_000) else { panic!() };
    s.take_wait();
    let Err(Refusal::Trap(_)) = connect(t, &endpoints(LISTED), M, &mut s, 0, 0, 0, 1_000) else {
        panic!("the timed-out connect's entry came back")
    };
    assert_eq!(s.guard().held(Table::Sockets), share as u8);
}
