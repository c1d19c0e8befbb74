use super::*;
use crate::testing::{Recorder, code, state};
use crate::{Bridge, Refusal};
use akira_caps::CapabilitySet;
use std::collections::VecDeque;

/// A port's driver: bytes arrive when the test says; the transmit
/// buffer takes `room` bytes.
#[derive(Default)]
struct FakePort {
    incoming: VecDeque<u8>,
    sent: Vec<u8>,
    room: usize,
}

impl embedded_io::ErrorType for FakePort {
    type Error = embedded_io::ErrorKind;
}
impl embedded_io::Read for FakePort {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        assert!(!self.incoming.is_empty(), "read only when ready: it would block");
        let n = buf.len().min(self.incoming.len());
        for b in &mut buf[..n] {
            *b = self.incoming.pop_front().unwrap_or(0);
        }
        Ok(n)
    }
}
impl embedded_io::ReadReady for FakePort {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.incoming.is_empty())
    }
}
impl embedded_io::Write for FakePort {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        assert!(self.room > 0, "write only when ready: it would block");
        let n = buf.len().min(self.room);
        self.sent.extend_from_slice(&buf[..n]);
        self.room -= n;
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
impl embedded_io::WriteReady for FakePort {
    fn write_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(self.room > 0)
    }
}

struct Board2 {
    rec: Recorder,
    ports: UartPorts<FakePort, 2>,
}

impl Board for Board2 {
    fn now(&self) -> Instant {
        self.rec.now()
    }
    fn log(&mut self, app: &crate::AppInfo, level: crate::Level, message: &str) {
        self.rec.log(app, level, message)
    }
    fn trace(&mut self, app: &crate::AppInfo, event: Trace<'_>) {
        self.rec.trace(app, event)
    }
}

impl Uart for Board2 {
    fn read(&mut self, port: u32, buf: &mut [u8]) -> Result<usize, Errno> {
        self.ports.read(port, buf)
    }
    fn write(&mut self, port: u32, data: &[u8]) -> Result<usize, Errno> {
        self.ports.write(port, data)
    }
}

/// An app granted port 1 only.
fn app() -> AppState<Board2> {
    let caps = CapabilitySet { uart: Some([1].into_iter().collect()), ..Default::default() };
    let board = Board2 { rec: Recorder::default(), ports: UartPorts::new([FakePort::default(), FakePort::default()]) };
    state(board, &caps)
}

fn port(s: &mut AppState<Board2>) -> &mut FakePort {
    s.board_mut().ports.port_mut(1).unwrap()
}

const M: ModuleIndex = ModuleIndex(0);

fn b(port: u32, ptr: u32, len: u32) -> Buf {
    Buf { port, ptr, len }
}

/// The bridge the module is registered in, at index 0.
fn bridge() -> Bridge<Board2> {
    Bridge::new().with(UartModule).unwrap()
}

#[test]
fn read_returns_buffered_bytes_at_once() {
    let mut s = app();
    port(&mut s).incoming.extend(b"hello");
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(call(&mut mem, &mut s, M, OP_READ, b(1, 0, 3), -1)), 3);
    assert_eq!(mem.bytes(0, 3).unwrap(), b"hel");
    assert_eq!(code(call(&mut mem, &mut s, M, OP_READ, b(1, 8, 8), -1)), 2, "what there is, not what was asked");
    assert_eq!(mem.bytes(8, 2).unwrap(), b"lo");
    assert_eq!(code(call(&mut mem, &mut s, M, OP_READ, b(1, 8, 8), 0)), Errno::TimedOut.code(), "timeout 0 polls");
    assert!(s.take_wait().is_none());
    assert_eq!(s.board().rec.events.len(), 2);
    assert!(s.board().rec.events[0].contains("transmitted: false, bytes: [104, 101, 108]"));
}

#[test]
fn read_suspends_until_bytes_arrive_then_copies_them_into_the_app() {
    let mut s = app();
    s.board_mut().rec.now = 1_000;
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    let Err(Refusal::Trap(_)) = call(&mut mem, &mut s, M, OP_READ, b(1, 4, 8), 500) else { panic!("not suspended") };
    let wait = s.take_wait().unwrap();
    assert_eq!(wait.until, Instant::from_micros(1_500));
    let bridge = bridge();
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(1_200)), None, "nothing yet");
    port(&mut s).incoming.extend(b"ok");
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(1_300)), Some(2));
    assert_eq!(mem.bytes(4, 2).unwrap(), b"ok", "copied into the buffer the app passed");
    // Nothing arrives: the deadline ends the wait.
    let Err(Refusal::Trap(_)) = call(&mut mem, &mut s, M, OP_READ, b(1, 4, 8), 500) else { panic!() };
    let wait = s.take_wait().unwrap();
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(1_500)), Some(Errno::TimedOut.code()));
    // No timeout: waits for ever.
    let Err(Refusal::Trap(_)) = call(&mut mem, &mut s, M, OP_READ, b(1, 4, 8), -1) else { panic!() };
    assert_eq!(s.take_wait().unwrap().until, Instant::MAX);
}

