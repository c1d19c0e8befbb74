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

use akira_caps::scope::hid::{CONSUMER, GAMEPAD, KEYBOARD, MOUSE, RAW};
use akira_caps::{Capability, ModuleCapability, ModuleSpec, imports::builtin_import};
use wasmi::{Caller, Linker};

use super::{experimental, sig};
use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, memory_and_state, reply};
use crate::time::Instant;

/// Longest raw report, in bytes.
pub const MAX_RAW: usize = 64;
/// Most keys one keyboard report holds down (the boot protocol's six).
pub const MAX_KEYS: usize = 6;
/// Longest text one `type_text` call takes, in bytes.
pub const MAX_TEXT: u32 = 256;
/// Size of an event in app memory, in bytes.
pub const EVENT_SIZE: u32 = 8;
/// How long a report waits for room before `AKIRA_ETIMEDOUT`.
pub const SEND_TIMEOUT_US: u64 = 1_000_000;

/// Keyboard modifier bits (the first byte of a keyboard report).
pub mod modifiers {
    /// Left Control.
    pub const LEFT_CTRL: u8 = 0x01;
    /// Left Shift.
    pub const LEFT_SHIFT: u8 = 0x02;
    /// Left Alt.
    pub const LEFT_ALT: u8 = 0x04;
    /// Left GUI (Windows, Command).
    pub const LEFT_GUI: u8 = 0x08;
    /// Right Control.
    pub const RIGHT_CTRL: u8 = 0x10;
    /// Right Shift.
    pub const RIGHT_SHIFT: u8 = 0x20;
    /// Right Alt.
    pub const RIGHT_ALT: u8 = 0x40;
    /// Right GUI.
    pub const RIGHT_GUI: u8 = 0x80;
}

/// One HID report, in the layouts of [`Report::encode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Report<'a> {
    /// Keyboard (boot protocol): modifier bits and up to six keys held
    /// down (HID usage ids, page 0x07; 0 = none).
    Keyboard {
        /// [`modifiers`] bits.
        modifiers: u8,
        /// Keys held down.
        keys: [u8; MAX_KEYS],
    },
    /// Mouse (boot protocol plus a wheel): buttons and relative motion.
    Mouse {
        /// Bit 0 left, 1 right, 2 middle.
        buttons: u8,
        /// Right is positive.
        x: i8,
        /// Down is positive.
        y: i8,
        /// Away from the user is positive.
        wheel: i8,
    },
    /// Gamepad: 16 buttons and two sticks.
    Gamepad {
        /// Bit n: button n + 1.
        buttons: u16,
        /// Left stick x.
        x: i8,
        /// Left stick y.
        y: i8,
        /// Right stick x.
        rx: i8,
        /// Right stick y.
        ry: i8,
    },
    /// Consumer control: one usage (page 0x0C, e.g. 0xE9 volume up); 0
    /// releases.
    Consumer {
        /// The usage id.
        usage: u16,
    },
    /// Raw bytes for a vendor-defined report.
    Raw(&'a [u8]),
}

impl Report<'_> {
    /// The device kind ([`akira_caps::scope::hid`] number).
    pub fn kind(&self) -> u32 {
        match self {
            Report::Keyboard { .. } => KEYBOARD,
            Report::Mouse { .. } => MOUSE,
            Report::Gamepad { .. } => GAMEPAD,
            Report::Consumer { .. } => CONSUMER,
            Report::Raw(_) => RAW,
        }
    }

    /// The report's bytes: keyboard `[modifiers, 0, k1..k6]`, mouse
    /// `[buttons, x, y, wheel]`, gamepad `[buttons lo, hi, x, y, rx, ry]`,
    /// consumer `[usage lo, hi]`, raw as given (at most [`MAX_RAW`]).
    pub fn encode<'b>(&self, buf: &'b mut [u8; MAX_RAW]) -> &'b [u8] {
        let n = match *self {
            Report::Keyboard { modifiers, keys } => {
                buf[0] = modifiers;
                buf[1] = 0;
                buf[2..8].copy_from_slice(&keys);
                8
            }
            Report::Mouse { buttons, x, y, wheel } => {
                buf[..4].copy_from_slice(&[buttons, x as u8, y as u8, wheel as u8]);
                4
            }
            Report::Gamepad { buttons, x, y, rx, ry } => {
                let [lo, hi] = buttons.to_le_bytes();
                buf[..6].copy_from_slice(&[lo, hi, x as u8, y as u8, rx as u8, ry as u8]);
                6
            }
            Report::Consumer { usage } => {
                buf[..2].copy_from_slice(&usage.to_le_bytes());
                2
            }
            Report::Raw(bytes) => {
                let n = bytes.len().min(MAX_RAW);
                buf[..n].copy_from_slice(&bytes[..n]);
                n
            }
        };
        &buf[..n]
    }
}

