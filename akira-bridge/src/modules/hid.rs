//! `akira:hid`: the board as a USB or BLE HID device (keyboard, mouse,
//! gamepad, consumer control, raw reports), and input events for the app.
//!
//! Boards implement [`Hid`] over their HID stack (usbd-hid or
//! embassy-usb's `HidWriter` on USB, a HID-over-GATT service on BLE): the
//! module builds the standard boot-protocol reports ([`Report`]) and the
//! board sends them. [`Hid::room`] says how many reports the stack can
//! queue now; when it is 0 (the host has not polled the previous ones) the
//! app is suspended and the report sent when there is room, or
//! `AKIRA_ETIMEDOUT` after [`SEND_TIMEOUT_US`].
//!
//! Each report call checks its device kind ([`akira_caps::scope::hid`])
//! with one bit test: an app granted `hid = ["keyboard"]` cannot move the
//! mouse. `type_text` turns ASCII into key presses and releases (US
//! layout, [`ascii_key`]).
//!
//! Input events ([`Event`]: buttons of the device, the keyboard LEDs the
//! host sets) wait in a bounded queue on the board ([`EventQueue`]);
//! `next_event` takes the oldest, suspending the app until one arrives.
//! Events are input to the app, not output to the host, so taking one
//! needs only the `hid` capability (any kind); with several apps, each
//! event goes to whichever asks first.

use crate::host::{Caller, Linker};
use akira_caps::scope::hid::{CONSUMER, GAMEPAD, KEYBOARD, MOUSE, RAW};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};

use crate::board::{Board, Trace};
use crate::charge::counted;
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state, reply};
use crate::time::Instant;

mod event;
mod report;
#[cfg(test)]
mod tests;

pub use event::{EVENT_SIZE, Event, EventKind, EventQueue};
pub use report::{MAX_KEYS, MAX_RAW, MAX_TEXT, Report, SEND_TIMEOUT_US, ascii_key, modifiers};

/// A board's HID device. Errors are the codes apps see:
/// [`Errno::NoSuchResource`] for a device kind the board does not offer,
/// [`Errno::Io`] when the link is down (USB not enumerated, no BLE
/// connection).
pub trait Hid {
    /// How many reports of device kind `kind` can be queued now without
    /// blocking; 0 while the host has not taken the earlier ones.
    fn room(&mut self, kind: u32) -> Result<usize, Errno>;
    /// Queues `report` for the host; called only after [`Hid::room`] said
    /// there is room for it.
    fn send(&mut self, report: &Report<'_>) -> Result<(), Errno>;
    /// Takes the oldest input event, if any.
    fn next_event(&mut self) -> Option<Event>;
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::HID.import,
    capability: ModuleCapability::Builtin(Capability::Hid),
    functions: akira_abi::HID.functions,
};

/// The `akira:hid` module; the board must implement [`Hid`].
#[derive(Clone, Copy, Debug, Default)]
pub struct HidModule;

/// A call that may have to wait, as plain data (it is packed into the
/// wait's argument and rebuilt when the wait is polled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Keyboard { modifiers: u8, ptr: u32, n: u8 },
    Type { ptr: u32, len: u32 },
    Mouse { buttons: u8, x: i8, y: i8, wheel: i8 },
    Gamepad { buttons: u16, x: i8, y: i8, rx: i8, ry: i8 },
    Consumer { usage: u16 },
    Raw { ptr: u32, len: u32 },
    Event { ptr: u32 },
}

impl Op {
    fn pack(self) -> (u32, u64) {
        let b = |v: i8| u64::from(v as u8);
        match self {
            Op::Keyboard { modifiers, ptr, n } => (1, u64::from(ptr) | u64::from(n) << 32 | u64::from(modifiers) << 40),
            Op::Type { ptr, len } => (2, u64::from(ptr) | u64::from(len) << 32),
            Op::Mouse { buttons, x, y, wheel } => (3, u64::from(buttons) | b(x) << 8 | b(y) << 16 | b(wheel) << 24),
            Op::Gamepad { buttons, x, y, rx, ry } => {
                (4, u64::from(buttons) | b(x) << 16 | b(y) << 24 | b(rx) << 32 | b(ry) << 40)
            }
            Op::Consumer { usage } => (5, u64::from(usage)),
            Op::Raw { ptr, len } => (6, u64::from(ptr) | u64::from(len) << 32),
            Op::Event { ptr } => (7, u64::from(ptr)),
        }
    }

    fn unpack(op: u32, arg: u64) -> Option<Op> {
        let byte = |shift: u32| (arg >> shift) as u8;
        let ptr = arg as u32;
        Some(match op {
            1 => Op::Keyboard { modifiers: byte(40), ptr, n: byte(32) },
            2 => Op::Type { ptr, len: (arg >> 32) as u32 },
            3 => Op::Mouse { buttons: byte(0), x: byte(8) as i8, y: byte(16) as i8, wheel: byte(24) as i8 },
            4 => Op::Gamepad {
                buttons: arg as u16,
                x: byte(16) as i8,
                y: byte(24) as i8,
                rx: byte(32) as i8,
                ry: byte(40) as i8,
            },
            5 => Op::Consumer { usage: arg as u16 },
            6 => Op::Raw { ptr, len: (arg >> 32) as u32 },
            7 => Op::Event { ptr },
            _ => return None,
        })
    }

