//! `akira:i2c`: I2C devices by bus number and 7-bit address.
//!
//! Boards implement [`I2c`]; most do it by forwarding to an [`I2cBuses`]
//! of embedded-hal 1.0 buses (one HAL type, up to four buses; a shared bus
//! from `embedded-hal-bus` works the same). Every call checks the bus and
//! the address against the app's grant with one bit test
//! ([`akira_caps::Guard::i2c`]) before the bus is touched; app buffers are
//! bounds-checked loans ([`GuestMemory`]), never copied.
//!
//! # Blocking or suspending
//!
//! With [`I2cModule`] a transfer runs on the blocking embedded-hal `I2c`
//! trait, inside the host call; it does not suspend the app. The time it
//! takes is bounded and short: at most [`MAX_TRANSFER`] bytes, which is
//! 26 ms at 400 kHz for the largest transfer, and well under a millisecond
//! for the register reads and writes I2C sensors mostly see, where a
//! scheduler round trip would cost more than the transfer. This is the
//! path for blocking HALs and the simulator.
//!
//! On an async HAL, register [`AsyncI2cModule`](super::i2c_async::AsyncI2cModule)
//! instead: the same functions, checked the same way, but the transfer is
//! queued to a firmware task that owns the bus
//! ([`I2cMailbox`](super::i2c_async::I2cMailbox) over
//! `embedded_hal_async::i2c::I2c`) and the app is suspended until it is
//! done, so a slow or clock-stretched transfer never holds up the
//! firmware or the other apps.
//!
//! # Errors
//!
//! embedded-hal error kinds become codes ([`errno`]): an address nobody
//! acknowledges is [`Errno::NoSuchResource`] (no such device on this bus),
//! a lost arbitration [`Errno::Busy`], everything else [`Errno::Io`].

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};
use embedded_hal::i2c::{self as hal, ErrorKind, NoAcknowledgeSource, Operation};

use crate::board::{Board, Trace};
use crate::charge::counted;
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, memory_and_state, reply};

/// Most bytes one call moves in each direction.
pub const MAX_TRANSFER: u32 = 1024;

/// A board's I2C buses, by number (0–3). Errors are the codes apps see:
/// [`Errno::NoSuchResource`] for a bus the board does not have or an
/// address no device acknowledges, [`Errno::Io`] when the transfer fails.
pub trait I2c {
    /// Runs `ops` on device `addr` (7-bit) of bus `bus` as one transaction,
    /// with the meaning of embedded-hal's `I2c::transaction`: a start,
    /// repeated starts between reads and writes, one stop at the end, and
    /// adjacent writes sent as one.
    fn transaction(&mut self, bus: u32, addr: u8, ops: &mut [Operation<'_>]) -> Result<(), Errno>;
}

/// The code an embedded-hal I2C error becomes.
pub fn errno(kind: ErrorKind) -> Errno {
    match kind {
        ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address) => Errno::NoSuchResource,
        ErrorKind::ArbitrationLoss => Errno::Busy,
        _ => Errno::Io,
    }
}

/// Numbered I2C buses over embedded-hal 1.0: bus `n` is `buses[n]`, up to
/// [`akira_caps::scope::MAX_I2C_BUSES`] of them.
///
/// Each transaction goes to the bus with the most specific embedded-hal
/// call: a single write, read or write-then-read uses `write`, `read` or
/// `write_read` (which HALs often implement more efficiently), anything
/// else `transaction`.
pub struct I2cBuses<T, const N: usize> {
    buses: [T; N],
}

impl<T: hal::I2c, const N: usize> I2cBuses<T, N> {
    const FITS: () = assert!(N <= akira_caps::scope::MAX_I2C_BUSES, "an I2cBuses holds at most 4 buses");

    /// Buses `0..N`.
    pub fn new(buses: [T; N]) -> Self {
        let () = Self::FITS;
        I2cBuses { buses }
    }

    /// Bus `bus`, for firmware code that uses it directly.
    pub fn bus_mut(&mut self, bus: u32) -> Option<&mut T> {
        self.buses.get_mut(bus as usize)
    }

