//! A board whose state lives in one `static`, shared by every app's store:
//! the shape of a board on an async HAL, where outputs are driven directly
//! and inputs are owned by watcher tasks ([`InputLatch`]).
//!
//! A vendor adapter declares the cell and a type alias, and gets
//! [`Board`] and [`Gpio`] for free:
//!
//! ```rust,ignore
//! pub static CELL: BoardCell<Output<'static>, 16> = BoardCell::new();
//! pub type MyBoard = SharedBoard<Output<'static>, 16>;
//! let board = MyBoard::init(&CELL, pins, clock, console)?;
//! ```

use core::cell::RefCell;

use critical_section::Mutex;
use embedded_hal::digital::{OutputPin, StatefulOutputPin};

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
    latch: InputLatch,
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

/// The board was set up twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AlreadyInitialised;

/// A board handle over a [`BoardCell`]: copy it into each app's store.
pub struct SharedBoard<O: 'static, const N: usize> {
    cell: &'static BoardCell<O, N>,
}

impl<O, const N: usize> Clone for SharedBoard<O, N> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<O, const N: usize> Copy for SharedBoard<O, N> {}

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
            Ok(SharedBoard { cell })
        })
    }

    /// The cell's input latch.
    pub fn latch(self) -> &'static InputLatch {
        &self.cell.latch
    }

    fn with<R>(self, f: impl FnOnce(&mut State<O, N>) -> R) -> Result<R, Errno> {
        critical_section::with(|cs| self.cell.state.borrow_ref_mut(cs).as_mut().map(f)).ok_or(Errno::Unsupported)
    }
}

impl<O: OutputPin + StatefulOutputPin + 'static, const N: usize> Board for SharedBoard<O, N> {
    fn now(&self) -> Instant {
        self.with(|s| (s.clock)()).unwrap_or(Instant::ZERO)
    }

    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        if let Ok(console) = self.with(|s| s.console) {
            console(app, level, message);
        }
    }
}

impl<O: OutputPin + StatefulOutputPin + 'static, const N: usize> Gpio for SharedBoard<O, N> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::gpio::MemoryPin;

    static CELL: BoardCell<MemoryPin, 4> = BoardCell::new();

    fn clock() -> Instant {
        Instant::from_micros(42)
    }

    #[test]
    fn a_shared_board_drives_outputs_and_takes_latched_edges() {
        let pins = [CELL.input(0), PinSlot::Output(MemoryPin::new(false)), PinSlot::Unused, PinSlot::Unused];
        let mut board = SharedBoard::init(&CELL, pins, clock, |_, _, _| {}).unwrap();
        assert_eq!(
            SharedBoard::init(&CELL, core::array::from_fn(|_| PinSlot::Unused), clock, |_, _, _| {}).err(),
            Some(AlreadyInitialised)
        );
        assert_eq!(board.now(), Instant::from_micros(42));
        board.write(1, true).unwrap();
        assert_eq!(board.read(1), Ok(true));
        assert_eq!(board.write(0, true), Err(Errno::Unsupported), "inputs cannot be driven");
        CELL.latch().record(0, true);
        assert_eq!(board.read(0), Ok(true));
        assert_eq!(board.take_edge(0, Edges::RISING), Ok(Some(Edge::Rising)));
        assert_eq!(board.take_edge(1, Edges::ANY), Err(Errno::Unsupported));
        CELL.latch().record(0, false);
        board.configure(0, PinMode::Input).unwrap();
        assert_eq!(board.take_edge(0, Edges::ANY), Ok(None), "configure clears latched edges");
        let copy = board;
        assert!(core::ptr::eq(copy.latch(), board.latch()));
    }
}