/// What an input event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u16)]
pub enum EventKind {
    /// A button of the device went down (`code`: the button).
    Pressed = 1,
    /// A button of the device went up (`code`: the button).
    Released = 2,
    /// The host set the keyboard LEDs (`value`: bit 0 Num Lock, 1 Caps
    /// Lock, 2 Scroll Lock).
    Leds = 3,
}

/// An input event, as the app receives it: 8 bytes, `kind` (u16), `code`
/// (u16), `value` (i32), little-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Which button (0 for [`EventKind::Leds`]).
    pub code: u16,
    /// The LED bits for [`EventKind::Leds`], else 0.
    pub value: i32,
}

impl Event {
    /// Button `code` went down.
    pub const fn pressed(code: u16) -> Event {
        Event { kind: EventKind::Pressed, code, value: 0 }
    }

    /// Button `code` went up.
    pub const fn released(code: u16) -> Event {
        Event { kind: EventKind::Released, code, value: 0 }
    }

    /// The event's 8 bytes in app memory.
    pub fn to_bytes(&self) -> [u8; EVENT_SIZE as usize] {
        let mut b = [0u8; EVENT_SIZE as usize];
        b[..2].copy_from_slice(&(self.kind as u16).to_le_bytes());
        b[2..4].copy_from_slice(&self.code.to_le_bytes());
        b[4..].copy_from_slice(&self.value.to_le_bytes());
        b
    }
}

/// A bounded queue of input events for a board: the oldest are taken
/// first; when full, new events are dropped and counted.
#[derive(Debug, Default)]
pub struct EventQueue<const N: usize> {
    events: heapless::Deque<Event, N>,
    dropped: u32,
}

impl<const N: usize> EventQueue<N> {
    /// An empty queue.
    pub const fn new() -> Self {
        EventQueue { events: heapless::Deque::new(), dropped: 0 }
    }

    /// Adds an event; `false` (and counted) when the queue is full.
    pub fn push(&mut self, event: Event) -> bool {
        let ok = self.events.push_back(event).is_ok();
        if !ok {
            self.dropped = self.dropped.saturating_add(1);
        }
        ok
    }

    /// Takes the oldest event.
    pub fn pop(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }
}

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

