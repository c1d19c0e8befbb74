//! `akira:i2c` on an async HAL: the transfer runs in a firmware task while
//! the app is suspended.
//!
//! [`AsyncI2cModule`] offers the same functions as [`I2cModule`]
//! (`docs/abi.md` is the same; a firmware registers one or the other),
//! checked the same way (guard, register, lengths, the app's buffers), but
//! instead of running the transfer inside the host call it queues it with
//! the board ([`AsyncI2c::start`]) and suspends the app on a module wait.
//! The scheduler polls the wait ([`AsyncI2c::poll`]); when the transfer is
//! done the bytes read are copied into the app's buffer and the call
//! returns, with [`Errno::TimedOut`] after [`TRANSFER_TIMEOUT`] if the bus
//! hangs. Other apps and firmware tasks run meanwhile.
//!
//! Boards implement [`AsyncI2c`] with an [`I2cMailbox`] per bus: a
//! `static` that a firmware task serves with the HAL's
//! `embedded_hal_async::i2c::I2c` ([`I2cMailbox::serve`]), holding one
//! queued transfer per app (up to `SLOTS` apps) in `BUF`-byte buffers.
//! The scheduler's idle future awaits [`I2cMailbox::changed`] beside its
//! timer, as for GPIO edges and serial bytes.
//!
//! [`I2cModule`]: super::i2c::I2cModule

use core::time::Duration;

use crate::host::Linker;
use akira_caps::ModuleSpec;
use embedded_hal::i2c::Error as _;

use super::i2c::{Call, Request, SPEC, check, errno, link_calls};
use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::mailbox::Mailbox;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind};
use crate::wake::Changes;

/// How long an app waits for its transfer before `AKIRA_ETIMEDOUT`.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(1);

/// I2C buses whose transfers run outside the host call. Errors are the
/// codes apps see: [`Errno::NoSuchResource`] for a bus the board does not
/// have, [`Errno::Busy`] when the app's previous transfer is still on the
/// bus (after a timeout) or every slot is taken, [`Errno::TooLarge`] when
/// a transfer does not fit the board's buffers.
pub trait AsyncI2c {
    /// Queues a transaction for app `app` on bus `bus`: write the bytes of
    /// `write` (its two parts back to back; both may be empty), then, if
    /// `read_len > 0`, read `read_len` bytes after a repeated start.
    fn start(&mut self, app: u16, bus: u32, addr: u8, write: [&[u8]; 2], read_len: usize) -> Result<(), Errno>;
    /// The outcome of app `app`'s transaction on `bus`: `None` while it
    /// runs; once done, the bytes read are copied to `read` (its length is
    /// the `read_len` given to `start`) and the slot is freed.
    fn poll(&mut self, app: u16, bus: u32, read: &mut [u8]) -> Option<Result<(), Errno>>;
    /// App `app` stopped running: its transfers on every bus are
    /// forgotten (a finished one freed now, a queued or running one when
    /// it ends), so the slots of an app that went away come back to the
    /// others. The default does nothing.
    fn release(&mut self, app: u16) {
        let _ = app;
    }
}

/// One bus's queue of transfers, served by a firmware task over an
/// embedded-hal-async bus: up to `SLOTS` apps with one transfer each, of
/// at most `BUF` bytes each way. Transfers run in the order they were
/// queued.
pub struct I2cMailbox<const SLOTS: usize, const BUF: usize>(Mailbox<u8, SLOTS, BUF>);

impl<const SLOTS: usize, const BUF: usize> Default for I2cMailbox<SLOTS, BUF> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SLOTS: usize, const BUF: usize> I2cMailbox<SLOTS, BUF> {
    const SOUND: () = assert!(SLOTS > 0 && BUF > 0, "an I2cMailbox needs a slot and a buffer");

    /// An empty mailbox.
    pub const fn new() -> Self {
        let () = Self::SOUND;
        I2cMailbox(Mailbox::new(0))
    }

    /// Queues app `app`'s transfer (see [`AsyncI2c::start`]).
    pub fn start(&self, app: u16, addr: u8, write: [&[u8]; 2], read_len: usize) -> Result<(), Errno> {
        self.0.start(app, addr, write, read_len)
    }

    /// App `app`'s outcome (see [`AsyncI2c::poll`]); `Some(Err(Invalid))`
    /// if it has no transfer.
    pub fn poll(&self, app: u16, read: &mut [u8]) -> Option<Result<(), Errno>> {
        self.0.poll(app, read)
    }

    /// Forgets app `app`'s transfer (see [`AsyncI2c::release`]).
    pub fn release(&self, app: u16) {
        self.0.forget(app)
    }