    /// The device kind the call sends to (`None` for `next_event`).
    fn kind(self) -> Option<u32> {
        match self {
            Op::Keyboard { .. } | Op::Type { .. } => Some(KEYBOARD),
            Op::Mouse { .. } => Some(MOUSE),
            Op::Gamepad { .. } => Some(GAMEPAD),
            Op::Consumer { .. } => Some(CONSUMER),
            Op::Raw { .. } => Some(RAW),
            Op::Event { .. } => None,
        }
    }
}

fn send<B: Board + Hid>(state: &mut AppState<B>, report: &Report<'_>) -> Result<(), Errno> {
    state.board_mut().send(report)?;
    let mut buf = [0u8; MAX_RAW];
    let bytes = report.encode(&mut buf);
    state.trace(Trace::HidReport { kind: report.kind(), bytes });
    Ok(())
}

/// One attempt at `op`: `Some(result)` when done, `None` when the board
/// has no room (or no event) yet.
fn attempt<B: Board + Hid>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    op: Op,
) -> Result<Option<i32>, Errno> {
    if let Op::Event { ptr } = op {
        let Some(event) = state.board_mut().next_event() else { return Ok(None) };
        memory.write(ptr, &event.to_bytes())?;
        return Ok(Some(EVENT_SIZE as i32));
    }
    let room = op.kind().map_or(Ok(0), |k| state.board_mut().room(k))?;
    if let Op::Type { ptr, len } = op {
        // Each character is a press and a release; only whole characters
        // are sent, so no key is left held down.
        let text = memory.bytes(ptr, len)?;
        let n = (room / 2).min(text.len());
        for &c in &text[..n] {
            let (modifiers, key) = ascii_key(c).ok_or(Errno::Invalid)?;
            send(state, &Report::Keyboard { modifiers, keys: [key, 0, 0, 0, 0, 0] })?;
            send(state, &Report::Keyboard { modifiers: 0, keys: [0; MAX_KEYS] })?;
        }
        return Ok((n > 0).then_some(n as i32));
    }
    if room == 0 {
        return Ok(None);
    }
    let report = match op {
        Op::Keyboard { modifiers, ptr, n } => {
            let mut keys = [0u8; MAX_KEYS];
            keys[..usize::from(n)].copy_from_slice(memory.bytes(ptr, n.into())?);
            Report::Keyboard { modifiers, keys }
        }
        Op::Mouse { buttons, x, y, wheel } => Report::Mouse { buttons, x, y, wheel },
        Op::Gamepad { buttons, x, y, rx, ry } => Report::Gamepad { buttons, x, y, rx, ry },
        Op::Consumer { usage } => Report::Consumer { usage },
        Op::Raw { ptr, len } => Report::Raw(memory.bytes(ptr, len)?),
        Op::Type { .. } | Op::Event { .. } => return Err(Errno::Invalid),
    };
    send(state, &report)?;
    Ok(Some(0))
}

/// Runs `op`, suspending the app until it can complete (or `until`).
fn call<B: Board + Hid>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    op: Op,
    until: Instant,
) -> Result<i32, Refusal> {
    if let Some(done) = attempt(memory, state, op)? {
        return Ok(done);
    }
    if until <= state.board().now() {
        return Err(Errno::TimedOut.into());
    }
    let (op, arg) = op.pack();
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op, arg } }))
}

fn report_deadline<B: Board>(state: &AppState<B>) -> Instant {
    state.board().now().saturating_add(core::time::Duration::from_micros(SEND_TIMEOUT_US))
}

/// An app's signed argument as an axis value (-127..=127).
fn axis(v: u32) -> Result<i8, Errno> {
    i8::try_from(v as i32).ok().filter(|&a| a != i8::MIN).ok_or(Errno::Invalid)
}

/// Checks a report call's arguments, its kind with the guard, and the
/// memory it reads; then sends (or waits to).
fn report<B: Board + Hid>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    op: Result<Op, Errno>,
) -> Result<i32, Refusal> {
    let op = op?;
    if let Some(kind) = op.kind() {
        state.guarded(|g| g.id(Capability::Hid, kind))?;
    }
    match op {
        Op::Keyboard { ptr, n, .. } => {
            memory.bytes(ptr, n.into())?;
        }
        Op::Raw { ptr, len } => {
            memory.bytes(ptr, len)?;
        }
        Op::Type { ptr, len } => {
            // Every character is checked before any is typed.
            let text = memory.bytes(ptr, len)?;
            if text.iter().any(|&c| ascii_key(c).is_none()) {
                return Err(Errno::Invalid.into());
            }
            if len == 0 {
                return Ok(0);
            }
        }
        _ => {}
    }
    let until = report_deadline(state);
    call(memory, state, module, op, until)
}

