//! `akira:uart`: serial ports by number, with reads and writes that
//! suspend the app instead of blocking the firmware.
//!
//! Boards implement [`Uart`], whose two methods never block: `read` takes
//! bytes already received, `write` queues what fits. When nothing was
//! received (or nothing fits), the host call suspends the app on a
//! [`WaitKind::Module`](crate::WaitKind) wait; the scheduler polls it
//! ([`HostModule::poll_wait_with_memory`]) and the call completes when the
//! board has bytes (or room), copying them straight into (or out of) the
//! app's buffer, or with `AKIRA_ETIMEDOUT` at the app's deadline. This is
//! the async path of the bridge: the board latches received bytes the way
//! it latches GPIO edges.
//!
//! Two ways to implement [`Uart`]:
//!
//! - [`UartPorts`]: ports over the blocking embedded-io 0.7 traits
//!   (`Read + ReadReady + Write + WriteReady`), which most HALs' buffered
//!   UART drivers implement; readiness is asked first, so nothing blocks.
//! - [`SerialBuffer`]: ring buffers in `static`s that firmware tasks fill
//!   and drain over embedded-io-async ([`SerialBuffer::pump_rx`],
//!   [`SerialBuffer::pump_tx`]) on an async HAL; the scheduler's idle
//!   future awaits [`SerialBuffer::changed`] beside its timer.
//!
//! Every call checks its port with one bit test
//! ([`akira_caps::Guard::id`]) before touching it.

use core::cell::RefCell;
use core::future::poll_fn;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Poll;

use akira_caps::{Capability, ModuleCapability, ModuleSpec, imports::builtin_import};
use critical_section::Mutex;
use wasmi::{Caller, Linker};

use super::{experimental, sig};
use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state, reply};
use crate::time::Instant;
use crate::wake::{Changes, WakerSlot};

/// Most bytes one call moves.
pub const MAX_TRANSFER: u32 = 4096;

/// A board's serial ports, by number (0–31). Neither method may block.
/// Errors are the codes apps see: [`Errno::NoSuchResource`] for a port
/// the board does not have, [`Errno::Io`] for a driver error (framing,
/// overrun, ...).
pub trait Uart {
    /// Takes up to `buf.len()` bytes received on `port`; `Ok(0)` when none
    /// are waiting.
    fn read(&mut self, port: u32, buf: &mut [u8]) -> Result<usize, Errno>;
    /// Queues as much of `data` as `port` can take now; `Ok(0)` when its
    /// transmit buffer is full.
    fn write(&mut self, port: u32, data: &[u8]) -> Result<usize, Errno>;
}

/// Numbered ports over blocking embedded-io 0.7 serial drivers: port `n`
/// is `ports[n]`. Reads and writes first ask `read_ready` / `write_ready`,
/// so a call takes only what the driver has buffered and never blocks.
pub struct UartPorts<T, const N: usize> {
    ports: [T; N],
}

impl<T, const N: usize> UartPorts<T, N>
where
    T: embedded_io::Read + embedded_io::ReadReady + embedded_io::Write + embedded_io::WriteReady,
{
    const FITS: () = assert!(N <= 32, "a UartPorts holds at most 32 ports");

    /// Ports `0..N`.
    pub fn new(ports: [T; N]) -> Self {
        let () = Self::FITS;
        UartPorts { ports }
    }

    /// Port `port`, for firmware code that uses it directly.
    pub fn port_mut(&mut self, port: u32) -> Option<&mut T> {
        self.ports.get_mut(port as usize)
    }
}

impl<T, const N: usize> Uart for UartPorts<T, N>
where
    T: embedded_io::Read + embedded_io::ReadReady + embedded_io::Write + embedded_io::WriteReady,
{
    fn read(&mut self, port: u32, buf: &mut [u8]) -> Result<usize, Errno> {
        let p = self.ports.get_mut(port as usize).ok_or(Errno::NoSuchResource)?;
        if buf.is_empty() || !p.read_ready().map_err(|_| Errno::Io)? {
            return Ok(0);
        }
        p.read(buf).map_err(|_| Errno::Io)
    }

    fn write(&mut self, port: u32, data: &[u8]) -> Result<usize, Errno> {
        let p = self.ports.get_mut(port as usize).ok_or(Errno::NoSuchResource)?;
        if data.is_empty() || !p.write_ready().map_err(|_| Errno::Io)? {
            return Ok(0);
        }
        p.write(data).map_err(|_| Errno::Io)
    }
}

/// A fixed ring of bytes.
struct Ring<const N: usize> {
    bytes: [u8; N],
    start: usize,
    len: usize,
}

impl<const N: usize> Ring<N> {
    const fn new() -> Self {
        Ring { bytes: [0; N], start: 0, len: 0 }
    }

    fn push(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(N - self.len);
        for &b in &data[..n] {
            self.bytes[(self.start + self.len) % N] = b;
            self.len += 1;
        }
        n
    }

