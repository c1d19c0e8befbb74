//! `wasi_snapshot_preview1`: WASI preview 1 for apps built with a WASI
//! toolchain (C with wasi-libc, Rust `std` for `wasm32-wasip1`).
//!
//! The module is linked only for apps granted the `wasi` capability; each
//! call checks the **part** it needs ([`akira_caps::scope::wasi`]) with one
//! bit test ([`akira_caps::Guard::id`]), so a call outside the grant gets
//! `NOTCAPABLE` and is counted like every denial. Every function of WASI
//! preview 1 is defined, so any WASI app installs; those the firmware does
//! not provide return `NOSYS`. Results are WASI errno values.
//!
//! - **console**: `fd_write` on stdout and stderr goes to [`Board::log`],
//!   one line per message (stderr at [`Level::Error`](crate::Level::Error)).
//! - **stdin**: `fd_read` on fd 0 reads the app's UART port
//!   ([`WasiHost::wasi_serial`]); when nothing was received it suspends
//!   the app until a byte arrives, as `akira:uart` does.
//! - **clock**: the board's monotonic clock; realtime only where the board
//!   has one ([`WasiHost::wall_clock_us`]). `poll_oneoff` on clocks
//!   suspends the app until the earliest deadline, as `akira:timer` does.
//! - **random**: [`WasiHost::wasi_random`].
//! - arguments and environment: the manifest's, copied when the app is
//!   linked (no part: they are the app's own configuration, and
//!   wasi-libc reads them before `main`).
//! - **files**: one directory of files in the app's key-value store
//!   ([`WasiHost::wasi_store`]), within its `storage` quota (see
//!   [`files`]).
//!
//! Boards implement [`WasiHost`]; every method has a default, so a board
//! gives WASI only what it has (a missing store makes file calls `NOSYS`).

use alloc::sync::Arc;
use core::cell::RefCell;

use akira_abi::wasi::errno::{FAULT, INVAL, IO, NOENT, NOSYS, NOTCAPABLE, NOTSUP, SUCCESS, TIMEDOUT, TOO_BIG};
use akira_caps::scope::{WasiScope, wasi};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};
use critical_section::Mutex;
use wasmi::{Caller, FuncType, Linker, Val};

use crate::board::Board;
use crate::errno::Errno;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::modules::rng::Rng;
use crate::modules::storage::KvStore;
use crate::modules::uart::Uart;
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state};
use crate::time::Instant;

pub mod files;
mod io;
#[cfg(test)]
mod tests;

use files::Files;

/// What a board gives WASI beyond [`Board`]. Every method has a default
/// that provides nothing, so `impl WasiHost for MyBoard {}` is a console
/// and a monotonic clock.
pub trait WasiHost: Board {
    /// The key-value store WASI files live in (the one `akira:storage`
    /// uses); `None`: file calls return `NOSYS`.
    fn wasi_store(&mut self) -> Option<&mut dyn KvStore> {
        None
    }
    /// The random number generator `random_get` draws from; `None`:
    /// `NOSYS`.
    fn wasi_random(&mut self) -> Option<&mut dyn Rng> {
        None
    }
    /// The serial ports stdin reads; `None`: reading stdin is `NOSYS`.
    fn wasi_serial(&mut self) -> Option<&mut dyn Uart> {
        None
    }
    /// Microseconds since 1970-01-01 UTC, if the board keeps real time.
    fn wall_clock_us(&self) -> Option<u64> {
        None
    }
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::WASI.import,
    capability: ModuleCapability::Builtin(Capability::Wasi),
    functions: akira_abi::WASI.functions,
};

/// The `wasi_snapshot_preview1` module; the board must implement
/// [`WasiHost`].
#[derive(Clone, Copy, Debug, Default)]
pub struct WasiModule;

/// Most bytes one `fd_read`, `fd_write` or `random_get` moves (a WASI
/// call may move fewer than asked; the libc loops).
pub const MAX_TRANSFER: u32 = 4096;
/// Most iovecs, and most `poll_oneoff` subscriptions, one call takes.
pub const MAX_VECTORS: u32 = 64;