/// The key (modifier bits, usage id) that types ASCII `c` on a US layout:
/// letters, digits, punctuation, space, `\n` (Enter), `\t` (Tab) and
/// `\x08` (Backspace). `None` for other bytes.
pub const fn ascii_key(c: u8) -> Option<(u8, u8)> {
    const SHIFT: u8 = modifiers::LEFT_SHIFT;
    Some(match c {
        b'a'..=b'z' => (0, 0x04 + (c - b'a')),
        b'A'..=b'Z' => (SHIFT, 0x04 + (c - b'A')),
        b'1'..=b'9' => (0, 0x1e + (c - b'1')),
        b'0' => (0, 0x27),
        b'\n' => (0, 0x28),
        0x08 => (0, 0x2a),
        b'\t' => (0, 0x2b),
        b' ' => (0, 0x2c),
        b'-' => (0, 0x2d),
        b'=' => (0, 0x2e),
        b'[' => (0, 0x2f),
        b']' => (0, 0x30),
        b'\\' => (0, 0x31),
        b';' => (0, 0x33),
        b'\'' => (0, 0x34),
        b'`' => (0, 0x35),
        b',' => (0, 0x36),
        b'.' => (0, 0x37),
        b'/' => (0, 0x38),
        b'!' => (SHIFT, 0x1e),
        b'@' => (SHIFT, 0x1f),
        b'#' => (SHIFT, 0x20),
        b'$' => (SHIFT, 0x21),
        b'%' => (SHIFT, 0x22),
        b'^' => (SHIFT, 0x23),
        b'&' => (SHIFT, 0x24),
        b'*' => (SHIFT, 0x25),
        b'(' => (SHIFT, 0x26),
        b')' => (SHIFT, 0x27),
        b'_' => (SHIFT, 0x2d),
        b'+' => (SHIFT, 0x2e),
        b'{' => (SHIFT, 0x2f),
        b'}' => (SHIFT, 0x30),
        b'|' => (SHIFT, 0x31),
        b':' => (SHIFT, 0x33),
        b'"' => (SHIFT, 0x34),
        b'~' => (SHIFT, 0x35),
        b'<' => (SHIFT, 0x36),
        b'>' => (SHIFT, 0x37),
        b'?' => (SHIFT, 0x38),
        _ => return None,
    })
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: builtin_import(Capability::Hid),
    capability: ModuleCapability::Builtin(Capability::Hid),
    functions: &[
        experimental(
            "keyboard",
            sig::III,
            sig::I,
            "keyboard(modifiers, keys, n): one keyboard report holding n (<= 6) key usage ids from keys; 0",
        ),
        experimental(
            "type_text",
            sig::II,
            sig::I,
            "type_text(ptr, len): types ASCII as key presses and releases; characters typed (>= 1)",
        ),
        experimental("mouse", sig::IIII, sig::I, "mouse(buttons, dx, dy, wheel): one mouse report; 0"),
        experimental("gamepad", sig::IIIII, sig::I, "gamepad(buttons, x, y, rx, ry): one gamepad report; 0"),
        experimental("consumer", sig::I, sig::I, "consumer(usage): one consumer-control report (0 releases); 0"),
        experimental("raw", sig::II, sig::I, "raw(ptr, len): one raw report of len (<= 64) bytes; 0"),
        experimental(
            "next_event",
            sig::IIL,
            sig::I,
            "next_event(ptr, len, timeout_us): the oldest input event, 8 bytes at ptr, suspending until one; 8",
        ),
    ],
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
        let m = SPEC.import;
        let module = cx.module;
        let go = move |c: &mut C<'_, B>, op: Result<Op, Errno>| {
            reply(memory_and_state(c).and_then(|(mut mem, s)| report(&mut mem, s, module, op)))
        };
        linker.func_wrap(m, "keyboard", move |mut c: C<'_, B>, modifiers: u32, ptr: u32, n: u32| {
            go(&mut c, keyboard_op(modifiers, ptr, n))
        })?;
        linker.func_wrap(m, "type_text", move |mut c: C<'_, B>, ptr: u32, len: u32| go(&mut c, type_op(ptr, len)))?;
        linker.func_wrap(m, "mouse", move |mut c: C<'_, B>, buttons: u32, x: u32, y: u32, wheel: u32| {
            go(&mut c, mouse_op(buttons, x, y, wheel))
        })?;
        linker.func_wrap(m, "gamepad", move |mut c: C<'_, B>, buttons: u32, x: u32, y: u32, rx: u32, ry: u32| {
            go(&mut c, gamepad_op(buttons, x, y, rx, ry))
        })?;
        linker.func_wrap(m, "consumer", move |mut c: C<'_, B>, usage: u32| go(&mut c, consumer_op(usage)))?;
        linker.func_wrap(m, "raw", move |mut c: C<'_, B>, ptr: u32, len: u32| go(&mut c, raw_op(ptr, len)))?;
        linker.func_wrap(m, "next_event", move |mut c: C<'_, B>, ptr: u32, len: u32, timeout_us: i64| {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Recorder, code, recorder_board, state};
    use crate::{Bridge, Refusal};
    use akira_caps::CapabilitySet;
    use akira_caps::sets::IdSet;

    /// A HID stack that queues `room` reports and keeps what was sent.
    struct Board1 {
        rec: Recorder,
        room: usize,
        sent: Vec<Vec<u8>>,
        events: EventQueue<2>,
    }
    recorder_board!(Board1);

    impl Hid for Board1 {
        fn room(&mut self, kind: u32) -> Result<usize, Errno> {
            if kind == RAW { Err(Errno::NoSuchResource) } else { Ok(self.room) }
        }
        fn send(&mut self, report: &Report<'_>) -> Result<(), Errno> {
            assert!(self.room > 0, "sent without room");
            self.room -= 1;
            let mut buf = [0u8; MAX_RAW];
            self.sent.push(report.encode(&mut buf).to_vec());
            Ok(())
        }
        fn next_event(&mut self) -> Option<Event> {
            self.events.pop()
        }
    }

    fn app(kinds: &[u32]) -> AppState<Board1> {
        let caps = CapabilitySet { hid: Some(kinds.iter().copied().collect::<IdSet>()), ..Default::default() };
        state(Board1 { rec: Recorder::default(), room: 64, sent: Vec::new(), events: EventQueue::new() }, &caps)
    }

    const M: ModuleIndex = ModuleIndex(0);

    fn bridge() -> Bridge<Board1> {
        Bridge::new().with(HidModule).unwrap()
    }

    #[test]
    fn reports_have_the_boot_protocol_layouts() {
        let mut s = app(&[KEYBOARD, MOUSE, GAMEPAD, CONSUMER]);
        let mut backing = [0u8; 16];
        backing[..2].copy_from_slice(&[0x04, 0x05]);
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(report(&mut mem, &mut s, M, keyboard_op(0x02, 0, 2))), 0);
        assert_eq!(code(report(&mut mem, &mut s, M, mouse_op(1, 5, -3i32 as u32, 1))), 0);
        assert_eq!(code(report(&mut mem, &mut s, M, gamepad_op(0x0102, 127, -127i32 as u32, 0, 1))), 0);
        assert_eq!(code(report(&mut mem, &mut s, M, consumer_op(0xe9))), 0);
        assert_eq!(
            s.board().sent,
            [
                vec![0x02, 0, 0x04, 0x05, 0, 0, 0, 0],
                vec![1, 5, 0xfd, 1],
                vec![0x02, 0x01, 127, 0x81, 0, 1],
                vec![0xe9, 0],
            ]
        );
        assert_eq!(s.board().rec.events[0], "HidReport { kind: 0, bytes: [2, 0, 4, 5, 0, 0, 0, 0] }");
        // Out of range arguments.
        assert_eq!(code(report(&mut mem, &mut s, M, keyboard_op(0x100, 0, 0))), Errno::Invalid.code());
        assert_eq!(code(report(&mut mem, &mut s, M, keyboard_op(0, 0, 7))), Errno::TooLarge.code());
        assert_eq!(code(report(&mut mem, &mut s, M, mouse_op(0, 128, 0, 0))), Errno::Invalid.code());
        assert_eq!(code(report(&mut mem, &mut s, M, mouse_op(0, -128i32 as u32, 0, 0))), Errno::Invalid.code());
        assert_eq!(code(report(&mut mem, &mut s, M, consumer_op(0x1_0000))), Errno::Invalid.code());
        assert_eq!(s.board().sent.len(), 4, "nothing sent for refused calls");
    }

    #[test]
    fn type_text_presses_and_releases_each_character() {
        let mut s = app(&[KEYBOARD]);
        let mut backing = [0u8; 16];
        backing[..4].copy_from_slice(b"Hi!\n");
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(report(&mut mem, &mut s, M, type_op(0, 4))), 4);
        let up = vec![0u8; 8];
        assert_eq!(
            s.board().sent,
            [
                vec![0x02, 0, 0x0b, 0, 0, 0, 0, 0],
                up.clone(),
                vec![0, 0, 0x0c, 0, 0, 0, 0, 0],
                up.clone(),
                vec![0x02, 0, 0x1e, 0, 0, 0, 0, 0],
                up.clone(),
                vec![0, 0, 0x28, 0, 0, 0, 0, 0],
                up,
            ]
        );
        // A byte without a key refuses the whole text before any is typed.
        mem.write(8, b"ok\x01").unwrap();
        assert_eq!(code(report(&mut mem, &mut s, M, type_op(8, 3))), Errno::Invalid.code());
        assert_eq!(code(report(&mut mem, &mut s, M, type_op(14, 4))), Errno::Fault.code());
        assert_eq!(code(report(&mut mem, &mut s, M, type_op(0, MAX_TEXT + 1))), Errno::TooLarge.code());
        assert_eq!(code(report(&mut mem, &mut s, M, type_op(0, 0))), 0);
        assert_eq!(s.board().sent.len(), 8);
        // Room for three reports: one whole character, the rest later.
        s.board_mut().room = 3;
        assert_eq!(code(report(&mut mem, &mut s, M, type_op(0, 2))), 1, "only whole characters");
        assert_eq!(s.board().room, 1);
    }

    #[test]
    fn the_guard_checks_the_device_kind() {
        let mut s = app(&[KEYBOARD]);
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(code(report(&mut mem, &mut s, M, mouse_op(1, 0, 0, 0))), Errno::Denied.code());
        assert_eq!(code(report(&mut mem, &mut s, M, gamepad_op(1, 0, 0, 0, 0))), Errno::Denied.code());
        assert_eq!(code(report(&mut mem, &mut s, M, consumer_op(0xe9))), Errno::Denied.code());
        assert_eq!(code(report(&mut mem, &mut s, M, raw_op(0, 4))), Errno::Denied.code());
        assert_eq!(s.guard().denials(Capability::Hid), 4);
        assert!(s.board().sent.is_empty());
        // Granted, but the board has no raw device; bad buffers.
        let mut s = app(&[RAW, KEYBOARD]);
        assert_eq!(code(report(&mut mem, &mut s, M, raw_op(0, 4))), Errno::NoSuchResource.code());
        assert_eq!(code(report(&mut mem, &mut s, M, raw_op(0, 65))), Errno::TooLarge.code());
        assert_eq!(code(report(&mut mem, &mut s, M, raw_op(14, 4))), Errno::Fault.code());
        assert_eq!(code(report(&mut mem, &mut s, M, keyboard_op(0, 12, 6))), Errno::Fault.code());
    }

    #[test]
    fn a_full_stack_suspends_the_report_until_there_is_room() {
        let mut s = app(&[MOUSE, KEYBOARD]);
        s.board_mut().room = 0;
        s.board_mut().rec.now = 1_000;
        let mut backing = [0u8; 16];
        backing[..3].copy_from_slice(b"abc");
        let mut mem = GuestMemory::new(&mut backing);
        let Err(Refusal::Trap(_)) = report(&mut mem, &mut s, M, mouse_op(1, 10, 0, 0)) else { panic!("not suspended") };
        let wait = s.take_wait().unwrap();
        assert_eq!(wait.until, Instant::from_micros(1_000 + SEND_TIMEOUT_US));
        let bridge = bridge();
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(2_000)), None);
        s.board_mut().room = 1;
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(3_000)), Some(0));
        assert_eq!(s.board().sent, [vec![1, 10, 0, 0]], "the report the app asked for, rebuilt from the wait");
        // Typing waits the same way, then types what fits.
        let Err(Refusal::Trap(_)) = report(&mut mem, &mut s, M, type_op(0, 3)) else { panic!("not suspended") };
        let wait = s.take_wait().unwrap();
        s.board_mut().room = 4;
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(4_000)), Some(2));
        assert_eq!(s.board().sent[1], [0, 0, 0x04, 0, 0, 0, 0, 0]);
        // The host never polls: timed out.
        let Err(Refusal::Trap(_)) = report(&mut mem, &mut s, M, mouse_op(0, 0, 0, 0)) else { panic!() };
        let wait = s.take_wait().unwrap();
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, wait.until), Some(Errno::TimedOut.code()));
    }

    #[test]
    fn next_event_suspends_until_an_event_arrives_and_writes_it() {
        let mut s = app(&[KEYBOARD]);
        let mut backing = [0u8; 16];
        let mut mem = GuestMemory::new(&mut backing);
        assert!(s.board_mut().events.push(Event::pressed(3)));
        assert_eq!(code(next_event(&mut mem, &mut s, M, (4, 8), -1)), 8, "one waiting: at once");
        assert_eq!(mem.bytes(4, 8).unwrap(), [1, 0, 3, 0, 0, 0, 0, 0]);
        let Err(Refusal::Trap(_)) = next_event(&mut mem, &mut s, M, (8, 8), -1) else { panic!("not suspended") };
        let wait = s.take_wait().unwrap();
        assert_eq!(wait.until, Instant::MAX);
        let bridge = bridge();
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(5)), None);
        s.board_mut().events.push(Event { kind: EventKind::Leds, code: 0, value: 2 });
        assert_eq!(bridge.poll_wait(&mut mem, &mut s, &wait, Instant::from_micros(6)), Some(8));
        assert_eq!(mem.bytes(8, 8).unwrap(), [3, 0, 0, 0, 2, 0, 0, 0]);
        // Bad buffers; a zero timeout polls.
        assert_eq!(code(next_event(&mut mem, &mut s, M, (0, 7), -1)), Errno::Invalid.code());
        assert_eq!(code(next_event(&mut mem, &mut s, M, (12, 8), -1)), Errno::Fault.code());
        assert_eq!(code(next_event(&mut mem, &mut s, M, (0, 8), 0)), Errno::TimedOut.code());
        assert!(s.take_wait().is_none());
    }

    #[test]
    fn the_event_queue_is_bounded() {
        let mut q = EventQueue::<2>::new();
        assert!(q.push(Event::pressed(0)) && q.push(Event::released(0)));
        assert!(!q.push(Event::pressed(1)), "full");
        assert_eq!((q.len(), q.dropped()), (2, 1));
        assert_eq!(q.pop(), Some(Event::pressed(0)), "oldest first");
        assert_eq!(q.pop(), Some(Event::released(0)));
        assert!(q.pop().is_none() && q.is_empty());
    }

    #[test]
    fn wait_args_round_trip() {
        for op in [
            Op::Keyboard { modifiers: 0x82, ptr: u32::MAX, n: 6 },
            Op::Type { ptr: 7, len: MAX_TEXT },
            Op::Mouse { buttons: 7, x: -127, y: 127, wheel: -1 },
            Op::Gamepad { buttons: 0xffff, x: -1, y: 2, rx: -127, ry: 127 },
            Op::Consumer { usage: 0xffff },
            Op::Raw { ptr: 9, len: 64 },
            Op::Event { ptr: u32::MAX },
        ] {
            let (code, arg) = op.pack();
            assert_eq!(Op::unpack(code, arg), Some(op));
        }
        assert_eq!(Op::unpack(99, 0), None);
    }

    #[test]
    fn every_printable_ascii_character_has_a_distinct_key() {
        let mut seen = std::collections::HashSet::new();
        for c in (0x20u8..0x7f).chain([b'\n', b'\t', 0x08]) {
            let key = ascii_key(c).unwrap_or_else(|| panic!("{:?} has no key", c as char));
            assert!(seen.insert(key), "{:?} shares a key", c as char);
        }
        assert_eq!(ascii_key(0x7f), None);
        assert_eq!(ascii_key(0xc3), None);
    }
}