#[test]
fn write_queues_what_fits_and_suspends_when_nothing_does() {
    let mut s = app();
    port(&mut s).room = 3;
    let mut backing = *b"abcdefgh";
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(call(&mut mem, &mut s, M, OP_WRITE, b(1, 0, 5), -1)), 3);
    let Err(Refusal::Trap(_)) = call(&mut mem, &mut s, M, OP_WRITE, b(1, 3, 5), -1) else { panic!("not suspended") };
    let wait = s.take_wait().unwrap();
    let bridge = bridge();
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::ZERO), None);
    port(&mut s).room = 10;
    assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::ZERO), Some(5));
    assert_eq!(port(&mut s).sent, b"abcdefgh");
}

#[test]
fn the_guard_checks_the_port_and_bad_buffers_are_refused_before_any_io() {
    let mut s = app();
    port(&mut s).incoming.extend(b"x");
    let mut backing = [0u8; 16];
    let mut mem = GuestMemory::new(&mut backing);
    assert_eq!(code(call(&mut mem, &mut s, M, OP_READ, b(0, 0, 1), -1)), Errno::Denied.code(), "port 0 exists");
    assert_eq!(code(call(&mut mem, &mut s, M, OP_WRITE, b(32, 0, 1), -1)), Errno::Denied.code());
    assert_eq!(s.guard().denials(Capability::Uart), 2);
    assert_eq!(code(call(&mut mem, &mut s, M, OP_READ, b(1, 12, 5), -1)), Errno::Fault.code());
    assert_eq!(code(call(&mut mem, &mut s, M, OP_WRITE, b(1, u32::MAX, 2), -1)), Errno::Fault.code());
    assert_eq!(code(call(&mut mem, &mut s, M, OP_READ, b(1, 0, MAX_TRANSFER + 1), -1)), Errno::TooLarge.code());
    assert_eq!(code(call(&mut mem, &mut s, M, OP_READ, b(1, 16, 0), -1)), 0, "nothing asked, nothing read");
    assert_eq!(port(&mut s).incoming.len(), 1, "the byte is still there");
    assert!(s.take_wait().is_none());
}

#[test]
fn wait_args_round_trip() {
    assert_eq!(unpack(pack(31, u32::MAX, MAX_TRANSFER)), (31, u32::MAX, MAX_TRANSFER));
}

#[test]
fn serial_buffer_rings_and_pumps() {
    use core::pin::pin;
    use core::task::{Context, Waker};
    use std::future::Future;

    static SERIAL: SerialBuffer<4, 4> = SerialBuffer::new();
    let mut cx = Context::from_waker(Waker::noop());
    let mut changed = pin!(SERIAL.changed());
    assert!(changed.as_mut().poll(&mut cx).is_pending());
    SERIAL.receive(b"abcdef");
    assert!(changed.as_mut().poll(&mut cx).is_ready(), "arrivals wake the idle future");
    assert_eq!(SERIAL.dropped(), 2, "the ring holds 4");
    let mut buf = [0u8; 3];
    assert_eq!(SERIAL.take(&mut buf), 3);
    assert_eq!(&buf, b"abc");
    assert_eq!(SERIAL.take(&mut buf), 1);
    assert_eq!(SERIAL.queue(b"12345"), 4, "what fits");

    // The transmit pump drains the ring into an async writer.
    struct Sink(Vec<u8>);
    impl embedded_io_async::ErrorType for Sink {
        type Error = core::convert::Infallible;
    }
    impl embedded_io_async::Write for Sink {
        async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        async fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }
    let mut sink = Sink(Vec::new());
    {
        let mut pump = pin!(SERIAL.pump_tx(&mut sink));
        assert!(pump.as_mut().poll(&mut cx).is_pending(), "drained, then waits for more");
    }
    assert_eq!(sink.0, b"1234");
}