    fn pop(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.len);
        for b in &mut buf[..n] {
            *b = self.bytes[self.start];
            self.start = (self.start + 1) % N;
            self.len -= 1;
        }
        n
    }
}

/// One serial port's receive and transmit rings (`RX` and `TX` bytes), for
/// boards on an async HAL. A firmware task runs [`SerialBuffer::pump_rx`]
/// on the port's embedded-io-async reader and one runs
/// [`SerialBuffer::pump_tx`] on its writer; the board's [`Uart`]
/// implementation calls [`SerialBuffer::take`] and [`SerialBuffer::queue`].
/// Received bytes that do not fit are dropped and counted
/// ([`SerialBuffer::dropped`]).
pub struct SerialBuffer<const RX: usize, const TX: usize> {
    rx: Mutex<RefCell<Ring<RX>>>,
    tx: Mutex<RefCell<Ring<TX>>>,
    dropped: AtomicU32,
    /// Counts bytes arriving, bytes queued and room appearing, for the
    /// scheduler's idle future.
    activity: Changes,
    rx_waker: WakerSlot,
    tx_waker: WakerSlot,
}

impl<const RX: usize, const TX: usize> Default for SerialBuffer<RX, TX> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const RX: usize, const TX: usize> SerialBuffer<RX, TX> {
    const NOT_EMPTY: () = assert!(RX > 0 && TX > 0, "a SerialBuffer's rings hold at least one byte");

    /// Empty rings.
    pub const fn new() -> Self {
        let () = Self::NOT_EMPTY;
        SerialBuffer {
            rx: Mutex::new(RefCell::new(Ring::new())),
            tx: Mutex::new(RefCell::new(Ring::new())),
            dropped: AtomicU32::new(0),
            activity: Changes::new(),
            rx_waker: WakerSlot::new(),
            tx_waker: WakerSlot::new(),
        }
    }

    /// Records received bytes (from a task or an interrupt handler); what
    /// does not fit is dropped and counted.
    pub fn receive(&self, data: &[u8]) {
        let n = critical_section::with(|cs| self.rx.borrow_ref_mut(cs).push(data));
        if n < data.len() {
            self.dropped.fetch_add((data.len() - n) as u32, Ordering::Relaxed);
        }
        if n > 0 {
            self.activity.bump();
        }
    }

    /// Takes up to `buf.len()` received bytes (for the board's
    /// [`Uart::read`]).
    pub fn take(&self, buf: &mut [u8]) -> usize {
        let n = critical_section::with(|cs| self.rx.borrow_ref_mut(cs).pop(buf));
        if n > 0 {
            self.rx_waker.wake();
        }
        n
    }

    /// Queues as much of `data` as fits for transmission (for the board's
    /// [`Uart::write`]).
    pub fn queue(&self, data: &[u8]) -> usize {
        let n = critical_section::with(|cs| self.tx.borrow_ref_mut(cs).push(data));
        if n > 0 {
            self.tx_waker.wake();
        }
        n
    }

