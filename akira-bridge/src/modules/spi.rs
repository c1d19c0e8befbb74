//! `akira:spi`: SPI devices the board defines, by id.
//!
//! An app never sees a bus or a chip-select pin: the board decides which
//! devices exist (a bus, a mode, a clock and a chip select each, the
//! embedded-hal 1.0 `SpiDevice` contract) and numbers them 0–31; the
//! manifest grants device ids (`spi = [0]`). Every call checks its device
//! with one bit test ([`akira_caps::Guard::id`]) before the bus is touched,
//! and runs as one transaction: chip select asserted for the whole call.
//!
//! # Blocking or suspending
//!
//! With [`SpiModule`] the board implements [`Spi`], most by forwarding to
//! an [`SpiDevices`] of the HAL's (or `embedded-hal-bus`'s) blocking
//! `SpiDevice`s, and a transfer runs inside the host call: bounded
//! ([`MAX_TRANSFER`] bytes each way, about 4 ms at 8 MHz) and without
//! suspending the app, the path for blocking HALs and the simulator.
//!
//! On an async HAL, register
//! [`AsyncSpiModule`](super::spi_async::AsyncSpiModule) instead: the same
//! functions, checked the same way, but each call is queued to a firmware
//! task that owns the device ([`SpiMailbox`](super::spi_async::SpiMailbox)
//! over `embedded_hal_async::spi::SpiDevice`) and the app is suspended
//! until it is done. Both issue the same embedded-hal operations per call
//! ([`SpiOp`]).

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};
use embedded_hal::spi::{self as hal, Operation};

use crate::board::{Board, Trace};
use crate::charge::counted;
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, memory_and_state, reply};

/// Most bytes one call moves in each direction.
pub const MAX_TRANSFER: u32 = 4096;

/// Most devices a board can number (ids `0..MAX_DEVICES`).
pub const MAX_DEVICES: usize = 32;