    /// Gives the buses back.
    pub fn into_inner(self) -> [T; N] {
        self.buses
    }
}

impl<T: hal::I2c, const N: usize> I2c for I2cBuses<T, N> {
    fn transaction(&mut self, bus: u32, addr: u8, ops: &mut [Operation<'_>]) -> Result<(), Errno> {
        use hal::Error as _;
        let i2c = self.buses.get_mut(bus as usize).ok_or(Errno::NoSuchResource)?;
        let result = match ops {
            [Operation::Write(w)] => i2c.write(addr, w),
            [Operation::Read(r)] => i2c.read(addr, r),
            [Operation::Write(w), Operation::Read(r)] => i2c.write_read(addr, w, r),
            ops => i2c.transaction(addr, ops),
        };
        result.map_err(|e| errno(e.kind()))
    }
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::I2C.import,
    capability: ModuleCapability::Builtin(Capability::I2c),
    functions: akira_abi::I2C.functions,
};

/// The `akira:i2c` module; the board must implement [`I2c`].
#[derive(Clone, Copy, Debug, Default)]
pub struct I2cModule;

/// Checks the device against the grant; the address then fits 7 bits.
#[inline]
fn device<B: Board>(state: &mut AppState<B>, bus: u32, addr: u32) -> Result<u8, Refusal> {
    state.guarded(|g| g.i2c(bus, addr))?;
    // Granted addresses are 0x08..=0x77.
    u8::try_from(addr).map_err(|_| Errno::Invalid.into())
}

fn length(len: u32, at_least: u32) -> Result<(), Refusal> {
    if len > MAX_TRANSFER {
        Err(Errno::TooLarge.into())
    } else if len < at_least {
        Err(Errno::Invalid.into())
    } else {
        Ok(())
    }
}

fn register(reg: u32) -> Result<u8, Refusal> {
    u8::try_from(reg).map_err(|_| Errno::Invalid.into())
}

/// A checked I2C call: the device, the register and the app's buffers,
/// validated against the grant and the app's memory before any bus work.
/// Both bridge modules for `akira:i2c` (blocking and suspending) run it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub bus: u32,
    pub addr: u8,
    /// The register number written first (`read_reg`, `write_reg`).
    pub reg: Option<u8>,
    /// The bytes to write: `(ptr, len)` in the app's memory.
    pub write: (u32, u32),
    /// Where the bytes read go: `(ptr, len)`; `len` 0 for no read.
    pub read: (u32, u32),
}

/// An `akira:i2c` call as the app made it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Call {
    Write { bus: u32, addr: u32, ptr: u32, len: u32 },
    Read { bus: u32, addr: u32, ptr: u32, len: u32 },
    WriteRead { bus: u32, addr: u32, wptr: u32, wlen: u32, rptr: u32, rlen: u32 },
    ReadReg { bus: u32, addr: u32, reg: u32, ptr: u32, len: u32 },
    WriteReg { bus: u32, addr: u32, reg: u32, ptr: u32, len: u32 },
}

impl Call {
    /// The bytes it moves on the bus, as asked (the register number
    /// included).
    fn bytes(&self) -> u64 {
        match *self {
            Call::Write { len, .. } | Call::Read { len, .. } => u64::from(len),
            Call::WriteRead { wlen, rlen, .. } => u64::from(wlen) + u64::from(rlen),
            Call::ReadReg { len, .. } | Call::WriteReg { len, .. } => u64::from(len) + 1,
        }
    }
}

/// Checks a call: the guard first (one bit test), then the register, the
/// lengths and the app's buffers.
pub(crate) fn check<B: Board>(
    memory: &GuestMemory<'_>,
    state: &mut AppState<B>,
    call: Call,
) -> Result<Request, Refusal> {
    let none = (0, 0);
    let req = match call {
        Call::Write { bus, addr, ptr, len } => {
            let addr = device(state, bus, addr)?;
            length(len, 0)?;
            Request { bus, addr, reg: None, write: (ptr, len), read: none }
        }
        Call::Read { bus, addr, ptr, len } => {
            let addr = device(state, bus, addr)?;
            length(len, 1)?;
            Request { bus, addr, reg: None, write: none, read: (ptr, len) }
        }
        Call::WriteRead { bus, addr, wptr, wlen, rptr, rlen } => {
            let addr = device(state, bus, addr)?;
            length(wlen, 1)?;
            length(rlen, 1)?;
            Request { bus, addr, reg: None, write: (wptr, wlen), read: (rptr, rlen) }
        }
        Call::ReadReg { bus, addr, reg, ptr, len } => {
            let addr = device(state, bus, addr)?;
            let reg = register(reg)?;
            length(len, 1)?;
            Request { bus, addr, reg: Some(reg), write: none, read: (ptr, len) }
        }
        Call::WriteReg { bus, addr, reg, ptr, len } => {
            let addr = device(state, bus, addr)?;
            let reg = register(reg)?;
            length(len, 0)?;
            Request { bus, addr, reg: Some(reg), write: (ptr, len), read: none }
        }
    };
    memory.bytes(req.write.0, req.write.1)?;
    memory.bytes(req.read.0, req.read.1)?;
    if req.write.1 > 0 && req.read.1 > 0 {
        let (w, r) = (req.write.0..req.write.0 + req.write.1, req.read.0..req.read.0 + req.read.1);
        if w.start < r.end && r.start < w.end {
            return Err(Errno::Invalid.into());
        }
    }
    Ok(req)
}

