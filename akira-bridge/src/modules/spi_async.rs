//! `akira:spi` on an async HAL: the transaction runs in a firmware task
//! while the app is suspended.
//!
//! [`AsyncSpiModule`] offers the same functions as [`SpiModule`]
//! (`docs/abi.md` is the same; a firmware registers one or the other),
//! checked the same way (guard, lengths, the app's buffers), but instead of
//! running the transaction inside the host call it queues it with the
//! board ([`AsyncSpi::start`]) and suspends the app on a module wait. The
//! scheduler polls the wait ([`AsyncSpi::poll`]); when the transaction is
//! done the bytes received are copied into the app's buffer and the call
//! returns, with [`Errno::TimedOut`] after [`TRANSFER_TIMEOUT`] if the
//! device hangs. Other apps and firmware tasks run meanwhile.
//!
//! Boards implement [`AsyncSpi`] with an [`SpiMailbox`] per device id: a
//! `static` that a firmware task serves with the HAL's (or
//! `embedded-hal-bus`'s) `embedded_hal_async::spi::SpiDevice`
//! ([`SpiMailbox::serve`]), holding one queued call per app (up to `SLOTS`
//! apps) in `BUF`-byte buffers. Each call is one `SpiDevice::transaction`
//! with the operations the blocking module issues ([`SpiOp`]). The
//! scheduler's idle future awaits [`SpiMailbox::changed`] beside its
//! timer, as for I2C transfers and serial bytes.
//!
//! [`SpiModule`]: super::spi::SpiModule

use core::time::Duration;

use crate::host::Linker;
use akira_caps::ModuleSpec;

use super::spi::{Call, SPEC, SpiOp, check, link_calls};
use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::mailbox::Mailbox;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind};
use crate::wake::Changes;

/// How long an app waits for its transaction before `AKIRA_ETIMEDOUT`.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(1);

/// SPI devices whose transactions run outside the host call. Errors are
/// the codes apps see: [`Errno::NoSuchResource`] for a device id the board
/// does not have, [`Errno::Busy`] when the app's previous call on the
/// device is still queued or running (after a timeout) or every slot is
/// taken, [`Errno::TooLarge`] when a call does not fit the board's
/// buffers, [`Errno::Io`] when the transaction fails.
pub trait AsyncSpi {
    /// Queues app `app`'s call `op` on device `device`: `write` is the
    /// bytes sent (for [`SpiOp::TransferInPlace`], the buffer's contents)
    /// and `read_len` how many bytes are received (for
    /// [`SpiOp::TransferInPlace`], `write.len()`).
    fn start(&mut self, app: u16, device: u32, op: SpiOp, write: &[u8], read_len: usize) -> Result<(), Errno>;
    /// The outcome of app `app`'s call on `device`: `None` while it runs;
    /// once done, the bytes received are copied to `read` (its length is
    /// the `read_len` given to `start`) and the slot is freed.
    fn poll(&mut self, app: u16, device: u32, read: &mut [u8]) -> Option<Result<(), Errno>>;
    /// App `app` stopped running: its calls on every device are forgotten
    /// (a finished one freed now, a queued or running one when it ends),
    /// so the slots of an app that went away come back to the others. The
    /// default does nothing.
    fn release(&mut self, app: u16) {
        let _ = app;
    }
}

/// One device's queue of calls, served by a firmware task over an
/// embedded-hal-async `SpiDevice`: up to `SLOTS` apps with one call each,
/// of at most `BUF` bytes each way. Calls run in the order they were
/// queued.
pub struct SpiMailbox<const SLOTS: usize, const BUF: usize>(Mailbox<SpiOp, SLOTS, BUF>);

impl<const SLOTS: usize, const BUF: usize> Default for SpiMailbox<SLOTS, BUF> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SLOTS: usize, const BUF: usize> SpiMailbox<SLOTS, BUF> {
    const SOUND: () = assert!(SLOTS > 0 && BUF > 0, "an SpiMailbox needs a slot and a buffer");

    /// An empty mailbox.
    pub const fn new() -> Self {
        let () = Self::SOUND;
        SpiMailbox(Mailbox::new(SpiOp::Write))
    }

    /// Queues app `app`'s call (see [`AsyncSpi::start`]); in place with
    /// `read_len != write.len()` is [`Errno::Invalid`].
    pub fn start(&self, app: u16, op: SpiOp, write: &[u8], read_len: usize) -> Result<(), Errno> {
        // Too large before invalid, as apps have always seen it.
        if write.len() > BUF || read_len > BUF {
            return Err(Errno::TooLarge);
        }
        if op == SpiOp::TransferInPlace && read_len != write.len() {
            return Err(Errno::Invalid);
        }
        self.0.start(app, op, [write, &[]], read_len)
    }

