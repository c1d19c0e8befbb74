//! The board Akira apps see: the console on UART0, the clock, and eight
//! logical pins. QEMU's mps2-an386 has no GPIO model, so pins 2 to 7 are
//! LEDs kept in RAM whose changes are printed, and pins 0 and 1 are
//! buttons that stay released.
//!
//! | logical pin | what | direction |
//! |---|---|---|
//! | 0, 1 | buttons (no input in QEMU) | input |
//! | 2–7 | LEDs (printed on the console) | output |

use core::cell::RefCell;
use core::fmt::Write as _;

use akira_bridge::{
    AppInfo, Board, Edge, Edges, Errno, Gpio, Instant, Level, MemoryPin, PinBank, PinMode, PinSlot, Trace,
};
use critical_section::Mutex;

use crate::{clock, uart::Uart};

struct State {
    console: Uart,
    pins: PinBank<MemoryPin, MemoryPin, 8>,
    quiet: bool,
}

static STATE: Mutex<RefCell<Option<State>>> = Mutex::new(RefCell::new(None));

/// The board handle each app's store holds (all share `STATE`).
#[derive(Clone, Copy)]
pub struct Mps2;

impl Mps2 {
    /// Sets the board up.
    pub fn init(console: Uart) -> Mps2 {
        let pins = PinBank::new(core::array::from_fn(|n| {
            if n < 2 { PinSlot::Input(MemoryPin::new(true)) } else { PinSlot::Output(MemoryPin::new(false)) }
        }));
        critical_section::with(|cs| *STATE.borrow_ref_mut(cs) = Some(State { console, pins, quiet: false }));
        Mps2
    }

    /// Silences pin traces (for benchmark loops).
    pub fn set_quiet(self, quiet: bool) {
        self.with(|s| s.quiet = quiet);
    }

    fn with<R>(self, f: impl FnOnce(&mut State) -> R) -> R {
        critical_section::with(|cs| {
            let mut state = STATE.borrow_ref_mut(cs);
            // `init` runs before any app: the state is always there.
            f(state.as_mut().expect("board initialised"))
        })
    }

    /// Prints a line on the console.
    pub fn print(self, args: core::fmt::Arguments<'_>) {
        self.with(|s| {
            let _ = writeln!(s.console, "{args}");
        });
    }
}

fn stamp() -> (u64, u64) {
    let us = clock::micros();
    (us / 1_000_000, us % 1_000_000)
}

impl Board for Mps2 {
    fn now(&self) -> Instant {
        Instant::from_micros(clock::micros())
    }

    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        let (s, us) = stamp();
        self.print(format_args!("[{s:>3}.{us:06}] {:<14} {level}: {message}", app.name.as_str()));
    }

    fn trace(&mut self, app: &AppInfo, event: Trace<'_>) {
        if self.with(|s| s.quiet) {
            return;
        }
        let (s, us) = stamp();
        match event {
            Trace::PinWritten { pin, high } => self.print(format_args!(
                "[{s:>3}.{us:06}] {:<14} LED {pin} {}",
                app.name.as_str(),
                if high { "on" } else { "off" }
            )),
            Trace::Denied(d) => self.print(format_args!("[{s:>3}.{us:06}] {:<14} DENIED {d}", app.name.as_str())),
            _ => {}
        }
    }
}

impl Gpio for Mps2 {
    fn configure(&mut self, pin: u32, mode: PinMode) -> Result<(), Errno> {
        self.with(|s| s.pins.configure(pin, mode))
    }
    fn read(&mut self, pin: u32) -> Result<bool, Errno> {
        self.with(|s| s.pins.read(pin))
    }
    fn write(&mut self, pin: u32, high: bool) -> Result<(), Errno> {
        self.with(|s| s.pins.write(pin, high))
    }
    fn toggle(&mut self, pin: u32) -> Result<bool, Errno> {
        self.with(|s| s.pins.toggle(pin))
    }
    fn take_edge(&mut self, pin: u32, edges: Edges) -> Result<Option<Edge>, Errno> {
        self.with(|s| s.pins.take_edge(pin, edges))
    }
}