/// A board's SPI devices, by id. Errors are the codes apps see:
/// [`Errno::NoSuchResource`] for an id the board does not have,
/// [`Errno::Io`] when the transfer fails.
pub trait Spi {
    /// Runs `ops` on device `device` as one transaction (chip select
    /// asserted throughout), with the meaning of embedded-hal's
    /// `SpiDevice::transaction`.
    fn transaction(&mut self, device: u32, ops: &mut [Operation<'_, u8>]) -> Result<(), Errno>;
}

/// Numbered SPI devices over embedded-hal 1.0: id `n` is `devices[n]`,
/// up to [`MAX_DEVICES`] of them, all of one type (a HAL's device type, or
/// `embedded_hal_bus::spi::RefCellDevice` for devices sharing a bus).
///
/// A single-operation transaction goes to the matching `SpiDevice` method
/// (`write`, `read`, `transfer`, `transfer_in_place`), anything else to
/// `transaction`.
pub struct SpiDevices<D, const N: usize> {
    devices: [D; N],
}

impl<D: hal::SpiDevice<u8>, const N: usize> SpiDevices<D, N> {
    const FITS: () = assert!(N <= MAX_DEVICES, "an SpiDevices holds at most 32 devices");

    /// Devices `0..N`.
    pub fn new(devices: [D; N]) -> Self {
        let () = Self::FITS;
        SpiDevices { devices }
    }

    /// Device `id`, for firmware code that uses it directly.
    pub fn device_mut(&mut self, id: u32) -> Option<&mut D> {
        self.devices.get_mut(id as usize)
    }

    /// Gives the devices back.
    pub fn into_inner(self) -> [D; N] {
        self.devices
    }
}

impl<D: hal::SpiDevice<u8>, const N: usize> Spi for SpiDevices<D, N> {
    fn transaction(&mut self, device: u32, ops: &mut [Operation<'_, u8>]) -> Result<(), Errno> {
        let d = self.devices.get_mut(device as usize).ok_or(Errno::NoSuchResource)?;
        let result = match ops {
            [Operation::Write(w)] => d.write(w),
            [Operation::Read(r)] => d.read(r),
            [Operation::Transfer(r, w)] => d.transfer(r, w),
            [Operation::TransferInPlace(b)] => d.transfer_in_place(b),
            ops => d.transaction(ops),
        };
        // Every SPI error kind (overrun, mode fault, frame format, chip
        // select) is a failed transfer to the app.
        result.map_err(|_| Errno::Io)
    }
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::SPI.import,
    capability: ModuleCapability::Builtin(Capability::Spi),
    functions: akira_abi::SPI.functions,
};

/// The `akira:spi` module; the board must implement [`Spi`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SpiModule;

/// What one `akira:spi` call does: one transaction, chip select asserted
/// throughout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SpiOp {
    /// `write`: clock out the bytes sent, ignore what comes back.
    Write,
    /// `read`: clock in the bytes received.
    Read,
    /// `transfer`: full duplex for as many clocks as the longer buffer.
    Transfer,
    /// `transfer_in_place`: full duplex in one buffer, each received byte
    /// replacing the one sent.
    TransferInPlace,
    /// `write_then_read`: a write, then a read.
    WriteThenRead,
}

/// The embedded-hal operations of one call.
pub(crate) enum Operations<'a> {
    One([Operation<'a, u8>; 1]),
    Two([Operation<'a, u8>; 2]),
}

impl<'a> Operations<'a> {
    pub(crate) fn as_mut_slice(&mut self) -> &mut [Operation<'a, u8>] {
        match self {
            Operations::One(ops) => ops,
            Operations::Two(ops) => ops,
        }
    }
}

impl SpiOp {
    /// The operations both modules issue for this call: `write` is what is
    /// sent, `read` where received bytes go; for
    /// [`SpiOp::TransferInPlace`], `read` holds the bytes sent and `write`
    /// is unused.
    pub(crate) fn operations<'a>(self, write: &'a [u8], read: &'a mut [u8]) -> Operations<'a> {
        match self {
            SpiOp::Write => Operations::One([Operation::Write(write)]),
            SpiOp::Read => Operations::One([Operation::Read(read)]),
            SpiOp::Transfer => Operations::One([Operation::Transfer(read, write)]),
            SpiOp::TransferInPlace => Operations::One([Operation::TransferInPlace(read)]),
            SpiOp::WriteThenRead => Operations::Two([Operation::Write(write), Operation::Read(read)]),
        }
    }
}

/// An `akira:spi` call as the app made it, and once [`check`]ed. Both
/// bridge modules for `akira:spi` (blocking and suspending) run it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Call {
    pub device: u32,
    pub op: SpiOp,
    /// The bytes sent: `(ptr, len)` in the app's memory (for
    /// [`SpiOp::TransferInPlace`], the buffer itself).
    pub write: (u32, u32),
    /// Where the bytes received go: `(ptr, len)`; `len` 0 for none.
    pub read: (u32, u32),
}

impl Call {
    /// A one-buffer call: `write`, `read` or `transfer_in_place`.
    pub(crate) fn one(op: SpiOp, device: u32, ptr: u32, len: u32) -> Call {
        let (buf, none) = ((ptr, len), (0, 0));
        match op {
            SpiOp::Write => Call { device, op, write: buf, read: none },
            SpiOp::Read => Call { device, op, write: none, read: buf },
            _ => Call { device, op, write: buf, read: buf },
        }
    }
}

fn length(len: u32) -> Result<(), Refusal> {
    if len > MAX_TRANSFER { Err(Errno::TooLarge.into()) } else { Ok(()) }
}

/// Checks a call: the guard first (one bit test), then the lengths and the
/// app's buffers (which must not overlap, but in place).
pub(crate) fn check<B: Board>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    call: Call,
) -> Result<Call, Refusal> {
    state.guarded(|g| g.id(Capability::Spi, call.device))?;
    length(call.write.1)?;
    length(call.read.1)?;
    if call.op == SpiOp::TransferInPlace {
        memory.bytes(call.read.0, call.read.1)?;
    } else {
        memory.in_out(call.write, call.read)?;
    }
    Ok(call)
}

/// Runs a checked call on the blocking device and reports it to the board.
fn run<B: Board + Spi>(memory: &mut GuestMemory<'_>, state: &mut AppState<B>, call: Call) -> Result<i32, Refusal> {
    let Call { device, op, write, read } = call;
    // In place is traced as what was received; what was sent is overwritten.
    let (w, r) = if op == SpiOp::TransferInPlace {
        (&[][..], memory.bytes_mut(read.0, read.1)?)
    } else {
        memory.in_out(write, read)?
    };
    let result = state.board_mut().transaction(device, op.operations(w, &mut *r).as_mut_slice());
    state.trace(Trace::Spi { device, wrote: w, read: r, result });
    result?;
    Ok(0)
}

/// Checks and runs a call on the blocking device.
fn blocking<B: Board + Spi>(memory: &mut GuestMemory<'_>, state: &mut AppState<B>, call: Call) -> Result<i32, Refusal> {
    let call = check(memory, state, call)?;
    run(memory, state, call)
}

/// Defines the five `akira:spi` functions, each checking its call and
/// handing it to `exec` (blocking, or suspending the app).
pub(crate) fn link_calls<B: Board>(
    linker: &mut Linker<AppState<B>>,
    exec: impl Fn(&mut GuestMemory<'_>, &mut AppState<B>, Call) -> Result<i32, Refusal> + Copy + Send + Sync + 'static,
) -> Result<(), LinkError> {
    type C<'a, B> = Caller<'a, AppState<B>>;
    let go = move |c: &mut C<'_, B>, call: Call| {
        let bytes = u64::from(call.write.1) + u64::from(call.read.1);
        reply(memory_and_state(c).and_then(|(mut mem, s)| {
            let result = exec(&mut mem, s, call);
            counted(s, bytes, result)
        }))
    };
    host_fn!(linker, SPEC, "write", move |c: C<'_, B>, device: u32, ptr: u32, len: u32| {
        go(&mut c, Call::one(SpiOp::Write, device, ptr, len))
    })?;
    host_fn!(linker, SPEC, "read", move |c: C<'_, B>, device: u32, ptr: u32, len: u32| {
        go(&mut c, Call::one(SpiOp::Read, device, ptr, len))
    })?;
    host_fn!(linker, SPEC, "transfer_in_place", move |c: C<'_, B>, device: u32, ptr: u32, len: u32| {
        go(&mut c, Call::one(SpiOp::TransferInPlace, device, ptr, len))
    })?;
    host_fn!(linker, SPEC, "transfer", move |c: C<'_, B>, device: u32, wptr: u32, wlen: u32, rptr: u32, rlen: u32| {
        go(&mut c, Call { device, op: SpiOp::Transfer, write: (wptr, wlen), read: (rptr, rlen) })
    })?;
    host_fn!(linker, SPEC, "write_then_read", move |c: C<'_, B>,
                                                    device: u32,
                                                    wptr: u32,
                                                    wlen: u32,
                                                    rptr: u32,
                                                    rlen: u32| {
        go(&mut c, Call { device, op: SpiOp::WriteThenRead, write: (wptr, wlen), read: (rptr, rlen) })
    })?;
    Ok(())
}

