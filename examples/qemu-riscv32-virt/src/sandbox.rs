//! A whole app through Akira's own stack on RISC-V: akira-sandbox's
//! scheduler runs its native code (no interpreter in this firmware) as an
//! akira-aot task, and its host calls go to akira-bridge's guarded
//! functions (`akira:gpio`, `akira:timer`, `akira:log`) with the grants of
//! its manifest, as on a device.

use core::cell::RefCell;
use core::sync::atomic::{AtomicU32, Ordering};

use akira_bridge::{
    AppInfo, Board, Bridge, Edge, Edges, Errno, Gpio, Instant, Level, MemoryPin, PinBank, PinMode, PinSlot, Trace,
};
use akira_caps::Policy;
use akira_caps::scope::{CapabilitySet, GpioScope};
use akira_sandbox::{Event, Fault, Restart, RestartPolicy, Runtime, Scheduler};
use critical_section::Mutex;

use crate::{fail, rt};

/// The app: its manifest and its native code for riscv32imac inside (build.rs).
const APP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/sandbox-app.wasm"));

/// What the guard refused and the bridge wrote, as traced.
static DENIED: AtomicU32 = AtomicU32::new(0);
static WRITES: AtomicU32 = AtomicU32::new(0);

static PINS: Mutex<RefCell<Option<PinBank<MemoryPin, MemoryPin, 8>>>> = Mutex::new(RefCell::new(None));

/// QEMU virt as the board apps see: the CLINT's `mtime` (10 MHz) as the
/// clock, eight memory-backed output pins, the console as the log.
#[derive(Clone, Copy)]
struct Virt;

impl Virt {
    fn pins<R>(self, f: impl FnOnce(&mut PinBank<MemoryPin, MemoryPin, 8>) -> R) -> R {
        critical_section::with(|cs| match PINS.borrow_ref_mut(cs).as_mut() {
            Some(pins) => f(pins),
            None => fail("the pins are not set up"),
        })
    }
}

impl Board for Virt {
    fn now(&self) -> Instant {
        Instant::from_micros(rt::mtime() / 10)
    }

    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        println!("{} {}: {message}", app.name.as_str(), level.name());
    }

    fn trace(&mut self, app: &AppInfo, event: Trace<'_>) {
        match event {
            Trace::PinWritten { .. } => {
                WRITES.fetch_add(1, Ordering::Relaxed);
            }
            Trace::Denied(_) => {
                println!("{} DENIED (pin 7 is not in its manifest)", app.name.as_str());
                DENIED.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

impl Gpio for Virt {
    fn configure(&mut self, pin: u32, mode: PinMode) -> Result<(), Errno> {
        self.pins(|p| p.configure(pin, mode))
    }
    fn read(&mut self, pin: u32) -> Result<bool, Errno> {
        self.pins(|p| p.read(pin))
    }
    fn write(&mut self, pin: u32, high: bool) -> Result<(), Errno> {
        self.pins(|p| p.write(pin, high))
    }
    fn toggle(&mut self, pin: u32) -> Result<bool, Errno> {
        self.pins(|p| p.toggle(pin))
    }
    fn take_edge(&mut self, pin: u32, edges: Edges) -> Result<Option<Edge>, Errno> {
        self.pins(|p| p.take_edge(pin, edges))
    }
}

/// Installs the app as a device does (its native code taken: this
/// firmware trusts the build), runs it to its end and checks what the
/// guard let through.
pub fn whole_app() {
    let pins = PinBank::new(core::array::from_fn(|_| PinSlot::Output(MemoryPin::new(false))));
    critical_section::with(|cs| *PINS.borrow_ref_mut(cs) = Some(pins));
    // The device's policy allows pins 2 and 7; the app's manifest grants 2.
    let allow = CapabilitySet {
        gpio: Some(GpioScope::new(Default::default(), [2, 7].into_iter().collect(), Default::default())),
        timer: true,
        log: true,
        ..CapabilitySet::default()
    };
    let policy = Policy { allow, max_memory: 64 * 1024, max_cpu_budget: 10_000_000, ..Policy::deny_all() };
    let runtime = Runtime::new(Default::default(), Bridge::with_builtins(), policy);
    // SAFETY: build.rs made APP for this firmware; without the interpreter
    // nothing is compiled from the wasm, only its sections read.
    let app = match unsafe { runtime.load_unchecked(APP) } {
        Ok(app) => app,
        Err(e) => {
            println!("load: {e}");
            fail("the sandbox did not take the app")
        }
    };
    let Ok(Some(blob)) = akira_aot::format::find_in_wasm(APP) else { fail("no native code in the app") };
    let Ok(app) = app.with_native_code(blob) else { fail("native code refused") };
    let mut sched = Scheduler::new(runtime);
    let never = RestartPolicy { restart: Restart::Never, ..RestartPolicy::default() };
    let (spawned, spawn) = rt::counted(|| sched.spawn(app, Virt, never).is_ok());
    if !spawned {
        fail("the app did not start");
    }
    let mut last = None;
    let now = || Instant::from_micros(rt::mtime() / 10);
    let start = rt::mtime();
    while sched.poll(now(), |_, event| last = Some(event.clone())).live > 0 {}
    let micros = (rt::mtime() - start) / 10;
    let led = Virt.pins(|p| p.read(2));
    match last {
        // Six granted writes (0 each) minus the refused one (-1).
        Some(Event::Exited(1)) => {}
        Some(Event::Faulted(Fault::Host(ref e))) => {
            println!("fault: {e}");
            fail("the app faulted")
        }
        other => {
            println!("the app ended with {other:?}");
            fail("the app did not exit with 1")
        }
    }
    if WRITES.load(Ordering::Relaxed) != 6 || DENIED.load(Ordering::Relaxed) != 1 || led != Ok(false) {
        fail("the guard's writes and refusals");
    }
    // Six sleeps of 1 ms: at least 6 ms of virtual time passed.
    if micros < 6_000 {
        fail("the app did not sleep");
    }
    println!(
        "sandbox: native app Exited(1) after {micros} us: 6 guarded writes, pin 7 refused, log written (spawn {spawn} instructions)"
    );
}
