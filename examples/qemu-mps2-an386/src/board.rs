//! The board Akira apps see: the clock, eight logical pins, the apps'
//! key-value store, and the log (defmt). QEMU's mps2-an386 has no GPIO
//! model, so pins 2 to 7 are LEDs kept in RAM whose changes are logged,
//! and pins 0 and 1 are buttons that stay released.
//!
//! | logical pin | what | direction |
//! |---|---|---|
//! | 0, 1 | buttons (no input in QEMU) | input |
//! | 2–7 | LEDs (logged) | output |

use core::cell::RefCell;

use akira_bridge::{
    AppInfo, Board, Edge, Edges, Errno, FlashKv, Gpio, Instant, KvStore, Level, MemoryPin, PinBank, PinMode, PinSlot,
    Trace,
};
use akira_ota::ram_flash::RamFlash;
use critical_section::Mutex;

use crate::clock;

/// The apps' key-value store: sequential-storage's map on a RAM region
/// that keeps NOR rules (QEMU has no flash model, so it is empty at boot).
pub type Kv = FlashKv<RamFlash<'static, 4, 4096>>;

struct State {
    pins: PinBank<MemoryPin, MemoryPin, 8>,
    kv: Option<Kv>,
    quiet: bool,
}

static STATE: Mutex<RefCell<Option<State>>> = Mutex::new(RefCell::new(None));

/// The board handle each app's store holds (all share one state).
#[derive(Clone, Copy)]
pub struct Mps2;

impl Mps2 {
    /// Sets the board up, with the apps' key-value store if there is one.
    pub fn init(kv: Option<Kv>) -> Mps2 {
        let pins = PinBank::new(core::array::from_fn(|n| {
            if n < 2 { PinSlot::Input(MemoryPin::new(true)) } else { PinSlot::Output(MemoryPin::new(false)) }
        }));
        critical_section::with(|cs| *STATE.borrow_ref_mut(cs) = Some(State { pins, kv, quiet: false }));
        Mps2
    }

    /// Silences pin traces (for benchmark loops).
    pub fn set_quiet(self, quiet: bool) {
        self.with(|s| s.quiet = quiet);
    }

    fn with<R>(self, f: impl FnOnce(&mut State) -> R) -> R {
        critical_section::with(|cs| match STATE.borrow_ref_mut(cs).as_mut() {
            Some(state) => f(state),
            // `init` runs before any app exists.
            None => crate::exit(false),
        })
    }

    fn kv<R>(self, f: impl FnOnce(&mut Kv) -> Result<R, Errno>) -> Result<R, Errno> {
        self.with(|s| s.kv.as_mut().map_or(Err(Errno::Io), f))
    }
}

impl Board for Mps2 {
    fn now(&self) -> Instant {
        Instant::from_micros(clock::micros())
    }

    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        defmt::println!("{=str} {=str}: {=str}", app.name.as_str(), level.name(), message);
    }

    fn trace(&mut self, app: &AppInfo, event: Trace<'_>) {
        if self.with(|s| s.quiet) {
            return;
        }
        match event {
            Trace::PinWritten { pin, high } => {
                defmt::println!("{=str} LED {=u32} {=str}", app.name.as_str(), pin, if high { "on" } else { "off" })
            }
            Trace::Denied(d) => defmt::println!("{=str} DENIED {}", app.name.as_str(), d),
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

impl KvStore for Mps2 {
    fn get(&mut self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        self.kv(|kv| kv.get(app, key, buf))
    }
    fn set(&mut self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno> {
        self.kv(|kv| kv.set(app, key, value, quota))
    }
    fn remove(&mut self, app: &str, key: &[u8]) -> Result<bool, Errno> {
        self.kv(|kv| kv.remove(app, key))
    }
    fn used(&mut self, app: &str) -> Result<u32, Errno> {
        self.kv(|kv| kv.used(app))
    }
    fn capacity(&mut self) -> Result<u32, Errno> {
        self.kv(|kv| kv.capacity())
    }
}

/// WASI files live in the apps' key-value store; there is no random
/// source, real-time clock or stdin port on this board (those calls are
/// `NOSYS`).
#[cfg(feature = "wasi")]
impl akira_bridge::WasiHost for Mps2 {
    fn wasi_store(&mut self) -> Option<&mut dyn KvStore> {
        Some(self)
    }
}