    /// Received bytes dropped because the receive ring was full.
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Resolves when bytes arrive or transmit room appears (one waiter:
    /// the scheduler's idle future).
    pub async fn changed(&self) {
        self.activity.changed().await
    }

    /// The activity counter behind [`SerialBuffer::changed`], for idle
    /// futures that wait on several ports at once.
    pub(crate) fn activity(&self) -> &Changes {
        &self.activity
    }

    /// Reads the port forever into the receive ring: run it as a firmware
    /// task. While the ring is full it waits for the app to take bytes
    /// rather than read more (a driver with flow control then holds the
    /// sender off). Read errors (framing, overrun) are skipped.
    pub async fn pump_rx<R: embedded_io_async::Read>(&self, mut rx: R) -> ! {
        let mut chunk = [0u8; 32];
        loop {
            let room = poll_fn(|cx| {
                let room = critical_section::with(|cs| {
                    let ring = self.rx.borrow_ref(cs);
                    RX - ring.len
                });
                if room > 0 {
                    return Poll::Ready(room);
                }
                self.rx_waker.register(cx.waker());
                let again = critical_section::with(|cs| RX - self.rx.borrow_ref(cs).len);
                if again > 0 { Poll::Ready(again) } else { Poll::Pending }
            })
            .await;
            let want = room.min(chunk.len());
            if let Ok(n) = rx.read(&mut chunk[..want]).await {
                self.receive(&chunk[..n]);
            }
        }
    }

    /// Writes the transmit ring to the port forever: run it as a firmware
    /// task. Write errors drop the chunk.
    pub async fn pump_tx<W: embedded_io_async::Write>(&self, mut tx: W) -> ! {
        let mut chunk = [0u8; 32];
        loop {
            let n = poll_fn(|cx| {
                let n = critical_section::with(|cs| self.tx.borrow_ref_mut(cs).pop(&mut chunk));
                if n > 0 {
                    return Poll::Ready(n);
                }
                self.tx_waker.register(cx.waker());
                let n = critical_section::with(|cs| self.tx.borrow_ref_mut(cs).pop(&mut chunk));
                if n > 0 { Poll::Ready(n) } else { Poll::Pending }
            })
            .await;
            self.activity.bump();
            let _ = tx.write_all(&chunk[..n]).await;
        }
    }
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: builtin_import(Capability::Uart),
    capability: ModuleCapability::Builtin(Capability::Uart),
    functions: &[
        experimental(
            "write",
            sig::IIIL,
            sig::I,
            "write(port, ptr, len, timeout_us): queue what fits, suspending until some does; bytes queued",
        ),
        experimental(
            "read",
            sig::IIIL,
            sig::I,
            "read(port, ptr, len, timeout_us): take received bytes, suspending until some arrive; bytes read",
        ),
    ],
};

/// The `akira:uart` module; the board must implement [`Uart`].
#[derive(Clone, Copy, Debug, Default)]
pub struct UartModule;

/// Wait operation codes.
const OP_READ: u32 = 1;
const OP_WRITE: u32 = 2;

/// A suspended call's port and buffer, packed into a wait's `arg`.
fn pack(port: u32, ptr: u32, len: u32) -> u64 {
    u64::from(port) << 56 | u64::from(len) << 32 | u64::from(ptr)
}

fn unpack(arg: u64) -> (u32, u32, u32) {
    ((arg >> 56) as u32, arg as u32, (arg >> 32) as u32 & 0x00ff_ffff)
}

/// One attempt to move bytes: how many moved (0: none could).
fn attempt<B: Board + Uart>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    op: u32,
    port: u32,
    ptr: u32,
    len: u32,
) -> Result<usize, Errno> {
    if op == OP_READ {
        let buf = memory.bytes_mut(ptr, len)?;
        // A board cannot claim more than the buffer holds.
        let n = state.board_mut().read(port, buf)?.min(buf.len());
        if n > 0 {
            state.trace(Trace::Uart { port, transmitted: false, bytes: &buf[..n] });
        }
        Ok(n)
    } else {
        let data = memory.bytes(ptr, len)?;
        let n = state.board_mut().write(port, data)?.min(data.len());
        if n > 0 {
            state.trace(Trace::Uart { port, transmitted: true, bytes: &data[..n] });
        }
        Ok(n)
    }
}

/// A call's port and buffer.
#[derive(Clone, Copy)]
struct Buf {
    port: u32,
    ptr: u32,
    len: u32,
}

fn call<B: Board + Uart>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    op: u32,
    Buf { port, ptr, len }: Buf,
    timeout_us: i64,
) -> Result<i32, Refusal> {
    state.guarded(|g| g.id(Capability::Uart, port))?;
    if len > MAX_TRANSFER {
        return Err(Errno::TooLarge.into());
    }
    // Checked now, so a suspended call holds a valid loan.
    memory.bytes(ptr, len)?;
    if len == 0 {
        return Ok(0);
    }
    let n = attempt(memory, state, op, port, ptr, len)?;
    if n > 0 {
        return Ok(n as i32);
    }
    let until = match u64::try_from(timeout_us) {
        Ok(0) => return Err(Errno::TimedOut.into()),
        Ok(us) => state.board().now().saturating_add(core::time::Duration::from_micros(us)),
        Err(_) => Instant::MAX,
    };
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op, arg: pack(port, ptr, len) } }))
}

impl<B: Board + Uart> HostModule<B> for UartModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        let module = cx.module;
        for (name, op) in [("read", OP_READ), ("write", OP_WRITE)] {
            linker.func_wrap(
                SPEC.import,
                name,
                move |mut c: C<'_, B>, port: u32, ptr: u32, len: u32, timeout_us: i64| {
                    let buf = Buf { port, ptr, len };
                    reply(
                        memory_and_state(&mut c)
                            .and_then(|(mut mem, s)| call(&mut mem, s, module, op, buf, timeout_us)),
                    )
                },
            )?;
        }
        Ok(())
    }

    fn poll_wait_with_memory(
        &self,
        memory: &mut GuestMemory<'_>,
        state: &mut AppState<B>,
        op: u32,
        arg: u64,
    ) -> Option<i32> {
        if op != OP_READ && op != OP_WRITE {
            return Some(Errno::Invalid.code());
        }
        let (port, ptr, len) = unpack(arg);
        match attempt(memory, state, op, port, ptr, len) {
            Ok(0) => None,
            Ok(n) => Some(n as i32),
            Err(e) => Some(e.code()),
        }
    }
}

#[cfg(test)]
mod tests {
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
        let board =
            Board2 { rec: Recorder::default(), ports: UartPorts::new([FakePort::default(), FakePort::default()]) };
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
        let Err(Refusal::Trap(_)) = call(&mut mem, &mut s, M, OP_READ, b(1, 4, 8), 500) else {
            panic!("not suspended")
        };
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
        assert_eq!(
            bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(1_500)),
            Some(Errno::TimedOut.code())
        );
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
        let Err(Refusal::Trap(_)) = call(&mut mem, &mut s, M, OP_WRITE, b(1, 3, 5), -1) else {
            panic!("not suspended")
        };
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
}