    /// App `app`'s outcome (see [`AsyncSpi::poll`]); `Some(Err(Invalid))`
    /// if it has no call queued.
    pub fn poll(&self, app: u16, read: &mut [u8]) -> Option<Result<(), Errno>> {
        self.0.poll(app, read)
    }

    /// Forgets app `app`'s call (see [`AsyncSpi::release`]).
    pub fn release(&self, app: u16) {
        self.0.forget(app)
    }

    /// Resolves when a call finishes (one waiter: the scheduler's idle
    /// future).
    pub async fn changed(&self) {
        self.0.changed().await
    }

    /// The counter of finished calls, for an idle future over several
    /// mailboxes.
    pub(crate) fn finished(&self) -> &Changes {
        self.0.finished()
    }

    /// Runs the queued calls on `device` forever, each as one
    /// `SpiDevice::transaction`: run it as a firmware task per device,
    /// owning the HAL's async SPI device (bus, mode, clock, chip select).
    pub async fn serve<D: embedded_hal_async::spi::SpiDevice<u8>>(&self, mut device: D) -> ! {
        self.0
            .serve(async |op, write: &[u8], read: &mut [u8]| {
                if op == SpiOp::TransferInPlace {
                    // Same lengths: checked by `start`.
                    read.copy_from_slice(write);
                }
                let mut ops = op.operations(write, read);
                // Every SPI error kind is a failed transfer to the app, as
                // with the blocking `SpiDevices`.
                device.transaction(ops.as_mut_slice()).await.map_err(|_| Errno::Io)
            })
            .await
    }
}

/// Device `n` is mailbox `n`.
impl<const N: usize, const SLOTS: usize, const BUF: usize> AsyncSpi for [&'static SpiMailbox<SLOTS, BUF>; N] {
    fn start(&mut self, app: u16, device: u32, op: SpiOp, write: &[u8], read_len: usize) -> Result<(), Errno> {
        self.get(device as usize).ok_or(Errno::NoSuchResource)?.start(app, op, write, read_len)
    }

    fn poll(&mut self, app: u16, device: u32, read: &mut [u8]) -> Option<Result<(), Errno>> {
        match self.get(device as usize) {
            Some(mailbox) => mailbox.poll(app, read),
            None => Some(Err(Errno::NoSuchResource)),
        }
    }

    fn release(&mut self, app: u16) {
        self.iter().for_each(|mailbox| mailbox.release(app))
    }
}

/// `akira:spi` over [`AsyncSpi`]: calls suspend the app. Register it
/// instead of [`super::spi::SpiModule`] (both are `akira:spi`).
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncSpiModule;

/// The wait's operation code.
const OP_TRANSFER: u32 = 1;

/// A suspended call, packed into the wait's `arg`: the device (granted,
/// so below 32) and where the bytes received go (at most 4096 of them).
fn pack(call: &Call) -> u64 {
    u64::from(call.read.0) | u64::from(call.read.1 & 0x1fff) << 32 | u64::from(call.device & 0x1f) << 45
}

/// `(device, (rptr, rlen))`.
fn unpack(arg: u64) -> (u32, (u32, u32)) {
    ((arg >> 45) as u32 & 0x1f, (arg as u32, (arg >> 32) as u32 & 0x1fff))
}

/// Checks a call, queues it and suspends the app.
fn suspending<B: Board + AsyncSpi>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    call: Call,
) -> Result<i32, Refusal> {
    let call = check(memory, state, call)?;
    let write = memory.bytes(call.write.0, call.write.1)?;
    let app = state.info().id;
    state.board_mut().start(app, call.device, call.op, write, call.read.1 as usize)?;
    let until = state.board().now().saturating_add(TRANSFER_TIMEOUT);
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op: OP_TRANSFER, arg: pack(&call) } }))
}