/// Runs a checked request on the blocking bus and reports it to the
/// board.
fn run<B: Board + I2c>(memory: &mut GuestMemory<'_>, state: &mut AppState<B>, req: Request) -> Result<i32, Refusal> {
    let Request { bus, addr, reg, write, read } = req;
    let (w, r) = memory.in_out(write, read)?;
    let prefix = reg.map(|r| [r]);
    let result = {
        let ops: &mut [Operation<'_>] = match (&prefix, read.1 > 0) {
            (None, false) => &mut [Operation::Write(w)],
            (None, true) if write.1 == 0 => &mut [Operation::Read(r)],
            (None, true) => &mut [Operation::Write(w), Operation::Read(r)],
            (Some(p), false) => &mut [Operation::Write(p), Operation::Write(w)],
            (Some(p), true) => &mut [Operation::Write(p), Operation::Read(r)],
        };
        state.board_mut().transaction(bus, addr, ops)
    };
    state.trace(Trace::I2c { bus, addr, reg, wrote: w, read: r, result });
    result?;
    Ok(0)
}

/// Checks and runs a call on the blocking bus.
fn blocking<B: Board + I2c>(memory: &mut GuestMemory<'_>, state: &mut AppState<B>, call: Call) -> Result<i32, Refusal> {
    let req = check(memory, state, call)?;
    run(memory, state, req)
}

#[cfg(test)]
fn write<B: Board + I2c>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    bus: u32,
    addr: u32,
    ptr: u32,
    len: u32,
) -> Result<i32, Refusal> {
    blocking(memory, state, Call::Write { bus, addr, ptr, len })
}

#[cfg(test)]
fn read<B: Board + I2c>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    bus: u32,
    addr: u32,
    ptr: u32,
    len: u32,
) -> Result<i32, Refusal> {
    blocking(memory, state, Call::Read { bus, addr, ptr, len })
}

/// `write_read`'s arguments after bus and address.
#[cfg(test)]
struct Pair {
    wptr: u32,
    wlen: u32,
    rptr: u32,
    rlen: u32,
}

#[cfg(test)]
fn write_read<B: Board + I2c>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    bus: u32,
    addr: u32,
    p: Pair,
) -> Result<i32, Refusal> {
    blocking(memory, state, Call::WriteRead { bus, addr, wptr: p.wptr, wlen: p.wlen, rptr: p.rptr, rlen: p.rlen })
}

#[cfg(test)]
fn read_reg<B: Board + I2c>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    bus: u32,
    addr: u32,
    reg: u32,
    ptr: u32,
    len: u32,
) -> Result<i32, Refusal> {
    blocking(memory, state, Call::ReadReg { bus, addr, reg, ptr, len })
}

#[cfg(test)]
fn write_reg<B: Board + I2c>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    bus: u32,
    addr: u32,
    reg: u32,
    ptr: u32,
    len: u32,
) -> Result<i32, Refusal> {
    blocking(memory, state, Call::WriteReg { bus, addr, reg, ptr, len })
}

/// Defines the five `akira:i2c` functions, each checking its call and
/// handing it to `exec` (blocking, or suspending the app).
pub(crate) fn link_calls<B: Board>(
    linker: &mut Linker<AppState<B>>,
    exec: impl Fn(&mut GuestMemory<'_>, &mut AppState<B>, Call) -> Result<i32, Refusal> + Copy + Send + Sync + 'static,
) -> Result<(), LinkError> {
    type C<'a, B> = Caller<'a, AppState<B>>;
    let go = move |c: &mut C<'_, B>, call: Call| {
        let bytes = call.bytes();
        reply(memory_and_state(c).and_then(|(mut mem, s)| {
            let result = exec(&mut mem, s, call);
            counted(s, bytes, result)
        }))
    };
    host_fn!(linker, SPEC, "write", move |c: C<'_, B>, bus: u32, addr: u32, ptr: u32, len: u32| {
        go(&mut c, Call::Write { bus, addr, ptr, len })
    })?;
    host_fn!(linker, SPEC, "read", move |c: C<'_, B>, bus: u32, addr: u32, ptr: u32, len: u32| {
        go(&mut c, Call::Read { bus, addr, ptr, len })
    })?;
    host_fn!(linker, SPEC, "write_read", move |c: C<'_, B>,
                                               bus: u32,
                                               addr: u32,
                                               wptr: u32,
                                               wlen: u32,
                                               rptr: u32,
                                               rlen: u32| {
        go(&mut c, Call::WriteRead { bus, addr, wptr, wlen, rptr, rlen })
    },)?;
    host_fn!(linker, SPEC, "read_reg", move |c: C<'_, B>, bus: u32, addr: u32, reg: u32, ptr: u32, len: u32| {
        go(&mut c, Call::ReadReg { bus, addr, reg, ptr, len })
    })?;
    host_fn!(linker, SPEC, "write_reg", move |c: C<'_, B>, bus: u32, addr: u32, reg: u32, ptr: u32, len: u32| {
        go(&mut c, Call::WriteReg { bus, addr, reg, ptr, len })
    })?;
    Ok(())
}

