//! `akira:gpio`: digital pins by logical number.
//!
//! Boards implement [`Gpio`]; most do it with a [`PinBank`] of embedded-hal
//! 1.0 pins and forward to it. Every call checks the pin against the app's
//! grant for the direction it uses.
//!
//! Edges are latched by the board (from an interrupt or an embassy task
//! that awaits `embedded_hal_async::digital::Wait`, see
//! [`PinBank::record_edge`]); `wait_edge` returns at once when an edge was
//! latched since the pin was configured or since the last `wait_edge`, and
//! otherwise suspends the app until one is.

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec, PinAccess};
use embedded_hal::digital::{InputPin, OutputPin, PinState, StatefulOutputPin};

use crate::board::{Board, Trace};
use crate::errno::Errno;
use crate::host_fn;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, ModuleIndex, Refusal, Wait, WaitKind, reply};
use crate::time::Instant;

/// How an app uses a pin (the `mode` argument of `configure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PinMode {
    /// Read the level and wait for edges (mode `0`).
    Input,
    /// Drive the level (mode `1`).
    Output,
}

/// Which edges to wait for (the `edges` argument of `wait_edge`): bit 0
/// rising, bit 1 falling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Edges(u8);

impl Edges {
    /// Rising edges (`1`).
    pub const RISING: Edges = Edges(1);
    /// Falling edges (`2`).
    pub const FALLING: Edges = Edges(2);
    /// Both (`3`).
    pub const ANY: Edges = Edges(3);

    /// The set for an app-supplied number, if valid.
    pub fn from_bits(bits: u32) -> Option<Edges> {
        (1..=3).contains(&bits).then_some(Edges(bits as u8))
    }

    /// Whether rising edges are included.
    pub fn rising(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether falling edges are included.
    pub fn falling(self) -> bool {
        self.0 & 2 != 0
    }
}

/// An edge that happened (`wait_edge` returns `1` for rising, `2` for
/// falling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Edge {
    /// Low to high.
    Rising = 1,
    /// High to low.
    Falling = 2,
}

/// A board's pins, by logical number. Errors are the codes apps see:
/// [`Errno::NoSuchResource`] for a pin the board does not have,
/// [`Errno::Unsupported`] for a direction the pin does not support,
/// [`Errno::Io`] when the driver fails.
pub trait Gpio {
    /// Prepares `pin` for `mode` and clears its latched edges.
    fn configure(&mut self, pin: u32, mode: PinMode) -> Result<(), Errno>;
    /// Reads the level (an output pin reads back what it drives).
    fn read(&mut self, pin: u32) -> Result<bool, Errno>;
    /// Drives an output pin.
    fn write(&mut self, pin: u32, high: bool) -> Result<(), Errno>;
    /// Inverts an output pin; returns the new level.
    fn toggle(&mut self, pin: u32) -> Result<bool, Errno>;
    /// Takes one latched edge of the kinds in `edges`, if any.
    fn take_edge(&mut self, pin: u32, edges: Edges) -> Result<Option<Edge>, Errno>;
}

/// A pin that only remembers its level: an embedded-hal 1.0 input and
/// output pin for simulators, emulators without a GPIO model, and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryPin {
    /// The level.
    pub high: bool,
}

impl MemoryPin {
    /// A pin at `high`.
    pub const fn new(high: bool) -> Self {
        MemoryPin { high }
    }
}

impl embedded_hal::digital::ErrorType for MemoryPin {
    type Error = core::convert::Infallible;
}

impl InputPin for MemoryPin {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        Ok(self.high)
    }
    fn is_low(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.high)
    }
}

impl OutputPin for MemoryPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.high = false;
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.high = true;
        Ok(())
    }
}

impl StatefulOutputPin for MemoryPin {
    fn is_set_high(&mut self) -> Result<bool, Self::Error> {
        Ok(self.high)
    }
    fn is_set_low(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.high)
    }
}

/// What sits at one logical pin of a [`PinBank`].
pub enum PinSlot<I, O> {
    /// No pin: calls get [`Errno::NoSuchResource`].
    Unused,
    /// An input pin.
    Input(I),
    /// An output pin.
    Output(O),
}

/// Logical pins over embedded-hal 1.0 pins: inputs of type `I`, outputs of
/// type `O`, up to 64 of them. Vendor HALs give one type for all pins of a
/// direction (for example embassy's `Input<'static>` / `Output<'static>`),
/// which is what a bank holds.
pub struct PinBank<I, O, const N: usize> {
    slots: [PinSlot<I, O>; N],
    rising: u64,
    falling: u64,
}

