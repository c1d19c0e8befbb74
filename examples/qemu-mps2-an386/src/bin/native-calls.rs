//! The direct path from native code to the bridge, measured (feature
//! `native`: no interpreter): an app making 10 000 guarded
//! `akira:gpio.write` calls in a loop runs as native code, its host calls
//! going straight into akira-bridge's native `Linker`, from spawn (the
//! native code's load included) to exit. Under QEMU with
//! `-icount shift=0` virtual nanoseconds are instructions; the `aot` bin
//! prints the same app's figure on a firmware with the interpreter, where
//! native host calls go through wasmi's `Func::call`.
//!
//! ```sh
//! cargo build --release --no-default-features --features native --bin native-calls
//! ./run.sh target/thumbv7em-none-eabihf/release/native-calls
//! ```

#![no_std]
#![no_main]

extern crate alloc;

use akira_bridge::Bridge;
use akira_caps::Policy;
use akira_caps::scope::{CapabilitySet, GpioScope};
use akira_qemu_mps2_an386::board::Mps2;
use akira_qemu_mps2_an386::{clock, exit, init_heap};
use akira_sandbox::{Event, Restart, RestartPolicy, Runtime, Scheduler};
use cortex_m_rt::entry;
use defmt::{error, println};

/// The loop of guarded calls with its native code (build.rs).
const CALLS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/native-calls.wasm"));

fn fail(what: &str) -> ! {
    error!("native-calls: {=str}", what);
    exit(false)
}

#[entry]
fn main() -> ! {
    init_heap!(96 * 1024);
    let Some(core) = cortex_m::Peripherals::take() else { exit(false) };
    clock::start(core.SYST);
    let board = Mps2::init(None);
    let allow = CapabilitySet {
        gpio: Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default())),
        ..CapabilitySet::default()
    };
    let policy = Policy { allow, max_memory: 64 * 1024, max_cpu_budget: 10_000_000, ..Policy::deny_all() };
    let runtime = Runtime::new(Default::default(), Bridge::with_builtins(), policy);
    // SAFETY: build.rs made CALLS for this firmware; without the
    // interpreter nothing is compiled from the wasm, only its sections read.
    let Ok(app) = (unsafe { runtime.load_unchecked(CALLS) }) else { fail("the app did not load") };
    let Ok(Some(blob)) = akira_aot::format::find_in_wasm(CALLS) else { fail("no native code") };
    let Ok(app) = app.with_native_code(blob) else { fail("native code refused") };
    let mut sched = Scheduler::new(runtime);
    board.set_quiet(true);
    let start = clock::micros();
    let never = RestartPolicy { restart: Restart::Never, ..RestartPolicy::default() };
    if sched.spawn(app, board, never).is_err() {
        fail("the app did not start");
    }
    let mut last = None;
    let now = || akira_bridge::Instant::from_micros(clock::micros());
    while sched.poll(now(), |_, event| last = Some(event.clone())).live > 0 {}
    let ns = (clock::micros() - start) * 1000;
    board.set_quiet(false);
    if last != Some(Event::Exited(0)) {
        fail("the app did not exit with 0");
    }
    println!(
        "figure native-only-10k-calls-ns {=u64} (spawn to exit, 10 000 guarded gpio.write, direct host calls)",
        ns
    );
    exit(true)
}
