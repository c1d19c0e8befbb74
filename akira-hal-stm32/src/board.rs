//! The board over embassy-stm32 (built once a chip is chosen).

use akira_bridge::{AdapterCell, Instant, LatchedInput, PinSlot, SharedBoard};
use embassy_stm32::exti::ExtiInput;
use embassy_stm32::gpio::Output;
use embassy_stm32::mode::Async;

pub use akira_bridge::AlreadyInitialised;
pub use akira_bridge::shared::Console;

use crate::Peripherals;
use crate::peripherals::ChipRng;

/// Logical pins a board can have (`0..MAX_PINS`).
pub const MAX_PINS: usize = 16;

/// What sits at a logical pin: an input watched by [`watch`], or an
/// embassy-stm32 output.
pub type Slot = PinSlot<LatchedInput, Output<'static>>;

/// The board handle Akira apps get: copy it into each app's store. All
/// copies share one state (pins and console in a critical-section mutex,
/// input levels and edges in atomics), so it works with any embassy
/// executor and any number of app tasks.
pub type Stm32Board = SharedBoard<Output<'static>, MAX_PINS, Peripherals>;

static CELL: AdapterCell<Output<'static>, MAX_PINS, ChipRng> = AdapterCell::new();

/// Sets the board up with its logical pin table (slot `n` is logical pin
/// `n`), console and other peripherals (`Peripherals::default()` for
/// none). Input slots come from [`input`]; spawn a [`watch`] task for
/// each, a task serving each I2C bus and SPI device, and two pumping each
/// serial port. The clock is embassy-time's.
pub fn init(
    pins: [Slot; MAX_PINS],
    console: Console,
    peripherals: Peripherals,
) -> Result<Stm32Board, AlreadyInitialised> {
    CELL.init(pins, now, console, peripherals)
}

/// The input slot for logical pin `pin`.
pub fn input(pin: u32) -> Slot {
    CELL.input(pin)
}

/// Watches an EXTI input as logical pin `pin`: run it in a task per input
/// pin.
pub async fn watch(pin: u32, input: ExtiInput<'static, Async>) -> ! {
    CELL.latch().watch(pin, input).await
}

/// What a scheduler awaits when no app can run: the next deadline, the
/// next input edge, the end of an I2C or SPI transfer, or bytes (or room)
/// on a serial port, whichever comes first.
pub async fn idle(until: Option<Instant>) {
    let deadline = until.map_or(embassy_time::Instant::MAX, |t| embassy_time::Instant::from_micros(t.as_micros()));
    embassy_futures::select::select(embassy_time::Timer::at(deadline), CELL.changed()).await;
}

fn now() -> Instant {
    Instant::from_micros(embassy_time::Instant::now().as_micros())
}