/// A call's failure: a WASI errno, or a trap (exit, suspension, strict
/// denial).
pub(crate) enum Fail {
    Errno(u16),
    Trap(wasmi::Error),
}

impl From<u16> for Fail {
    fn from(e: u16) -> Self {
        Fail::Errno(e)
    }
}

impl From<Errno> for Fail {
    fn from(e: Errno) -> Self {
        Fail::Errno(match e {
            Errno::Denied => NOTCAPABLE,
            Errno::NoSuchResource => NOENT,
            Errno::Invalid => INVAL,
            Errno::Fault => FAULT,
            Errno::Io => IO,
            Errno::Busy => akira_abi::wasi::errno::BUSY,
            Errno::TimedOut => TIMEDOUT,
            Errno::NoSpace => akira_abi::wasi::errno::NOSPC,
            Errno::Unsupported => NOTSUP,
            Errno::TooLarge => TOO_BIG,
        })
    }
}

impl From<Refusal> for Fail {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Errno(e) => e.into(),
            Refusal::Trap(t) => Fail::Trap(t),
        }
    }
}

pub(crate) type Outcome = Result<(), Fail>;

/// What wasmi gets: the errno, or the trap.
fn reply(r: Outcome) -> Result<i32, wasmi::Error> {
    match r {
        Ok(()) => Ok(i32::from(SUCCESS)),
        Err(Fail::Errno(e)) => Ok(i32::from(e)),
        Err(Fail::Trap(t)) => Err(t),
    }
}

/// Checks that the app was granted `part` (counted as a denial if not).
fn part<B: Board>(state: &mut AppState<B>, part: u32) -> Outcome {
    state.guarded(|g| g.id(Capability::Wasi, part)).map_err(Fail::from)
}

/// What one app's WASI functions share: its grant's arguments, environment
/// and stdin port, and its open files.
struct AppWasi {
    scope: WasiScope,
    files: Mutex<RefCell<Files>>,
    /// The unfinished last line written to stdout and to stderr (C writes
    /// stderr unbuffered, a `perror` in pieces): printed when its newline
    /// comes, when it fills, or when the app calls `proc_exit`.
    pending: Mutex<RefCell<[io::Line; 2]>>,
}

impl AppWasi {
    /// Runs `f` on the open-file table inside a short critical section
    /// (never around storage calls: see `io::with_files`).
    fn files<R>(&self, f: impl FnOnce(&mut Files) -> R) -> R {
        critical_section::with(|cs| f(&mut self.files.borrow_ref_mut(cs)))
    }
}

/// Wait operation: a stdin read (`op` also holds the port and length).
const OP_STDIN: u32 = 1;

fn write_u32(mem: &mut GuestMemory<'_>, ptr: u32, v: u32) -> Outcome {
    Ok(mem.write(ptr, &v.to_le_bytes())?)
}

fn write_u64(mem: &mut GuestMemory<'_>, ptr: u32, v: u64) -> Outcome {
    Ok(mem.write(ptr, &v.to_le_bytes())?)
}

