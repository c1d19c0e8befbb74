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

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};

use crate::board::{Board, Trace};
use crate::charge::counted;
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state, reply};
use crate::time::Instant;

mod buffer;
#[cfg(test)]
mod tests;

pub use buffer::SerialBuffer;

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
/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::UART.import,
    capability: ModuleCapability::Builtin(Capability::Uart),
    functions: akira_abi::UART.functions,
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
        let go = move |c: &mut C<'_, B>, op: u32, buf: Buf, timeout_us: i64| {
            reply(memory_and_state(c).and_then(|(mut mem, s)| {
                let result = call(&mut mem, s, module, op, buf, timeout_us);
                counted(s, u64::from(buf.len), result)
            }))
        };
        host_fn!(linker, SPEC, "read", move |c: C<'_, B>, port: u32, ptr: u32, len: u32, timeout_us: i64| {
            go(&mut c, OP_READ, Buf { port, ptr, len }, timeout_us)
        })?;
        host_fn!(linker, SPEC, "write", move |c: C<'_, B>, port: u32, ptr: u32, len: u32, timeout_us: i64| {
            go(&mut c, OP_WRITE, Buf { port, ptr, len }, timeout_us)
        })?;
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
