#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// The adapter exists only on the microcontroller; host builds of the
// workspace see an empty crate.
#![cfg(target_os = "none")]

#[cfg(not(any(feature = "esp32c6", feature = "esp32s3")))]
compile_error!("akira-hal-esp: choose the chip with a feature: `esp32c6` or `esp32s3`");
#[cfg(all(feature = "esp32c6", feature = "esp32s3"))]
compile_error!("akira-hal-esp: choose one chip feature, not both `esp32c6` and `esp32s3`");

use core::cell::RefCell;

use akira_bridge::{AppInfo, Board, Edge, Edges, Errno, Gpio, Instant, Level, PinBank, PinMode, PinSlot};
use critical_section::Mutex;
use esp_hal::gpio::{Input, Output};

pub use akira_bridge;
pub use esp_hal;

/// Logical pins a board can have (`0..MAX_PINS`).
pub const MAX_PINS: usize = 16;

/// Where console lines from apps go (esp-println, a UART, ...).
pub type Console = fn(&AppInfo, Level, &str);

/// What sits at a logical pin: an esp-hal input or output.
pub type Slot = PinSlot<Input<'static>, Output<'static>>;

struct State {
    pins: PinBank<Input<'static>, Output<'static>, MAX_PINS>,
    /// Input levels at the last [`EspBoard::sample_inputs`].
    levels: u32,
    console: Console,
}

static STATE: Mutex<RefCell<Option<State>>> = Mutex::new(RefCell::new(None));

/// The board was set up twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AlreadyInitialised;

/// The board handle Akira apps get: copy it into each app's store. All
/// copies share one state (in a critical-section mutex).
#[derive(Clone, Copy, Debug)]
pub struct EspBoard;

impl EspBoard {
    /// Sets the board up with its logical pin table (slot `n` is logical
    /// pin `n`) and console.
    pub fn init(pins: [Slot; MAX_PINS], console: Console) -> Result<EspBoard, AlreadyInitialised> {
        critical_section::with(|cs| {
            let mut state = STATE.borrow_ref_mut(cs);
            if state.is_some() {
                return Err(AlreadyInitialised);
            }
            let mut s = State { pins: PinBank::new(pins), levels: 0, console };
            s.levels = sample(&mut s.pins);
            *state = Some(s);
            Ok(EspBoard)
        })
    }

    /// Reads every input pin and latches the edges since the last call:
    /// call it from the firmware's loop (a pulse shorter than the loop
    /// period is missed; drive this from a GPIO interrupt for fast
    /// signals).
    pub fn sample_inputs(self) {
        let _ = self.with(|s| {
            let now = sample(&mut s.pins);
            let changed = now ^ s.levels;
            for pin in 0..MAX_PINS as u32 {
                if changed & (1 << pin) != 0 {
                    s.pins.record_edge(pin, if now & (1 << pin) != 0 { Edge::Rising } else { Edge::Falling });
                }
            }
            s.levels = now;
        });
    }

    fn with<R>(self, f: impl FnOnce(&mut State) -> R) -> Result<R, Errno> {
        critical_section::with(|cs| STATE.borrow_ref_mut(cs).as_mut().map(f)).ok_or(Errno::Unsupported)
    }
}

/// The levels of the input pins, one bit each.
fn sample(pins: &mut PinBank<Input<'static>, Output<'static>, MAX_PINS>) -> u32 {
    let mut levels = 0;
    for pin in 0..MAX_PINS as u32 {
        if let Some(PinSlot::Input(input)) = pins.slot_mut(pin)
            && input.is_high()
        {
            levels |= 1 << pin;
        }
    }
    levels
}

impl Board for EspBoard {
    fn now(&self) -> Instant {
        Instant::from_micros(esp_hal::time::Instant::now().duration_since_epoch().as_micros())
    }

    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        if let Ok(console) = self.with(|s| s.console) {
            console(app, level, message);
        }
    }
}

impl Gpio for EspBoard {
    fn configure(&mut self, pin: u32, mode: PinMode) -> Result<(), Errno> {
        self.with(|s| s.pins.configure(pin, mode))?
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
        self.with(|s| s.pins.take_edge(pin, edges))?
    }
}