fn read_u32(mem: &GuestMemory<'_>, ptr: u32) -> Result<u32, Fail> {
    let b = mem.bytes(ptr, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_u64(mem: &GuestMemory<'_>, ptr: u32) -> Result<u64, Fail> {
    Ok(u64::from(read_u32(mem, ptr)?) | u64::from(read_u32(mem, ptr.wrapping_add(4))?) << 32)
}

/// `args_get` / `environ_get`: the pointers to each NUL-terminated string
/// at `list`, the strings at `buf`. `first` (argv[0]) comes before
/// `strings`.
/// Writes the strings and their pointers; returns how many bytes.
fn strings_get(
    mem: &mut GuestMemory<'_>,
    first: Option<&[u8]>,
    strings: &[u8],
    list: u32,
    buf: u32,
) -> Result<u64, Fail> {
    let total = first.map_or(0, |f| f.len() + 1) + strings.len();
    let count = first.is_some() as usize + strings.iter().filter(|b| **b == 0).count();
    // Check both areas before writing either.
    mem.bytes_mut(buf, total as u32)?;
    mem.bytes_mut(list, 4u32.saturating_mul(count as u32))?;
    let mut at = buf;
    let mut slot = list;
    let mut put = |mem: &mut GuestMemory<'_>, s: &[u8]| -> Outcome {
        write_u32(mem, slot, at)?;
        mem.write(at, s)?;
        mem.write(at + s.len() as u32, &[0])?;
        slot += 4;
        at += s.len() as u32 + 1;
        Ok(())
    };
    if let Some(f) = first {
        put(mem, f)?;
    }
    for s in strings.split(|b| *b == 0).take(count - first.is_some() as usize) {
        put(mem, s)?;
    }
    Ok(total as u64 + 4 * count as u64)
}

fn strings_sizes(mem: &mut GuestMemory<'_>, first: Option<&[u8]>, strings: &[u8], count: u32, size: u32) -> Outcome {
    let n = first.is_some() as u32 + strings.iter().filter(|b| **b == 0).count() as u32;
    let bytes = first.map_or(0, |f| f.len() as u32 + 1) + strings.len() as u32;
    mem.bytes_mut(count, 4)?;
    mem.bytes_mut(size, 4)?;
    write_u32(mem, count, n)?;
    write_u32(mem, size, bytes)
}

/// Clock ids.
const CLOCK_REALTIME: u32 = 0;
const CLOCK_MONOTONIC: u32 = 1;

/// The clock's time in nanoseconds.
fn clock_ns<B: WasiHost>(state: &AppState<B>, id: u32) -> Result<u64, Fail> {
    match id {
        CLOCK_MONOTONIC => Ok(state.board().now().as_micros().saturating_mul(1000)),
        CLOCK_REALTIME => state.board().wall_clock_us().map(|us| us.saturating_mul(1000)).ok_or(Fail::Errno(NOTSUP)),
        2 | 3 => Err(NOTSUP.into()),
        _ => Err(INVAL.into()),
    }
}

/// A stdin read that found nothing: suspends the app until bytes arrive
/// on `port` (completed by [`WasiModule::poll_wait_with_memory`]).
fn stdin_wait<B: Board>(state: &mut AppState<B>, module: ModuleIndex, port: u32, buf: (u32, u32), nread: u32) -> Fail {
    let op = OP_STDIN | port << 4 | buf.1 << 9;
    Fail::Trap(
        match state.suspend(Wait {
            until: Instant::MAX,
            kind: WaitKind::Module { module, op, arg: u64::from(buf.0) << 32 | u64::from(nread) },
        }) {
            Refusal::Trap(t) => t,
            Refusal::Errno(e) => return e.into(),
        },
    )
}

/// Reads what `port` has into `buf`; `Ok(None)` when nothing arrived.
fn stdin_read<B: WasiHost>(state: &mut AppState<B>, port: u32, buf: &mut [u8]) -> Result<Option<usize>, Fail> {
    let serial = state.board_mut().wasi_serial().ok_or(Fail::Errno(NOSYS))?;
    match serial.read(port, buf)? {
        0 => Ok(None),
        n => Ok(Some(n)),
    }
}

impl<B: WasiHost> HostModule<B> for WasiModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        let scope = cx.granted.wasi.as_deref().ok_or(LinkError::NotGranted)?.clone();
        let app = Arc::new(AppWasi {
            scope,
            files: Mutex::new(RefCell::new(Files::default())),
            pending: Mutex::new(RefCell::new(Default::default())),
        });
        io::link(linker, &app, cx.module)?;
        link_env(linker, &app)?;
        link_clock(linker)?;
        // Everything else of preview 1 is defined too, returning NOSYS, so
        // any WASI app installs.
        for f in SPEC.functions {
            if io::PROVIDED.contains(&f.name) || PROVIDED.contains(&f.name) {
                continue;
            }
            let ty = FuncType::new(f.wasm_params().map(wasm_type), f.result.wasm().iter().map(|t| wasm_type(*t)));
            linker.func_new(SPEC.import, f.name, ty, |_, _, out: &mut [Val]| {
                if let Some(slot) = out.first_mut() {
                    *slot = Val::I32(i32::from(NOSYS));
                }
                Ok(())
            })?;
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
        if op & 0xf != OP_STDIN {
            return None;
        }
        let (port, len) = (op >> 4 & 0x1f, op >> 9);
        let (buf, nread) = ((arg >> 32) as u32, arg as u32);
        let done = memory.bytes_mut(buf, len).map_err(Fail::from).and_then(|b| stdin_read(state, port, b)).and_then(
            |n| match n {
                None => Ok(None),
                Some(n) => write_u32(memory, nread, n as u32).map(|()| Some(())),
            },
        );
        match done {
            Ok(None) => None,
            Ok(Some(())) => Some(i32::from(SUCCESS)),
            Err(Fail::Errno(e)) => Some(i32::from(e)),
            Err(Fail::Trap(_)) => Some(i32::from(IO)),
        }
    }
}