impl<B: Board + AsyncSpi> HostModule<B> for AsyncSpiModule {
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
        let (device, (rptr, rlen)) = unpack(arg);
        let app = state.info().id;
        let Ok(read) = memory.bytes_mut(rptr, rlen) else { return Some(Errno::Fault.code()) };
        let result = state.board_mut().poll(app, device, read)?;
        state.trace(Trace::Spi { device, wrote: &[], read, result });
        Some(result.map_or_else(Errno::code, |()| 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bridge;
    use crate::testing::{Recorder, code, recorder_board, state};
    use akira_caps::{Capability, CapabilitySet};
    use core::pin::pin;
    use core::task::{Context, Waker};
    use embedded_hal_async::spi::{ErrorKind, ErrorType, Operation, SpiDevice};
    use embedded_hal_mock::eh1::spi::{Mock, Transaction as T};
    use std::future::Future;

    /// Polls `serve` once: it runs every queued call (the device answers
    /// at once) and waits for more.
    fn serve_once<const S: usize, const B: usize, D: SpiDevice<u8>>(mailbox: &SpiMailbox<S, B>, device: D) {
        let mut cx = Context::from_waker(Waker::noop());
        let mut task = pin!(mailbox.serve(device));
        assert!(task.as_mut().poll(&mut cx).is_pending());
    }

    fn framed(inner: T<u8>) -> [T<u8>; 3] {
        [T::transaction_start(), inner, T::transaction_end()]
    }

    struct Board1 {
        rec: Recorder,
        devices: [&'static SpiMailbox<2, 16>; 1],
    }
    recorder_board!(Board1);

    impl AsyncSpi for Board1 {
        fn start(&mut self, app: u16, device: u32, op: SpiOp, write: &[u8], read_len: usize) -> Result<(), Errno> {
            self.devices.start(app, device, op, write, read_len)
        }
        fn poll(&mut self, app: u16, device: u32, read: &mut [u8]) -> Option<Result<(), Errno>> {
            self.devices.poll(app, device, read)
        }
    }

    /// An app granted device 0, whose calls go to `mailbox`.
    fn app(mailbox: &'static SpiMailbox<2, 16>) -> AppState<Board1> {
        let caps = CapabilitySet { spi: Some([0].into_iter().collect()), ..Default::default() };
        state(Board1 { rec: Recorder::default(), devices: [mailbox] }, &caps)
    }

    const M: ModuleIndex = ModuleIndex(0);

    fn one(op: SpiOp, device: u32, ptr: u32, len: u32) -> Call {
        Call::one(op, device, ptr, len)
    }

    /// Makes `call`, which must suspend the app, and returns its wait.
    fn suspended(mem: &mut GuestMemory<'_>, s: &mut AppState<Board1>, call: Call) -> Wait {
        let Err(Refusal::Trap(_)) = suspending(mem, s, M, call) else { panic!("not suspended") };
        s.take_wait().unwrap()
    }

    /// Polls the wait through the module: what the scheduler does.
    fn outcome(mem: &mut GuestMemory<'_>, s: &mut AppState<Board1>, wait: &Wait) -> Option<i32> {
        let WaitKind::Module { op, arg, .. } = wait.kind else { panic!("not a module wait") };
        AsyncSpiModule.poll_wait_with_memory(mem, s, op, arg)
    }

    #[test]
    fn each_call_is_one_transaction_with_the_exact_bytes() {
        static MAILBOX: SpiMailbox<2, 16> = SpiMailbox::new();
        let mut expected = Vec::new();
        expected.extend(framed(T::write_vec(vec![0x06])));
        expected.extend(framed(T::read_vec(vec![0xef, 0x40])));
        expected.extend(framed(T::transfer(vec![0x9f, 0, 0, 0], vec![0xff, 0xef, 0x40, 0x14])));
        expected.extend(framed(T::transfer_in_place(vec![0x05, 0x00], vec![0xff, 0x02])));
        expected.extend([
            T::transaction_start(),
            T::write_vec(vec![0x03, 0x00, 0x10, 0x00]),
            T::read_vec(vec![1, 2, 3]),
            T::transaction_end(),
        ]);
        let mut device = Mock::new(&expected);
        let mut s = app(&MAILBOX);
        let mut backing = [0u8; 64];
        backing[0] = 0x06;
        backing[16..20].copy_from_slice(&[0x9f, 0, 0, 0]);
        backing[32..34].copy_from_slice(&[0x05, 0x00]);
        backing[40..44].copy_from_slice(&[0x03, 0x00, 0x10, 0x00]);
        let mut mem = GuestMemory::new(&mut backing);
        let calls = [
            one(SpiOp::Write, 0, 0, 1),
            one(SpiOp::Read, 0, 8, 2),
            Call { device: 0, op: SpiOp::Transfer, write: (16, 4), read: (20, 4) },
            one(SpiOp::TransferInPlace, 0, 32, 2),
            Call { device: 0, op: SpiOp::WriteThenRead, write: (40, 4), read: (48, 3) },
        ];
        for call in calls {
            let wait = suspended(&mut mem, &mut s, call);
            serve_once(&MAILBOX, &mut device);
            assert_eq!(outcome(&mut mem, &mut s, &wait), Some(0), "{call:?}");
        }
        assert_eq!(mem.bytes(8, 2).unwrap(), &[0xef, 0x40]);
        assert_eq!(mem.bytes(20, 4).unwrap(), &[0xff, 0xef, 0x40, 0x14]);
        assert_eq!(mem.bytes(32, 2).unwrap(), &[0xff, 0x02], "received bytes replace the ones sent");
        assert_eq!(mem.bytes(48, 3).unwrap(), &[1, 2, 3]);
        device.done();
        let events = &s.board().rec.events;
        assert_eq!(events.len(), 5);
        assert!(events[4].contains("device: 0, wrote: [], read: [1, 2, 3], result: Ok(())"), "{}", events[4]);
    }

    #[test]
    fn the_app_is_suspended_until_the_task_has_run_the_call() {
        static MAILBOX: SpiMailbox<2, 16> = SpiMailbox::new();
        let mut device = Mock::new(&framed(T::transfer(vec![0x9f, 0], vec![0xff, 0xc2])));
        let mut s = app(&MAILBOX);
        s.board_mut().rec.now = 5;
        let mut backing = [0u8; 32];
        backing[..2].copy_from_slice(&[0x9f, 0]);
        let mut mem = GuestMemory::new(&mut backing);
        let mut cx = Context::from_waker(Waker::noop());
        let mut changed = pin!(MAILBOX.changed());
        assert!(changed.as_mut().poll(&mut cx).is_pending());
        let wait = suspended(&mut mem, &mut s, Call { device: 0, op: SpiOp::Transfer, write: (0, 2), read: (8, 2) });
        assert_eq!(wait.until, crate::Instant::from_micros(5).saturating_add(TRANSFER_TIMEOUT));
        assert_eq!(outcome(&mut mem, &mut s, &wait), None, "the task has not run");
        assert!(changed.as_mut().poll(&mut cx).is_pending(), "nothing finished yet");
        assert_eq!(mem.bytes(8, 2).unwrap(), &[0, 0]);
        serve_once(&MAILBOX, &mut device);
        assert!(changed.as_mut().poll(&mut cx).is_ready(), "a finished call wakes the idle future");
        assert_eq!(outcome(&mut mem, &mut s, &wait), Some(0));
        assert_eq!(mem.bytes(8, 2).unwrap(), &[0xff, 0xc2], "received into the app's buffer");
        device.done();
    }

    #[test]
    fn refused_calls_never_reach_the_mailbox() {
        static MAILBOX: SpiMailbox<2, 16> = SpiMailbox::new();
        let mut s = app(&MAILBOX);
        let mut backing = [0u8; 32];
        let mut mem = GuestMemory::new(&mut backing);
        let mut refused = |call| code(suspending(&mut mem, &mut s, M, call));
        let two = |op, write, read| Call { device: 0, op, write, read };
        assert_eq!(refused(one(SpiOp::Write, 1, 0, 1)), Errno::Denied.code(), "device 1 is not granted");
        assert_eq!(refused(one(SpiOp::Read, u32::MAX, 0, 1)), Errno::Denied.code());
        assert_eq!(refused(one(SpiOp::TransferInPlace, 0, 31, 2)), Errno::Fault.code());
        assert_eq!(refused(two(SpiOp::Transfer, (0, 4), (30, 4))), Errno::Fault.code());
        assert_eq!(refused(two(SpiOp::WriteThenRead, (0, 4), (2, 4))), Errno::Invalid.code(), "overlap");
        assert_eq!(refused(one(SpiOp::Read, 0, 0, super::super::spi::MAX_TRANSFER + 1)), Errno::TooLarge.code());
        assert_eq!(refused(one(SpiOp::Read, 0, 0, 17)), Errno::TooLarge.code(), "beyond the mailbox's buffers");
        assert_eq!(s.guard().denials(Capability::Spi), 2);
        assert!(s.take_wait().is_none(), "never suspended");
        assert_eq!(MAILBOX.poll(1, &mut []), Some(Err(Errno::Invalid)), "nothing was queued");
        // A device with no expectations: any transaction would panic.
        let mut device = Mock::new(&[]);
        serve_once(&MAILBOX, &mut device);
        device.done();
    }

    #[test]
    fn a_hung_device_times_the_app_out_and_its_next_call_is_busy_until_the_task_gets_to_it() {
        static MAILBOX: SpiMailbox<2, 16> = SpiMailbox::new();
        let mut s = app(&MAILBOX);
        s.board_mut().rec.now = 100;
        let mut backing = [0u8; 32];
        let mut mem = GuestMemory::new(&mut backing);
        let bridge: Bridge<Board1> = Bridge::new().with(AsyncSpiModule).unwrap();
        let wait = suspended(&mut mem, &mut s, one(SpiOp::Read, 0, 0, 1));
        let deadline = crate::Instant::from_micros(100).saturating_add(TRANSFER_TIMEOUT);
        let before = crate::Instant::from_micros(deadline.as_micros() - 1);
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, before), None);
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, deadline), Some(Errno::TimedOut.code()));
        // The first call is still queued: the app's next one is refused.
        assert_eq!(code(suspending(&mut mem, &mut s, M, one(SpiOp::Read, 0, 0, 1))), Errno::Busy.code());
        // The task runs it late; nobody collects it, and the next call
        // takes its slot.
        let mut device = Mock::new(&[framed(T::read_vec(vec![1])), framed(T::read_vec(vec![2]))].concat());
        serve_once(&MAILBOX, &mut device);
        let wait = suspended(&mut mem, &mut s, one(SpiOp::Read, 0, 4, 1));
        serve_once(&MAILBOX, &mut device);
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, deadline), Some(0));
        assert_eq!(mem.bytes(4, 1).unwrap(), &[2], "the new call's bytes");
        device.done();
    }

    #[test]
    fn the_mailbox_holds_one_call_per_app_in_its_slots_and_buffers() {
        static MAILBOX: SpiMailbox<2, 8> = SpiMailbox::new();
        MAILBOX.start(7, SpiOp::Write, &[1], 0).unwrap();
        MAILBOX.start(9, SpiOp::Read, &[], 2).unwrap();
        assert_eq!(MAILBOX.start(7, SpiOp::Write, &[2], 0), Err(Errno::Busy), "one call per app");
        assert_eq!(MAILBOX.start(5, SpiOp::Write, &[3], 0), Err(Errno::Busy), "both slots taken");
        assert_eq!(MAILBOX.start(5, SpiOp::Write, &[0; 9], 0), Err(Errno::TooLarge));
        assert_eq!(MAILBOX.start(5, SpiOp::Transfer, &[0; 8], 9), Err(Errno::TooLarge));
        assert_eq!(MAILBOX.start(5, SpiOp::TransferInPlace, &[0; 2], 3), Err(Errno::Invalid));
        assert_eq!(MAILBOX.poll(7, &mut []), None, "still queued");
        let mut device = Mock::new(&[framed(T::write_vec(vec![1])), framed(T::read_vec(vec![4, 2]))].concat());
        serve_once(&MAILBOX, &mut device);
        let mut read = [0u8; 2];
        assert_eq!(MAILBOX.poll(9, &mut read), Some(Ok(())));
        assert_eq!(read, [4, 2]);
        assert_eq!(MAILBOX.poll(7, &mut []), Some(Ok(())));
        assert_eq!(MAILBOX.poll(7, &mut []), Some(Err(Errno::Invalid)), "collected once");
        device.done();
    }

    #[test]
    fn device_errors_are_io_and_missing_devices_no_such_resource() {
        struct Broken;
        impl ErrorType for Broken {
            type Error = ErrorKind;
        }
        impl SpiDevice<u8> for Broken {
            async fn transaction(&mut self, _: &mut [Operation<'_, u8>]) -> Result<(), ErrorKind> {
                Err(ErrorKind::ModeFault)
            }
        }
        static MAILBOX: SpiMailbox<1, 4> = SpiMailbox::new();
        let mut devices = [&MAILBOX];
        devices.start(3, 0, SpiOp::Write, &[1], 0).unwrap();
        serve_once(&MAILBOX, Broken);
        assert_eq!(devices.poll(3, 0, &mut []), Some(Err(Errno::Io)));
        assert_eq!(devices.start(3, 1, SpiOp::Write, &[1], 0), Err(Errno::NoSuchResource));
        assert_eq!(devices.poll(3, 1, &mut []), Some(Err(Errno::NoSuchResource)));
    }

    #[test]
    fn wait_args_round_trip() {
        let call = Call { device: 31, op: SpiOp::Read, write: (0, 0), read: (u32::MAX, 4096) };
        assert_eq!(unpack(pack(&call)), (31, (u32::MAX, 4096)));
        let call = Call { device: 0, read: (0, 0), ..call };
        assert_eq!(unpack(pack(&call)), (0, (0, 0)));
    }
}