    /// Resolves when a transfer finishes (one waiter: the scheduler's idle
    /// future).
    pub async fn changed(&self) {
        self.0.changed().await
    }

    /// The counter of finished transfers, for an idle future over several
    /// mailboxes.
    pub(crate) fn finished(&self) -> &Changes {
        self.0.finished()
    }

    /// Runs the queued transfers on `bus` forever: run it as a firmware
    /// task per bus, owning the HAL's async I2C driver.
    pub async fn serve<I: embedded_hal_async::i2c::I2c>(&self, mut bus: I) -> ! {
        self.0
            .serve(async |addr, write: &[u8], read: &mut [u8]| {
                match (write.len(), read.len()) {
                    (_, 0) => bus.write(addr, write).await,
                    (0, _) => bus.read(addr, read).await,
                    _ => bus.write_read(addr, write, read).await,
                }
                .map_err(|e| errno(e.kind()))
            })
            .await
    }
}

/// Bus `n` is mailbox `n`.
impl<const N: usize, const SLOTS: usize, const BUF: usize> AsyncI2c for [&'static I2cMailbox<SLOTS, BUF>; N] {
    fn start(&mut self, app: u16, bus: u32, addr: u8, write: [&[u8]; 2], read_len: usize) -> Result<(), Errno> {
        self.get(bus as usize).ok_or(Errno::NoSuchResource)?.start(app, addr, write, read_len)
    }

    fn poll(&mut self, app: u16, bus: u32, read: &mut [u8]) -> Option<Result<(), Errno>> {
        match self.get(bus as usize) {
            Some(mailbox) => mailbox.poll(app, read),
            None => Some(Err(Errno::NoSuchResource)),
        }
    }

    fn release(&mut self, app: u16) {
        self.iter().for_each(|mailbox| mailbox.release(app))
    }
}

/// `akira:i2c` over [`AsyncI2c`]: transfers suspend the app. Register it
/// instead of [`super::i2c::I2cModule`] (both are `akira:i2c`).
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncI2cModule;

/// The wait's operation code.
const OP_TRANSFER: u32 = 1;

/// A suspended transfer, packed into the wait's `arg`: where the bytes
/// read go, and what to report.
fn pack(req: &Request) -> u64 {
    let reg = req.reg.map_or(0, |r| 0x100 | u64::from(r));
    u64::from(req.read.0)
        | u64::from(req.read.1) << 32
        | u64::from(req.addr) << 43
        | u64::from(req.bus & 3) << 50
        | reg << 52
}

/// `(bus, addr, reg, (rptr, rlen))`.
fn unpack(arg: u64) -> (u32, u8, Option<u8>, (u32, u32)) {
    let reg = (arg >> 52) & 0x1ff;
    (
        (arg >> 50) as u32 & 3,
        (arg >> 43) as u8 & 0x7f,
        (reg & 0x100 != 0).then_some(reg as u8),
        (arg as u32, (arg >> 32) as u32 & 0x7ff),
    )
}

/// Checks a call, queues its transfer and suspends the app.
fn suspending<B: Board + AsyncI2c>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    call: Call,
) -> Result<i32, Refusal> {
    let req = check(memory, state, call)?;
    let prefix = req.reg.map(|r| [r]);
    let prefix: &[u8] = prefix.as_ref().map_or(&[], |p| p);
    let data = memory.bytes(req.write.0, req.write.1)?;
    let app = state.info().id;
    state.board_mut().start(app, req.bus, req.addr, [prefix, data], req.read.1 as usize)?;
    let until = state.board().now().saturating_add(TRANSFER_TIMEOUT);
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op: OP_TRANSFER, arg: pack(&req) } }))
}