fn wasm_type(t: akira_abi::ValType) -> wasmi::ValType {
    match t {
        akira_abi::ValType::I32 => wasmi::ValType::I32,
        akira_abi::ValType::I64 => wasmi::ValType::I64,
        akira_abi::ValType::F32 => wasmi::ValType::F32,
        akira_abi::ValType::F64 => wasmi::ValType::F64,
    }
}

/// The functions this file defines (`io` defines its own list).
const PROVIDED: [&str; 9] = [
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "poll_oneoff",
    "proc_exit",
    "sched_yield",
];

type C<'a, B> = Caller<'a, AppState<B>>;

fn link_env<B: WasiHost>(linker: &mut Linker<AppState<B>>, app: &Arc<AppWasi>) -> Result<(), LinkError> {
    let a = app.clone();
    crate::host_fn!(linker, SPEC, "args_get", move |c: C<'_, B>, list: u32, buf: u32| {
        reply(memory_and_state(&mut c).map_err(Fail::from).and_then(|(mut mem, s)| {
            let n = strings_get(&mut mem, Some(s.info().name.as_bytes()), &a.scope.args, list, buf)?;
            s.work(n);
            Ok(())
        }))
    })?;
    let a = app.clone();
    crate::host_fn!(linker, SPEC, "args_sizes_get", move |c: C<'_, B>, count: u32, size: u32| {
        reply(memory_and_state(&mut c).map_err(Fail::from).and_then(|(mut mem, s)| {
            strings_sizes(&mut mem, Some(s.info().name.as_bytes()), &a.scope.args, count, size)
        }))
    })?;
    let a = app.clone();
    crate::host_fn!(linker, SPEC, "environ_get", move |c: C<'_, B>, list: u32, buf: u32| {
        reply(memory_and_state(&mut c).map_err(Fail::from).and_then(|(mut mem, s)| {
            let n = strings_get(&mut mem, None, &a.scope.env, list, buf)?;
            s.work(n);
            Ok(())
        }))
    })?;
    let a = app.clone();
    crate::host_fn!(linker, SPEC, "environ_sizes_get", move |c: C<'_, B>, count: u32, size: u32| {
        reply(
            memory_and_state(&mut c)
                .map_err(Fail::from)
                .and_then(|(mut mem, _)| strings_sizes(&mut mem, None, &a.scope.env, count, size)),
        )
    })?;
    let a = app.clone();
    crate::host_fn!(linker, SPEC, "proc_exit", move |c: C<'_, B>, code: i32| -> Result<(), wasmi::Error> {
        io::flush_console(c.data_mut(), &a);
        Err(wasmi::Error::i32_exit(code))
    })?;
    crate::host_fn!(linker, SPEC, "sched_yield", |c: C<'_, B>| {
        let state = c.data_mut();
        let now = state.board().now();
        reply(Err(state.suspend(Wait { until: now, kind: WaitKind::Yield }).into()))
    })?;
    Ok(())
}

