#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// The adapter exists only on the microcontroller; host builds of the
// workspace see an empty crate.
#![cfg(target_os = "none")]

#[cfg(not(any(feature = "nrf52840", feature = "nrf52833")))]
compile_error!("akira-hal-nrf: choose the chip with a feature: `nrf52840` or `nrf52833`");
#[cfg(all(feature = "nrf52840", feature = "nrf52833"))]
compile_error!("akira-hal-nrf: choose one chip feature, not both `nrf52840` and `nrf52833`");

use core::cell::RefCell;

use akira_bridge::{
    AppInfo, Board, Edge, Edges, Errno, Gpio, InputLatch, Instant, LatchedInput, Level, PinBank, PinMode, PinSlot,
};
use critical_section::Mutex;
use embassy_nrf::gpio::{Input, Output};

pub use akira_bridge;
pub use akira_ota;
pub use embassy_nrf;

/// Logical pins a board can have (`0..MAX_PINS`).
pub const MAX_PINS: usize = 16;

/// The chip's flash erase page, the OTA store's sector size.
pub const FLASH_PAGE: u32 = embassy_nrf::nvmc::PAGE_SIZE as u32;

/// Where console lines from apps go (RTT, a UART, defmt, ...).
pub type Console = fn(&AppInfo, Level, &str);

/// What sits at a logical pin: an input watched by [`NrfBoard::watch`],
/// or an embassy-nrf output.
pub type Slot = PinSlot<LatchedInput, Output<'static>>;

/// Levels and edges of the input pins, written by [`NrfBoard::watch`]
/// tasks and read by the board.
pub static INPUTS: InputLatch = InputLatch::new();

struct State {
    pins: PinBank<LatchedInput, Output<'static>, MAX_PINS>,
    console: Console,
}

static STATE: Mutex<RefCell<Option<State>>> = Mutex::new(RefCell::new(None));

/// The board was set up twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AlreadyInitialised;

/// The board handle Akira apps get: copy it into each app's store. All
/// copies share one state (in a critical-section mutex), so it works with
/// any embassy executor and any number of app tasks.
#[derive(Clone, Copy, Debug)]
pub struct NrfBoard;

impl NrfBoard {
    /// Sets the board up with its logical pin table (slot `n` is logical
    /// pin `n`) and console. Input slots come from [`NrfBoard::input`];
    /// spawn a [`NrfBoard::watch`] task for each.
    pub fn init(pins: [Slot; MAX_PINS], console: Console) -> Result<NrfBoard, AlreadyInitialised> {
        critical_section::with(|cs| {
            let mut state = STATE.borrow_ref_mut(cs);
            if state.is_some() {
                return Err(AlreadyInitialised);
            }
            *state = Some(State { pins: PinBank::new(pins), console });
            Ok(NrfBoard)
        })
    }

    /// The input slot for logical pin `pin`.
    pub fn input(pin: u32) -> Slot {
        PinSlot::Input(INPUTS.input(pin))
    }

    /// Watches an embassy-nrf input (GPIOTE port events) as logical pin
    /// `pin`: run it in a task per input pin.
    pub async fn watch(pin: u32, input: Input<'static>) -> ! {
        INPUTS.watch(pin, input).await
    }

    /// What a scheduler awaits when no app can run: the next deadline or
    /// the next input edge, whichever comes first.
    pub async fn idle(until: Option<Instant>) {
        let deadline = until.map_or(embassy_time::Instant::MAX, |t| embassy_time::Instant::from_micros(t.as_micros()));
        embassy_futures::select::select(embassy_time::Timer::at(deadline), INPUTS.changed()).await;
    }

    fn with<R>(self, f: impl FnOnce(&mut State) -> R) -> Result<R, Errno> {
        critical_section::with(|cs| STATE.borrow_ref_mut(cs).as_mut().map(f)).ok_or(Errno::Unsupported)
    }

    fn is_input(self, pin: u32) -> Result<bool, Errno> {
        self.with(|s| matches!(s.pins.slot_mut(pin), Some(PinSlot::Input(_))))
    }
}

impl Board for NrfBoard {
    fn now(&self) -> Instant {
        Instant::from_micros(embassy_time::Instant::now().as_micros())
    }

    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        if let Ok(console) = self.with(|s| s.console) {
            console(app, level, message);
        }
    }
}

impl Gpio for NrfBoard {
    fn configure(&mut self, pin: u32, mode: PinMode) -> Result<(), Errno> {
        self.with(|s| s.pins.configure(pin, mode))??;
        if mode == PinMode::Input {
            INPUTS.clear(pin);
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
        match self.is_input(pin)? {
            true => Ok(INPUTS.take_edge(pin, edges)),
            false => Err(Errno::Unsupported),
        }
    }
}