impl<I, O, const N: usize> PinBank<I, O, N>
where
    I: InputPin,
    O: OutputPin + StatefulOutputPin,
{
    const FITS: () = assert!(N <= 64, "a PinBank holds at most 64 pins");

    /// A bank over `slots`; slot `n` is logical pin `n`.
    pub fn new(slots: [PinSlot<I, O>; N]) -> Self {
        let () = Self::FITS;
        PinBank { slots, rising: 0, falling: 0 }
    }

    fn slot(&mut self, pin: u32) -> Result<&mut PinSlot<I, O>, Errno> {
        self.slots.get_mut(pin as usize).ok_or(Errno::NoSuchResource)
    }

    fn output(&mut self, pin: u32) -> Result<&mut O, Errno> {
        match self.slot(pin)? {
            PinSlot::Output(o) => Ok(o),
            PinSlot::Input(_) => Err(Errno::Unsupported),
            PinSlot::Unused => Err(Errno::NoSuchResource),
        }
    }

    /// Latches an edge on an input pin; call it from the GPIO interrupt or
    /// the task that awaits the pin. Ignored for pins the bank does not
    /// have.
    pub fn record_edge(&mut self, pin: u32, edge: Edge) {
        if (pin as usize) < N {
            match edge {
                Edge::Rising => self.rising |= 1 << pin,
                Edge::Falling => self.falling |= 1 << pin,
            }
        }
    }

    /// The pin at `pin`, for firmware code that drives it directly.
    pub fn slot_mut(&mut self, pin: u32) -> Option<&mut PinSlot<I, O>> {
        self.slots.get_mut(pin as usize)
    }
}

impl<I, O, const N: usize> Gpio for PinBank<I, O, N>
where
    I: InputPin,
    O: OutputPin + StatefulOutputPin,
{
    fn configure(&mut self, pin: u32, mode: PinMode) -> Result<(), Errno> {
        match (self.slot(pin)?, mode) {
            (PinSlot::Input(_), PinMode::Input) | (PinSlot::Output(_), PinMode::Output) => {
                let mask = !(1u64 << pin);
                self.rising &= mask;
                self.falling &= mask;
                Ok(())
            }
            (PinSlot::Unused, _) => Err(Errno::NoSuchResource),
            _ => Err(Errno::Unsupported),
        }
    }

    fn read(&mut self, pin: u32) -> Result<bool, Errno> {
        match self.slot(pin)? {
            PinSlot::Input(i) => i.is_high().map_err(|_| Errno::Io),
            PinSlot::Output(o) => o.is_set_high().map_err(|_| Errno::Io),
            PinSlot::Unused => Err(Errno::NoSuchResource),
        }
    }

    fn write(&mut self, pin: u32, high: bool) -> Result<(), Errno> {
        self.output(pin)?.set_state(PinState::from(high)).map_err(|_| Errno::Io)
    }

    fn toggle(&mut self, pin: u32) -> Result<bool, Errno> {
        let o = self.output(pin)?;
        o.toggle().map_err(|_| Errno::Io)?;
        o.is_set_high().map_err(|_| Errno::Io)
    }

    fn take_edge(&mut self, pin: u32, edges: Edges) -> Result<Option<Edge>, Errno> {
        match self.slot(pin)? {
            PinSlot::Input(_) => {}
            PinSlot::Output(_) => return Err(Errno::Unsupported),
            PinSlot::Unused => return Err(Errno::NoSuchResource),
        }
        let bit = 1u64 << pin;
        if edges.rising() && self.rising & bit != 0 {
            self.rising &= !bit;
            return Ok(Some(Edge::Rising));
        }
        if edges.falling() && self.falling & bit != 0 {
            self.falling &= !bit;
            return Ok(Some(Edge::Falling));
        }
        Ok(None)
    }
}

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::GPIO.import,
    capability: ModuleCapability::Builtin(Capability::Gpio),
    functions: akira_abi::GPIO.functions,
};

/// The `akira:gpio` module; the board must implement [`Gpio`].
#[derive(Clone, Copy, Debug, Default)]
pub struct GpioModule;

/// Wait operation code for edge waits.
const OP_EDGE: u32 = 1;

fn configure<B: Board + Gpio>(state: &mut AppState<B>, pin: u32, mode: u32) -> Result<i32, Refusal> {
    let (mode, access) = match mode {
        0 => (PinMode::Input, PinAccess::Input),
        1 => (PinMode::Output, PinAccess::Output),
        _ => return Err(Errno::Invalid.into()),
    };
    state.guarded(|g| g.pin(pin, access))?;
    state.board_mut().configure(pin, mode)?;
    state.trace(Trace::PinConfigured { pin, output: mode == PinMode::Output });
    Ok(0)
}

fn write<B: Board + Gpio>(state: &mut AppState<B>, pin: u32, level: u32) -> Result<i32, Refusal> {
    state.guarded(|g| g.pin(pin, PinAccess::Output))?;
    let high = level != 0;
    state.board_mut().write(pin, high)?;
    state.trace(Trace::PinWritten { pin, high });
    Ok(0)
}

fn toggle<B: Board + Gpio>(state: &mut AppState<B>, pin: u32) -> Result<i32, Refusal> {
    state.guarded(|g| g.pin(pin, PinAccess::Output))?;
    let high = state.board_mut().toggle(pin)?;
    state.trace(Trace::PinWritten { pin, high });
    Ok(i32::from(high))
}

