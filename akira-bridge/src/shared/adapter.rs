//! [`AdapterCell`]: a vendor adapter's board in a `static`.

use core::cell::Cell;

use critical_section::Mutex;
use embedded_hal::digital::{OutputPin, StatefulOutputPin};

use super::board::{BoardCell, Clock, Console, SharedBoard};
use super::cell::AlreadyInitialised;
use super::peripherals::Peripherals;
use crate::latch::{InputLatch, LatchedInput};
use crate::modules::gpio::PinSlot;
use crate::wake::Changes;

/// A vendor adapter's board in a `static`: the [`BoardCell`] (pins, clock,
/// console, input latch) and the [`Peripherals`] it was set up with, so
/// the scheduler's idle future waits on both ([`AdapterCell::changed`]).
/// Each adapter keeps one and wraps it in its `init`, `input`, `watch` and
/// `idle` functions.
pub struct AdapterCell<O: 'static, const N: usize, R: 'static> {
    board: BoardCell<O, N>,
    peripherals: Mutex<Cell<Option<Peripherals<R>>>>,
}

impl<O, const N: usize, R> Default for AdapterCell<O, N, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O, const N: usize, R> AdapterCell<O, N, R> {
    /// An empty cell, for a `static`.
    pub const fn new() -> Self {
        AdapterCell { board: BoardCell::new(), peripherals: Mutex::new(Cell::new(None)) }
    }

    /// The input latch, for the watcher tasks (`latch().watch(pin, input)`).
    pub fn latch(&'static self) -> &'static InputLatch {
        self.board.latch()
    }

    /// The input slot for logical pin `pin` (see [`BoardCell::input`]).
    pub fn input(&'static self, pin: u32) -> PinSlot<LatchedInput, O> {
        self.board.input(pin)
    }

    /// Resolves at the next input edge or peripheral event (a transfer
    /// done, serial bytes or room, a radio job done, a scan report): with
    /// the next deadline, what a scheduler awaits when no app can run.
    /// Before [`AdapterCell::init`], inputs only.
    pub async fn changed(&'static self) {
        let peripherals = critical_section::with(|cs| self.peripherals.borrow(cs).get()).unwrap_or_default();
        Changes::any(peripherals.counters(Some(self.board.latch.changes()))).await
    }
}

impl<O: OutputPin + StatefulOutputPin + 'static, const N: usize, R> AdapterCell<O, N, R> {
    /// Sets the board up (see [`SharedBoard::init`]) with `peripherals`,
    /// and returns the handle apps get.
    pub fn init(
        &'static self,
        pins: [PinSlot<LatchedInput, O>; N],
        clock: Clock,
        console: Console,
        peripherals: Peripherals<R>,
    ) -> Result<SharedBoard<O, N, Peripherals<R>>, AlreadyInitialised> {
        let board = SharedBoard::init(&self.board, pins, clock, console)?;
        critical_section::with(|cs| self.peripherals.borrow(cs).set(Some(peripherals)));
        Ok(board.with_peripherals(peripherals))
    }
}