fn keyboard_op(modifiers: u32, ptr: u32, n: u32) -> Result<Op, Errno> {
    let modifiers = u8::try_from(modifiers).map_err(|_| Errno::Invalid)?;
    if n as usize > MAX_KEYS {
        return Err(Errno::TooLarge);
    }
    Ok(Op::Keyboard { modifiers, ptr, n: n as u8 })
}

fn type_op(ptr: u32, len: u32) -> Result<Op, Errno> {
    if len > MAX_TEXT {
        return Err(Errno::TooLarge);
    }
    Ok(Op::Type { ptr, len })
}

fn mouse_op(buttons: u32, x: u32, y: u32, wheel: u32) -> Result<Op, Errno> {
    let buttons = u8::try_from(buttons).map_err(|_| Errno::Invalid)?;
    Ok(Op::Mouse { buttons, x: axis(x)?, y: axis(y)?, wheel: axis(wheel)? })
}

fn gamepad_op(buttons: u32, x: u32, y: u32, rx: u32, ry: u32) -> Result<Op, Errno> {
    let buttons = u16::try_from(buttons).map_err(|_| Errno::Invalid)?;
    Ok(Op::Gamepad { buttons, x: axis(x)?, y: axis(y)?, rx: axis(rx)?, ry: axis(ry)? })
}

fn consumer_op(usage: u32) -> Result<Op, Errno> {
    Ok(Op::Consumer { usage: u16::try_from(usage).map_err(|_| Errno::Invalid)? })
}

fn raw_op(ptr: u32, len: u32) -> Result<Op, Errno> {
    if len as usize > MAX_RAW {
        return Err(Errno::TooLarge);
    }
    Ok(Op::Raw { ptr, len })
}

fn next_event<B: Board + Hid>(
    memory: &mut GuestMemory<'_>,
    state: &mut AppState<B>,
    module: ModuleIndex,
    (ptr, len): (u32, u32),
    timeout_us: i64,
) -> Result<i32, Refusal> {
    if len < EVENT_SIZE {
        return Err(Errno::Invalid.into());
    }
    // Checked now, so a suspended call holds a valid loan.
    memory.bytes_mut(ptr, EVENT_SIZE)?;
    let until = match u64::try_from(timeout_us) {
        Ok(us) => state.board().now().saturating_add(core::time::Duration::from_micros(us)),
        Err(_) => Instant::MAX,
    };
    call(memory, state, module, Op::Event { ptr }, until)
}

impl<B: Board + Hid> HostModule<B> for HidModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        let module = cx.module;
        let go = move |c: &mut C<'_, B>, op: Result<Op, Errno>| {
            // Text and raw reports move their bytes; the others a report.
            let bytes = match op {
                Ok(Op::Type { len, .. } | Op::Raw { len, .. }) => u64::from(len),
                _ => 0,
            };
            reply(memory_and_state(c).and_then(|(mut mem, s)| {
                let result = report(&mut mem, s, module, op);
                counted(s, bytes, result)
            }))
        };
        host_fn!(linker, SPEC, "keyboard", move |c: C<'_, B>, modifiers: u32, ptr: u32, n: u32| {
            go(&mut c, keyboard_op(modifiers, ptr, n))
        })?;
        host_fn!(linker, SPEC, "type_text", move |c: C<'_, B>, ptr: u32, len: u32| go(&mut c, type_op(ptr, len)))?;
        host_fn!(linker, SPEC, "mouse", move |c: C<'_, B>, buttons: u32, x: u32, y: u32, wheel: u32| {
            go(&mut c, mouse_op(buttons, x, y, wheel))
        })?;
        host_fn!(linker, SPEC, "gamepad", move |c: C<'_, B>, buttons: u32, x: u32, y: u32, rx: u32, ry: u32| {
            go(&mut c, gamepad_op(buttons, x, y, rx, ry))
        })?;
        host_fn!(linker, SPEC, "consumer", move |c: C<'_, B>, usage: u32| go(&mut c, consumer_op(usage)))?;
        host_fn!(linker, SPEC, "raw", move |c: C<'_, B>, ptr: u32, len: u32| go(&mut c, raw_op(ptr, len)))?;
        host_fn!(linker, SPEC, "next_event", move |c: C<'_, B>, ptr: u32, len: u32, timeout_us: i64| {
            reply(
                memory_and_state(&mut c)
                    .and_then(|(mut mem, s)| next_event(&mut mem, s, module, (ptr, len), timeout_us)),
            )
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
        let Some(op) = Op::unpack(op, arg) else { return Some(Errno::Invalid.code()) };
        match attempt(memory, state, op) {
            Ok(done) => done,
            Err(e) => Some(e.code()),
        }
    }
}