fn wait_edge<B: Board + Gpio>(
    state: &mut AppState<B>,
    module: ModuleIndex,
    pin: u32,
    edges: u32,
    timeout_us: i64,
) -> Result<i32, Refusal> {
    let edges = Edges::from_bits(edges).ok_or(Errno::Invalid)?;
    state.guarded(|g| g.pin(pin, PinAccess::Edge))?;
    if let Some(edge) = state.board_mut().take_edge(pin, edges)? {
        return Ok(edge as i32);
    }
    let until = match u64::try_from(timeout_us) {
        Ok(us) => state.board().now().saturating_add(core::time::Duration::from_micros(us)),
        Err(_) => Instant::MAX,
    };
    let arg = u64::from(pin) << 8 | u64::from(edges.0);
    Err(state.suspend(Wait { until, kind: WaitKind::Module { module, op: OP_EDGE, arg } }))
}

impl<B: Board + Gpio> HostModule<B> for GpioModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, cx: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        host_fn!(linker, SPEC, "configure", |c: C<'_, B>, pin: u32, mode: u32| reply(configure(
            c.data_mut(),
            pin,
            mode
        )))?;
        host_fn!(linker, SPEC, "read", |c: C<'_, B>, pin: u32| {
            let state = c.data_mut();
            reply(
                state
                    .guarded(|g| g.pin(pin, PinAccess::Read))
                    .and_then(|()| Ok(i32::from(state.board_mut().read(pin)?))),
            )
        })?;
        host_fn!(linker, SPEC, "write", |c: C<'_, B>, pin: u32, level: u32| reply(write(c.data_mut(), pin, level)))?;
        host_fn!(linker, SPEC, "toggle", |c: C<'_, B>, pin: u32| reply(toggle(c.data_mut(), pin)))?;
        let module = cx.module;
        host_fn!(linker, SPEC, "wait_edge", move |c: C<'_, B>, pin: u32, edges: u32, timeout: i64| {
            reply(wait_edge(c.data_mut(), module, pin, edges, timeout))
        })?;
        Ok(())
    }

    fn poll_wait(&self, state: &mut AppState<B>, op: u32, arg: u64) -> Option<i32> {
        if op != OP_EDGE {
            return Some(Errno::Invalid.code());
        }
        let pin = (arg >> 8) as u32;
        let edges = Edges::from_bits((arg & 0xff) as u32)?;
        match state.board_mut().take_edge(pin, edges) {
            Ok(Some(edge)) => Some(edge as i32),
            Ok(None) => None,
            Err(e) => Some(e.code()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::digital::{Mock, State, Transaction as T};

    #[test]
    fn bank_drives_and_reads_embedded_hal_pins() {
        let out = Mock::new(&[T::set(State::High), T::toggle(), T::get_state(State::Low)]);
        let inp = Mock::new(&[T::get(State::High)]);
        let mut bank: PinBank<Mock, Mock, 3> =
            PinBank::new([PinSlot::Input(inp), PinSlot::Output(out), PinSlot::Unused]);
        bank.configure(1, PinMode::Output).unwrap();
        bank.write(1, true).unwrap();
        assert_eq!(bank.toggle(1), Ok(false));
        assert_eq!(bank.read(0), Ok(true));
        assert_eq!(bank.write(0, true), Err(Errno::Unsupported), "inputs cannot be driven");
        assert_eq!(bank.configure(0, PinMode::Output), Err(Errno::Unsupported));
        assert_eq!(bank.read(2), Err(Errno::NoSuchResource));
        assert_eq!(bank.read(9), Err(Errno::NoSuchResource));
        for slot in bank.slots.iter_mut() {
            match slot {
                PinSlot::Input(p) | PinSlot::Output(p) => p.done(),
                PinSlot::Unused => {}
            }
        }
    }

    #[test]
    fn edges_latch_until_taken_and_configure_clears_them() {
        let mut bank: PinBank<Mock, Mock, 1> = PinBank::new([PinSlot::Input(Mock::new(&[]))]);
        assert_eq!(bank.take_edge(0, Edges::ANY), Ok(None));
        bank.record_edge(0, Edge::Falling);
        assert_eq!(bank.take_edge(0, Edges::RISING), Ok(None), "only the kinds asked for");
        assert_eq!(bank.take_edge(0, Edges::ANY), Ok(Some(Edge::Falling)));
        assert_eq!(bank.take_edge(0, Edges::ANY), Ok(None), "taken once");
        bank.record_edge(0, Edge::Rising);
        bank.configure(0, PinMode::Input).unwrap();
        assert_eq!(bank.take_edge(0, Edges::ANY), Ok(None));
        bank.record_edge(5, Edge::Rising); // no such pin: ignored
        if let PinSlot::Input(p) = &mut bank.slots[0] {
            p.done();
        }
    }
}