impl<B: Board + AsyncI2c> HostModule<B> for AsyncI2cModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn app_stopped(&self, board: &mut B, app: u16) {
        board.release(app)
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        let module = cx.module;
        link_calls(linker, move |mem: &mut GuestMemory<'_>, s: &mut AppState<B>, call: Call| {
            suspending(mem, s, module, call)
        })
    }

    fn poll_wait_with_memory(
        &self,
        memory: &mut GuestMemory<'_>,
        state: &mut AppState<B>,
        op: u32,
        arg: u64,
    ) -> Option<i32> {
        if op != OP_TRANSFER {
            return Some(Errno::Invalid.code());
        }
        let (bus, addr, reg, (rptr, rlen)) = unpack(arg);
        let app = state.info().id;
        let Ok(read) = memory.bytes_mut(rptr, rlen) else { return Some(Errno::Fault.code()) };
        let result = state.board_mut().poll(app, bus, read)?;
        state.trace(Trace::I2c { bus, addr, reg, wrote: &[], read, result });
        Some(result.map_or_else(Errno::code, |()| 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Recorder, code, recorder_board, state};
    use akira_caps::CapabilitySet;
    use akira_caps::scope::I2cScope;
    use core::pin::pin;
    use core::task::{Context, Waker};
    use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource};
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction as T};
    use std::future::Future;

    /// Polls `serve` once: it runs every queued transfer (the mock answers
    /// at once) and waits for more.
    fn serve_once<const S: usize, const B: usize>(mailbox: &I2cMailbox<S, B>, bus: &mut Mock) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut task = pin!(mailbox.serve(bus));
        assert!(task.as_mut().poll(&mut cx).is_pending());
    }

    #[test]
    fn transfers_run_in_order_with_the_exact_bus_transactions() {
        static MAILBOX: I2cMailbox<2, 8> = I2cMailbox::new();
        let mut bus = Mock::new(&[
            T::write_read(0x48, vec![0x00], vec![0x19, 0x00]),
            T::write(0x50, vec![0x10, 1, 2]).with_error(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)),
        ]);
        let mut cx = Context::from_waker(Waker::noop());
        let mut changed = pin!(MAILBOX.changed());
        assert!(changed.as_mut().poll(&mut cx).is_pending());
        MAILBOX.start(7, 0x48, [&[0x00], &[]], 2).unwrap();
        MAILBOX.start(9, 0x50, [&[0x10], &[1, 2]], 0).unwrap();
        assert_eq!(MAILBOX.start(7, 0x48, [&[], &[]], 0), Err(Errno::Busy), "one transfer per app");
        assert_eq!(MAILBOX.start(5, 0x48, [&[], &[]], 0), Err(Errno::Busy), "both slots taken");
        assert_eq!(MAILBOX.start(5, 0x48, [&[0; 8], &[1]], 0), Err(Errno::TooLarge));
        let mut read = [0u8; 2];
        assert_eq!(MAILBOX.poll(7, &mut read), None, "still queued");
        serve_once(&MAILBOX, &mut bus);
        assert!(changed.as_mut().poll(&mut cx).is_ready(), "a finished transfer wakes the idle future");
        assert_eq!(MAILBOX.poll(7, &mut read), Some(Ok(())));
        assert_eq!(read, [0x19, 0x00]);
        assert_eq!(MAILBOX.poll(9, &mut []), Some(Err(Errno::NoSuchResource)));
        assert_eq!(MAILBOX.poll(9, &mut []), Some(Err(Errno::Invalid)), "collected once");
        bus.done();
    }

    #[test]
    fn a_transfer_its_app_stopped_waiting_for_is_recycled() {
        static MAILBOX: I2cMailbox<1, 4> = I2cMailbox::new();
        let mut bus = Mock::new(&[T::read(0x48, vec![1]), T::read(0x48, vec![2])]);
        MAILBOX.start(1, 0x48, [&[], &[]], 1).unwrap();
        serve_once(&MAILBOX, &mut bus);
        // The app timed out and never collected it; its next call goes on.
        MAILBOX.start(1, 0x48, [&[], &[]], 1).unwrap();
        serve_once(&MAILBOX, &mut bus);
        let mut read = [0u8; 1];
        assert_eq!(MAILBOX.poll(1, &mut read), Some(Ok(())));
        assert_eq!(read, [2]);
        bus.done();
    }

    #[test]
    fn the_slots_of_an_app_that_stopped_come_back_to_the_others() {
        static MAILBOX: I2cMailbox<1, 4> = I2cMailbox::new();
        let mut bus = Mock::new(&[T::read(0x48, vec![1]), T::read(0x48, vec![2]), T::read(0x48, vec![3])]);
        let mut buses = [&MAILBOX];
        // App 1's transfer is queued when it stops (its update starts as
        // a new app id: nobody would ever collect it).
        MAILBOX.start(1, 0x48, [&[], &[]], 1).unwrap();
        assert_eq!(MAILBOX.start(2, 0x48, [&[], &[]], 1), Err(Errno::Busy), "the one slot is taken");
        AsyncI2c::release(&mut buses, 1);
        serve_once(&MAILBOX, &mut bus);
        // It ran in turn, for nobody, and its slot is free for app 2.
        MAILBOX.start(2, 0x48, [&[], &[]], 1).unwrap();
        serve_once(&MAILBOX, &mut bus);
        let mut read = [0u8; 1];
        assert_eq!(MAILBOX.poll(2, &mut read), Some(Ok(())));
        assert_eq!(read, [2]);
        // A finished transfer nobody collected is freed at once.
        MAILBOX.start(3, 0x48, [&[], &[]], 1).unwrap();
        serve_once(&MAILBOX, &mut bus);
        AsyncI2c::release(&mut buses, 3);
        MAILBOX.start(4, 0x48, [&[], &[]], 1).unwrap();
        assert_eq!(MAILBOX.poll(3, &mut read), Some(Err(Errno::Invalid)), "app 3's outcome is gone");
        bus.done();
    }

    struct Board1 {
        rec: Recorder,
        buses: [&'static I2cMailbox<2, 16>; 1],
    }
    recorder_board!(Board1);

    impl AsyncI2c for Board1 {
        fn start(&mut self, app: u16, bus: u32, addr: u8, write: [&[u8]; 2], read_len: usize) -> Result<(), Errno> {
            self.buses.start(app, bus, addr, write, read_len)
        }
        fn poll(&mut self, app: u16, bus: u32, read: &mut [u8]) -> Option<Result<(), Errno>> {
            self.buses.poll(app, bus, read)
        }
    }

    fn app(mailbox: &'static I2cMailbox<2, 16>) -> AppState<Board1> {
        let mut scope = I2cScope::default();
        scope.buses[0].insert(0x48);
        let caps = CapabilitySet { i2c: Some(scope), ..Default::default() };
        state(Board1 { rec: Recorder::default(), buses: [mailbox] }, &caps)
    }

    #[test]
    fn the_app_is_suspended_until_the_task_has_run_the_transfer() {
        static MAILBOX: I2cMailbox<2, 16> = I2cMailbox::new();
        let mut bus = Mock::new(&[T::write_read(0x48, vec![0x00], vec![0x16, 0x80])]);
        let mut s = app(&MAILBOX);
        s.board_mut().rec.now = 5;
        let mut backing = [0u8; 32];
        let mut mem = GuestMemory::new(&mut backing);
        let call = Call::ReadReg { bus: 0, addr: 0x48, reg: 0, ptr: 20, len: 2 };
        let Err(Refusal::Trap(_)) = suspending(&mut mem, &mut s, ModuleIndex(0), call) else { panic!("not suspended") };
        let wait = s.take_wait().unwrap();
        assert_eq!(wait.until, crate::Instant::from_micros(5).saturating_add(TRANSFER_TIMEOUT));
        let WaitKind::Module { op, arg, .. } = wait.kind else { panic!() };
        let module = AsyncI2cModule;
        assert_eq!(module.poll_wait_with_memory(&mut mem, &mut s, op, arg), None, "the task has not run");
        serve_once(&MAILBOX, &mut bus);
        assert_eq!(module.poll_wait_with_memory(&mut mem, &mut s, op, arg), Some(0));
        assert_eq!(mem.bytes(20, 2).unwrap(), &[0x16, 0x80], "read into the app's buffer");
        assert!(s.board().rec.events[0].contains("reg: Some(0), wrote: [], read: [22, 128], result: Ok(())"));
        bus.done();
    }

    #[test]
    fn refused_calls_never_reach_the_mailbox() {
        static MAILBOX: I2cMailbox<2, 16> = I2cMailbox::new();
        let mut s = app(&MAILBOX);
        let mut backing = [0u8; 32];
        let mut mem = GuestMemory::new(&mut backing);
        let m = ModuleIndex(0);
        let call = |addr, ptr| Call::Read { bus: 0, addr, ptr, len: 2 };
        assert_eq!(code(suspending(&mut mem, &mut s, m, call(0x49, 0))), Errno::Denied.code());
        assert_eq!(code(suspending(&mut mem, &mut s, m, call(0x48, 31))), Errno::Fault.code());
        let big = Call::Read { bus: 0, addr: 0x48, ptr: 0, len: 17 };
        assert_eq!(code(suspending(&mut mem, &mut s, m, big)), Errno::TooLarge.code(), "beyond the mailbox's buffers");
        assert_eq!(MAILBOX.poll(1, &mut []), Some(Err(Errno::Invalid)), "nothing was queued");
    }

    #[test]
    fn wait_args_round_trip() {
        let req = Request { bus: 3, addr: 0x77, reg: Some(0xff), write: (0, 0), read: (u32::MAX, 1024) };
        assert_eq!(unpack(pack(&req)), (3, 0x77, Some(0xff), (u32::MAX, 1024)));
        let req = Request { reg: None, ..req };
        assert_eq!(unpack(pack(&req)).2, None);
    }
}