fn link_clock<B: WasiHost>(linker: &mut Linker<AppState<B>>) -> Result<(), LinkError> {
    crate::host_fn!(linker, SPEC, "clock_res_get", |c: C<'_, B>, id: u32, out: u32| {
        reply(memory_and_state(&mut c).map_err(Fail::from).and_then(|(mut mem, s)| {
            part(s, wasi::CLOCK)?;
            clock_ns(s, id)?;
            write_u64(&mut mem, out, 1000)
        }))
    })?;
    crate::host_fn!(linker, SPEC, "clock_time_get", |c: C<'_, B>, id: u32, _precision: i64, out: u32| {
        reply(memory_and_state(&mut c).map_err(Fail::from).and_then(|(mut mem, s)| {
            part(s, wasi::CLOCK)?;
            let ns = clock_ns(s, id)?;
            write_u64(&mut mem, out, ns)
        }))
    })?;
    crate::host_fn!(linker, SPEC, "poll_oneoff", |c: C<'_, B>, subs: u32, events: u32, n: u32, nevents: u32| {
        reply(memory_and_state(&mut c).map_err(Fail::from).and_then(|(mut mem, s)| {
            part(s, wasi::CLOCK)?;
            poll_oneoff(&mut mem, s, (subs, n), events, nevents)
        }))
    })?;
    Ok(())
}

/// Sizes of WASI's `subscription` and `event`.
const SUBSCRIPTION: u32 = 48;
const EVENT: u32 = 32;

/// `poll_oneoff`: fd subscriptions get an event with `NOTSUP` at once;
/// otherwise the app sleeps until the earliest clock deadline and gets
/// that subscription's event.
fn poll_oneoff<B: WasiHost>(
    mem: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    (subs, n): (u32, u32),
    events: u32,
    nevents: u32,
) -> Outcome {
    if n == 0 || n > MAX_VECTORS {
        return Err(INVAL.into());
    }
    mem.bytes(subs, n * SUBSCRIPTION)?;
    mem.bytes_mut(events, n * EVENT)?;
    mem.bytes_mut(nevents, 4)?;
    let now = state.board().now();
    let mut earliest: Option<(Instant, u64)> = None;
    let mut written = 0u32;
    for i in 0..n {
        let at = subs + i * SUBSCRIPTION;
        let userdata = read_u64(mem, at)?;
        let tag = mem.bytes(at + 8, 1)?[0];
        if tag != 0 {
            // An fd readiness subscription: not provided.
            let event = events + written * EVENT;
            mem.bytes_mut(event, EVENT)?.fill(0);
            write_u64(mem, event, userdata)?;
            mem.write(event + 8, &NOTSUP.to_le_bytes())?;
            mem.write(event + 10, &[tag])?;
            written += 1;
            continue;
        }
        let id = read_u32(mem, at + 16)?;
        let timeout_ns = read_u64(mem, at + 24)?;
        let absolute = mem.bytes(at + 40, 2)?[0] & 1 == 1;
        let micros = timeout_ns.div_ceil(1000);
        let deadline = match (id, absolute) {
            (CLOCK_MONOTONIC, true) => Instant::from_micros(micros),
            (CLOCK_REALTIME, true) => {
                let wall = state.board().wall_clock_us().ok_or(Fail::Errno(NOTSUP))?;
                now.saturating_add(core::time::Duration::from_micros(micros.saturating_sub(wall)))
            }
            (CLOCK_MONOTONIC | CLOCK_REALTIME, false) => now.saturating_add(core::time::Duration::from_micros(micros)),
            _ => return Err(INVAL.into()),
        };
        if earliest.is_none_or(|(t, _)| deadline < t) {
            earliest = Some((deadline, userdata));
        }
    }
    if written > 0 {
        return write_u32(mem, nevents, written);
    }
    let Some((deadline, userdata)) = earliest else { return Err(INVAL.into()) };
    // The event is written before the app sleeps: nothing can change it.
    mem.bytes_mut(events, EVENT)?.fill(0);
    write_u64(mem, events, userdata)?;
    write_u32(mem, nevents, 1)?;
    if deadline <= now {
        return Ok(());
    }
    Err(state.suspend(Wait { until: deadline, kind: WaitKind::Sleep }).into())
}

fn iovec(mem: &GuestMemory<'_>, iovs: u32, i: u32) -> Result<(u32, u32), Fail> {
    let at = i.checked_mul(8).and_then(|o| iovs.checked_add(o)).ok_or(Fail::Errno(FAULT))?;
    Ok((read_u32(mem, at)?, read_u32(mem, at.wrapping_add(4))?))
}