impl<B: Board + I2c> HostModule<B> for I2cModule {
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
    use akira_caps::scope::I2cScope;
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction as T};

    /// Two buses of mocks, and the traces.
    struct Board2 {
        rec: Recorder,
        buses: I2cBuses<Mock, 2>,
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

    impl I2c for Board2 {
        fn transaction(&mut self, bus: u32, addr: u8, ops: &mut [Operation<'_>]) -> Result<(), Errno> {
            self.buses.transaction(bus, addr, ops)
        }
    }

    /// An app granted 0x48 on bus 0 and 0x76 on bus 1, with `bus0` and
    /// `bus1` expected on the buses.
    fn app(bus0: &[T], bus1: &[T]) -> AppState<Board2> {
        let mut scope = I2cScope::default();
        scope.buses[0].insert(0x48);
        scope.buses[1].insert(0x76);
        let caps = CapabilitySet { i2c: Some(scope), ..Default::default() };
        let board = Board2 { rec: Recorder::default(), buses: I2cBuses::new([Mock::new(bus0), Mock::new(bus1)]) };
        state(board, &caps)
    }

    fn done(mut s: AppState<Board2>) -> Vec<String> {
        for bus in s.board_mut().buses.buses.iter_mut() {
            bus.done();
        }
        core::mem::take(&mut s.board_mut().rec.events)
    }

    #[test]
    fn each_call_is_the_exact_bus_transaction() {
        let mut s = app(
            &[
                T::write(0x48, vec![0x01, 0x60, 0xa0]),
                T::read(0x48, vec![0x19, 0x60]),
                T::write_read(0x48, vec![0x02], vec![0x4b, 0x00]),
                T::write_read(0x48, vec![0x00], vec![0x19, 0x70]),
                T::transaction_start(0x48),
                T::write(0x48, vec![0x03]),
                T::write(0x48, vec![0x50, 0x00]),
                T::transaction_end(0x48),
                T::write(0x48, vec![]),
            ],
            &[T::write_read(0x76, vec![0xd0], vec![0x60])],
        );
        let mut backing = [0u8; 64];
        backing[..3].copy_from_slice(&[0x01, 0x60, 0xa0]);
        backing[16] = 0x02;
        backing[32..34].copy_from_slice(&[0x50, 0x00]);
        backing[40] = 0xd0;
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(write(&mut mem, &mut s, 0, 0x48, 0, 3)), 0);
        assert_eq!(code(read(&mut mem, &mut s, 0, 0x48, 8, 2)), 0);
        assert_eq!(mem.bytes(8, 2).unwrap(), &[0x19, 0x60]);
        let pair = Pair { wptr: 16, wlen: 1, rptr: 20, rlen: 2 };
        assert_eq!(code(write_read(&mut mem, &mut s, 0, 0x48, pair)), 0);
        assert_eq!(mem.bytes(20, 2).unwrap(), &[0x4b, 0x00]);
        assert_eq!(code(read_reg(&mut mem, &mut s, 0, 0x48, 0x00, 24, 2)), 0);
        assert_eq!(mem.bytes(24, 2).unwrap(), &[0x19, 0x70]);
        assert_eq!(code(write_reg(&mut mem, &mut s, 0, 0x48, 0x03, 32, 2)), 0);
        assert_eq!(code(write(&mut mem, &mut s, 0, 0x48, 0, 0)), 0, "a zero-length write probes the device");
        let pair = Pair { wptr: 40, wlen: 1, rptr: 41, rlen: 1 };
        assert_eq!(code(write_read(&mut mem, &mut s, 1, 0x76, pair)), 0);
        assert_eq!(mem.bytes(41, 1).unwrap(), &[0x60]);
        let events = done(s);
        assert_eq!(events.len(), 7);
        assert!(events[4].contains("reg: Some(3), wrote: [80, 0]"), "{}", events[4]);
    }

    #[test]
    fn the_guard_checks_bus_and_address_before_the_bus_is_touched() {
        // No expectations: any bus access would panic the mock.
        let mut s = app(&[], &[]);
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        let denied = Errno::Denied.code();
        assert_eq!(code(write(&mut mem, &mut s, 0, 0x49, 0, 1)), denied, "other address");
        assert_eq!(code(read(&mut mem, &mut s, 1, 0x48, 0, 1)), denied, "granted address on another bus");
        assert_eq!(code(read_reg(&mut mem, &mut s, 2, 0x48, 0, 0, 1)), denied, "ungranted bus");
        assert_eq!(code(write_reg(&mut mem, &mut s, 9, 0x48, 0, 0, 1)), denied, "no such bus");
        assert_eq!(code(write(&mut mem, &mut s, 0, 0x148, 0, 1)), denied, "beyond 7 bits");
        let pair = Pair { wptr: 0, wlen: 1, rptr: 1, rlen: 1 };
        assert_eq!(code(write_read(&mut mem, &mut s, 0, u32::MAX, pair)), denied);
        assert_eq!(s.guard().denials(Capability::I2c), 6);
        let events = done(s);
        assert!(events.iter().all(|e| e.starts_with("Denied")), "{events:?}");
        assert!(events[0].contains("I2c { bus: 0, addr: 73 }"), "{}", events[0]);
    }

    #[test]
    fn bad_pointers_and_lengths_never_reach_the_bus() {
        let mut s = app(&[], &[]);
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        let (fault, big, inval) = (Errno::Fault.code(), Errno::TooLarge.code(), Errno::Invalid.code());
        assert_eq!(code(write(&mut mem, &mut s, 0, 0x48, 10, 7)), fault);
        assert_eq!(code(read(&mut mem, &mut s, 0, 0x48, u32::MAX, 2)), fault, "wraps around");
        assert_eq!(code(read_reg(&mut mem, &mut s, 0, 0x48, 0, 16, 1)), fault);
        assert_eq!(code(write_reg(&mut mem, &mut s, 0, 0x48, 0, 17, 0)), fault, "even empty, the start must be inside");
        let pair = |wptr, wlen, rptr, rlen| Pair { wptr, wlen, rptr, rlen };
        assert_eq!(code(write_read(&mut mem, &mut s, 0, 0x48, pair(0, 1, 15, 2))), fault);
        assert_eq!(code(write_read(&mut mem, &mut s, 0, 0x48, pair(0, 4, 2, 4))), inval, "overlapping buffers");
        assert_eq!(code(write_read(&mut mem, &mut s, 0, 0x48, pair(0, 0, 2, 4))), inval, "nothing to write");
        assert_eq!(code(read(&mut mem, &mut s, 0, 0x48, 0, 0)), inval, "nothing to read");
        assert_eq!(code(read(&mut mem, &mut s, 0, 0x48, 0, MAX_TRANSFER + 1)), big);
        assert_eq!(code(read_reg(&mut mem, &mut s, 0, 0x48, 256, 0, 1)), inval, "register beyond 8 bits");
        assert!(done(s).is_empty(), "nothing traced: the bus was never used");
    }

    #[test]
    fn bus_errors_become_codes() {
        let mut s = app(
            &[
                T::write(0x48, vec![0x00]).with_error(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)),
                T::read(0x48, vec![0x00]).with_error(ErrorKind::ArbitrationLoss),
                T::write_read(0x48, vec![0x00], vec![0x00]).with_error(ErrorKind::Bus),
            ],
            &[],
        );
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(write(&mut mem, &mut s, 0, 0x48, 0, 1)), Errno::NoSuchResource.code());
        assert_eq!(code(read(&mut mem, &mut s, 0, 0x48, 0, 1)), Errno::Busy.code());
        assert_eq!(code(read_reg(&mut mem, &mut s, 0, 0x48, 0, 0, 1)), Errno::Io.code());
        let events = done(s);
        assert!(events[0].contains("result: Err(NoSuchResource)"), "{}", events[0]);
    }

    #[test]
    fn buses_beyond_the_bank_are_no_such_resource() {
        let mut buses: I2cBuses<Mock, 1> = I2cBuses::new([Mock::new(&[])]);
        assert_eq!(buses.transaction(1, 0x48, &mut [Operation::Write(&[1])]), Err(Errno::NoSuchResource));
        buses.bus_mut(0).unwrap().done();
    }
}