impl<B: Board + Spi> HostModule<B> for SpiModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        link_calls(linker, blocking::<B>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Recorder, code, state};
    use akira_caps::CapabilitySet;
    use embedded_hal_mock::eh1::spi::{Mock, Transaction as T};

    struct Board2 {
        rec: Recorder,
        devices: SpiDevices<Mock<u8>, 2>,
    }

    impl Board for Board2 {
        fn now(&self) -> crate::Instant {
            self.rec.now()
        }
        fn log(&mut self, app: &crate::AppInfo, level: crate::Level, message: &str) {
            self.rec.log(app, level, message)
        }
        fn trace(&mut self, app: &crate::AppInfo, event: Trace<'_>) {
            self.rec.trace(app, event)
        }
    }

    impl Spi for Board2 {
        fn transaction(&mut self, device: u32, ops: &mut [Operation<'_, u8>]) -> Result<(), Errno> {
            self.devices.transaction(device, ops)
        }
    }

    /// An app granted device 0 only; `dev0` and `dev1` are expected.
    fn app(dev0: &[T<u8>], dev1: &[T<u8>]) -> AppState<Board2> {
        let caps = CapabilitySet { spi: Some([0].into_iter().collect()), ..Default::default() };
        let board = Board2 { rec: Recorder::default(), devices: SpiDevices::new([Mock::new(dev0), Mock::new(dev1)]) };
        state(board, &caps)
    }

    /// A one-buffer call on the blocking module.
    fn one(
        memory: &mut GuestMemory<'_>,
        state: &mut AppState<Board2>,
        op: SpiOp,
        device: u32,
        ptr: u32,
        len: u32,
    ) -> Result<i32, Refusal> {
        blocking(memory, state, Call::one(op, device, ptr, len))
    }

    /// A two-buffer call on the blocking module.
    fn two(
        memory: &mut GuestMemory<'_>,
        state: &mut AppState<Board2>,
        op: SpiOp,
        device: u32,
        write: (u32, u32),
        read: (u32, u32),
    ) -> Result<i32, Refusal> {
        blocking(memory, state, Call { device, op, write, read })
    }

    fn done(mut s: AppState<Board2>) -> Vec<String> {
        for d in s.board_mut().devices.devices.iter_mut() {
            d.done();
        }
        core::mem::take(&mut s.board_mut().rec.events)
    }

    fn framed(inner: T<u8>) -> [T<u8>; 3] {
        [T::transaction_start(), inner, T::transaction_end()]
    }

    #[test]
    fn each_call_is_one_chip_select_with_the_exact_bytes() {
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
        let mut s = app(&expected, &[]);
        let mut backing = [0u8; 64];
        backing[0] = 0x06;
        backing[16..20].copy_from_slice(&[0x9f, 0, 0, 0]);
        backing[32..34].copy_from_slice(&[0x05, 0x00]);
        backing[40..44].copy_from_slice(&[0x03, 0x00, 0x10, 0x00]);
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(one(&mut mem, &mut s, SpiOp::Write, 0, 0, 1)), 0);
        assert_eq!(code(one(&mut mem, &mut s, SpiOp::Read, 0, 8, 2)), 0);
        assert_eq!(mem.bytes(8, 2).unwrap(), &[0xef, 0x40]);
        assert_eq!(code(two(&mut mem, &mut s, SpiOp::Transfer, 0, (16, 4), (20, 4))), 0);
        assert_eq!(mem.bytes(20, 4).unwrap(), &[0xff, 0xef, 0x40, 0x14]);
        assert_eq!(code(one(&mut mem, &mut s, SpiOp::TransferInPlace, 0, 32, 2)), 0);
        assert_eq!(mem.bytes(32, 2).unwrap(), &[0xff, 0x02]);
        assert_eq!(code(two(&mut mem, &mut s, SpiOp::WriteThenRead, 0, (40, 4), (48, 3))), 0);
        assert_eq!(mem.bytes(48, 3).unwrap(), &[1, 2, 3]);
        let events = done(s);
        assert_eq!(events.len(), 5);
        assert!(events[4].contains("wrote: [3, 0, 16, 0], read: [1, 2, 3], result: Ok(())"), "{}", events[4]);
    }

    #[test]
    fn the_guard_checks_the_device_before_the_bus_is_touched() {
        let mut s = app(&[], &[]);
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        let denied = Errno::Denied.code();
        assert_eq!(code(one(&mut mem, &mut s, SpiOp::Write, 1, 0, 1)), denied, "device 1 exists but is not granted");
        assert_eq!(code(one(&mut mem, &mut s, SpiOp::Read, 31, 0, 1)), denied);
        assert_eq!(code(two(&mut mem, &mut s, SpiOp::Transfer, 32, (0, 1), (1, 1))), denied, "beyond the id range");
        assert_eq!(code(two(&mut mem, &mut s, SpiOp::WriteThenRead, u32::MAX, (0, 1), (1, 1))), denied);
        assert_eq!(s.guard().denials(Capability::Spi), 4);
        assert!(done(s).iter().all(|e| e.starts_with("Denied")));
    }

    #[test]
    fn bad_pointers_and_lengths_never_reach_the_bus() {
        let mut s = app(&[], &[]);
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        let (fault, big, inval) = (Errno::Fault.code(), Errno::TooLarge.code(), Errno::Invalid.code());
        assert_eq!(code(one(&mut mem, &mut s, SpiOp::Write, 0, 12, 5)), fault);
        assert_eq!(code(one(&mut mem, &mut s, SpiOp::TransferInPlace, 0, u32::MAX, 1)), fault);
        assert_eq!(code(two(&mut mem, &mut s, SpiOp::Transfer, 0, (0, 4), (14, 4))), fault);
        assert_eq!(code(two(&mut mem, &mut s, SpiOp::Transfer, 0, (0, 4), (3, 4))), inval, "overlap");
        assert_eq!(code(one(&mut mem, &mut s, SpiOp::Read, 0, 0, MAX_TRANSFER + 1)), big);
        assert!(done(s).is_empty());
    }

    #[test]
    fn bus_errors_are_io_and_missing_devices_no_such_resource() {
        use embedded_hal::spi::{ErrorKind, ErrorType, SpiDevice};
        struct Broken;
        impl ErrorType for Broken {
            type Error = ErrorKind;
        }
        impl SpiDevice<u8> for Broken {
            fn transaction(&mut self, _: &mut [Operation<'_, u8>]) -> Result<(), ErrorKind> {
                Err(ErrorKind::ChipSelectFault)
            }
        }
        let mut devices = SpiDevices::new([Broken]);
        assert_eq!(devices.transaction(0, &mut [Operation::Write(&[1])]), Err(Errno::Io));
        assert_eq!(devices.transaction(1, &mut [Operation::Write(&[1])]), Err(Errno::NoSuchResource));
    }
}
