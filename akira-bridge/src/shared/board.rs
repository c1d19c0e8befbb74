//! [`SharedBoard`]: the board handle over a [`BoardCell`] in a `static`
//! (pins, clock, console, input latch), and its [`Board`] and [`Gpio`].

use core::cell::RefCell;

use critical_section::Mutex;
use embedded_hal::digital::{OutputPin, StatefulOutputPin};

use super::cell::AlreadyInitialised;
use crate::board::{AppInfo, Board, Level};
use crate::errno::Errno;
use crate::latch::{InputLatch, LatchedInput};
use crate::modules::gpio::{Edge, Edges, Gpio, PinBank, PinMode, PinSlot};
use crate::time::Instant;

/// Where console lines from apps go.
pub type Console = fn(&AppInfo, Level, &str);

/// The board's monotonic clock.
pub type Clock = fn() -> Instant;

struct State<O, const N: usize> {
    pins: PinBank<LatchedInput, O, N>,
    clock: Clock,
    console: Console,
}

/// The static state behind a [`SharedBoard`]: pins, clock, console and
/// the input latch.
pub struct BoardCell<O: 'static, const N: usize> {
    state: Mutex<RefCell<Option<State<O, N>>>>,
    pub(super) latch: InputLatch,
}

impl<O, const N: usize> Default for BoardCell<O, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O, const N: usize> BoardCell<O, N> {
    /// An empty cell, for a `static`.
    pub const fn new() -> Self {
        BoardCell { state: Mutex::new(RefCell::new(None)), latch: InputLatch::new() }
    }

    /// The input latch, for the idle future (`latch().changed()`) and the
    /// watcher tasks (`latch().watch(pin, input)`).
    pub fn latch(&'static self) -> &'static InputLatch {
        &self.latch
    }

    /// The input slot for logical pin `pin`: its level comes from the
    /// latch, written by a watcher task.
    pub fn input(&'static self, pin: u32) -> PinSlot<LatchedInput, O> {
        PinSlot::Input(self.latch.input(pin))
    }
}

/// A board handle over a [`BoardCell`]: copy it into each app's store.
/// `X` is the board's other peripherals (see the module docs); `()` when
/// it has only pins, clock and console.
pub struct SharedBoard<O: 'static, const N: usize, X: Copy + 'static = ()> {
    cell: &'static BoardCell<O, N>,
    pub(super) peripherals: X,
}

impl<O, const N: usize, X: Copy> Clone for SharedBoard<O, N, X> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<O, const N: usize, X: Copy> Copy for SharedBoard<O, N, X> {}

impl<O, const N: usize, X: Copy> SharedBoard<O, N, X> {
    /// The same board with peripherals `peripherals` (replacing any it had).
    pub fn with_peripherals<Y: Copy + 'static>(self, peripherals: Y) -> SharedBoard<O, N, Y> {
        SharedBoard { cell: self.cell, peripherals }
    }

    /// The board's peripherals handle.
    pub fn peripherals(&self) -> &X {
        &self.peripherals
    }

    /// The cell's input latch.
    pub fn latch(self) -> &'static InputLatch {
        &self.cell.latch
    }

    fn with<R>(self, f: impl FnOnce(&mut State<O, N>) -> R) -> Result<R, Errno> {
        critical_section::with(|cs| self.cell.state.borrow_ref_mut(cs).as_mut().map(f)).ok_or(Errno::Unsupported)
    }
}

impl<O: OutputPin + StatefulOutputPin + 'static, const N: usize> SharedBoard<O, N> {
    /// Sets the board up: the logical pin table (slot `n` is pin `n`;
    /// inputs from [`BoardCell::input`]), the clock and the console.
    pub fn init(
        cell: &'static BoardCell<O, N>,
        pins: [PinSlot<LatchedInput, O>; N],
        clock: Clock,
        console: Console,
    ) -> Result<Self, AlreadyInitialised> {
        critical_section::with(|cs| {
            let mut state = cell.state.borrow_ref_mut(cs);
            if state.is_some() {
                return Err(AlreadyInitialised);
            }
            *state = Some(State { pins: PinBank::new(pins), clock, console });
            Ok(SharedBoard { cell, peripherals: () })
        })
    }
}

impl<O: OutputPin + StatefulOutputPin + 'static, const N: usize, X: Copy + 'static> Board for SharedBoard<O, N, X> {
    fn now(&self) -> Instant {
        self.with(|s| (s.clock)()).unwrap_or(Instant::ZERO)
    }

    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        if let Ok(console) = self.with(|s| s.console) {
            console(app, level, message);
        }
    }
}

impl<O: OutputPin + StatefulOutputPin + 'static, const N: usize, X: Copy + 'static> Gpio for SharedBoard<O, N, X> {
    fn configure(&mut self, pin: u32, mode: PinMode) -> Result<(), Errno> {
        self.with(|s| s.pins.configure(pin, mode))??;
        if mode == PinMode::Input {
            self.cell.latch.clear(pin);
        }
        Ok(())
    }

    fn read(&mut self, pin: u32) -> Result<bool, Errno> {
        self.with(|s| s.pins.read(pin))?
    }

    fn write(&mut self, pin: u32, high: bool) -> Result<(), Errno> {
        self.with(|s| s.pins.write(pin, high))?
    }

    fn toggle(&mut self, pin: u32) -> Result<bool, Errno> {
        self.with(|s| s.pins.toggle(pin))?
    }

    fn take_edge(&mut self, pin: u32, edges: Edges) -> Result<Option<Edge>, Errno> {
        let input = self.with(|s| matches!(s.pins.slot_mut(pin), Some(PinSlot::Input(_))))?;
        if input { Ok(self.cell.latch.take_edge(pin, edges)) } else { Err(Errno::Unsupported) }
    }
}
