//! Measurements of Akira on an emulated Cortex-M4 (QEMU `mps2-an386`),
//! kept apart from the product firmware (`src/main.rs`) so benchmark code
//! never counts in its size.
//!
//! 1. Runs a built-in app through the sandbox, the guard and the bridge.
//! 2. Measures the guard, a guarded host call, a bare wasmi host call and
//!    a compute kernel (instruction counts under `-icount shift=0`), heap
//!    per app and stack high-water, and prints them as `figure NAME VALUE`.
//! 3. Exits through semihosting: 0 when the built-in app did what it should.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::hint::black_box;

use core::sync::atomic::{AtomicU32, Ordering};

use akira_bridge::wasmi;
use akira_bridge::{AppInfo, Board, Bridge, Edge, Edges, Errno, Gpio, Instant, Level, PinMode};
use akira_caps::scope::GpioScope;
use akira_caps::{Capability, Grants, Guard, PinAccess, Policy};
use akira_qemu_mps2_an386::board::Mps2;
use akira_qemu_mps2_an386::{clock, exit, heap, init_heap, stack};
use akira_sandbox::{Event, LoadError, LoadedApp, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Step};
use cortex_m_rt::entry;
use defmt::{info, println};

mod built {
    include!(concat!(env!("OUT_DIR"), "/calls.rs"));
}

const HELLO: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hello.wasm"));
const BENCH_EMPTY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_empty.wasm"));
const BENCH_GUARDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_guarded.wasm"));
const BENCH_DENIED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_denied.wasm"));
const BENCH_FIB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_fib.wasm"));

/// Heap for wasmi (modules, stores, stacks).
const HEAP_SIZE: usize = 256 * 1024;

/// What the benchmark apps may have: LEDs 2 to 7, the buttons, the timer,
/// the console; 64 KiB of memory per app.
fn policy() -> Policy {
    let mut p = Policy::deny_all();
    p.max_memory = 64 * 1024;
    p.max_cpu_budget = 1_000_000_000;
    p.allow.gpio = Some(GpioScope::new([0, 1].into_iter().collect(), (2..=7).collect(), [0, 1].into_iter().collect()));
    p.allow.timer = true;
    p.allow.log = true;
    p.allow.sys = true;
    p
}

/// A board whose pin write is one register write (an output register per
/// pin, as a Cortex-M bit-band alias of an output data register gives),
/// with no tracing and no shared state to lock: the floor a guarded
/// `gpio.write` can reach, so that the figures say what is the guard's and
/// what is the product board's (`Mps2`: a critical section around its
/// `PinBank`, and a trace of every write for its log).
#[derive(Clone, Copy)]
struct Lean;

/// The output registers, one per pin.
static OUT: [AtomicU32; 16] = [const { AtomicU32::new(0) }; 16];

impl Board for Lean {
    fn now(&self) -> Instant {
        Instant::from_micros(clock::micros())
    }

    fn log(&mut self, _: &AppInfo, _: Level, _: &str) {}
}

impl Gpio for Lean {
    fn configure(&mut self, _: u32, _: PinMode) -> Result<(), Errno> {
        Ok(())
    }
    fn read(&mut self, pin: u32) -> Result<bool, Errno> {
        Ok(OUT[(pin & 15) as usize].load(Ordering::Relaxed) != 0)
    }
    fn write(&mut self, pin: u32, high: bool) -> Result<(), Errno> {
        OUT[(pin & 15) as usize].store(u32::from(high), Ordering::Relaxed);
        Ok(())
    }
    fn toggle(&mut self, _: u32) -> Result<bool, Errno> {
        Err(Errno::Unsupported)
    }
    fn take_edge(&mut self, _: u32, _: Edges) -> Result<Option<Edge>, Errno> {
        Ok(None)
    }
}

/// Runs every app of `sched` until none is live; returns the exit code of
/// the last app that exited (faults give -1).
fn run_all(sched: &mut Scheduler<Mps2>) -> i32 {
    let mut last = 0;
    loop {
        let round = sched.poll(Mps2.now(), |app, event| {
            let name = app.name.as_str();
            match event {
                Event::Exited(code) => {
                    last = *code;
                    info!("{=str}: exited with {=i32}", name, code);
                }
                Event::Faulted(fault) => {
                    last = -1;
                    info!("{=str}: FAULT {}", name, fault);
                }
                other => info!("{=str}: {}", name, other),
            }
        });
        if round.live == 0 {
            return last;
        }
        if !round.busy {
            // SysTick wakes the core every millisecond.
            cortex_m::asm::wfi();
        }
    }
}

/// Loads an app built into this firmware (build.rs made it). Without the
/// `validate` feature wasmi skips validation: the firmware made these
/// modules itself.
fn load_builtin<B: Board>(runtime: &Runtime<B>, wasm: &'static [u8]) -> Result<LoadedApp, LoadError> {
    #[cfg(feature = "validate")]
    return runtime.load(wasm);
    // SAFETY: `wasm` is one of the modules build.rs compiled into this
    // firmware from WAT, so it is valid.
    #[cfg(not(feature = "validate"))]
    unsafe {
        runtime.load_unchecked(wasm)
    }
}

/// A module built into this firmware, compiled without the sandbox's
/// checks (the bare-wasmi baseline).
fn bare_builtin<B: Board>(runtime: &Runtime<B>, wasm: &[u8]) -> Result<wasmi::Module, wasmi::Error> {
    #[cfg(feature = "validate")]
    return wasmi::Module::new(runtime.engine(), wasm);
    // SAFETY: a module build.rs made, with one import renamed to a name
    // of the same length (still valid).
    #[cfg(not(feature = "validate"))]
    unsafe {
        wasmi::Module::new_unchecked(runtime.engine(), wasm)
    }
}

/// Stops the run when a benchmark app cannot be set up.
fn fail(what: &str) -> ! {
    defmt::error!("benchmark set-up failed: {=str}", what);
    exit(false)
}

/// Nanoseconds of virtual time (= instructions under -icount shift=0) to
/// run `wasm` from its first instruction to its exit.
fn time_app<B: Board>(runtime: &Runtime<B>, board: B, wasm: &'static [u8]) -> u64 {
    let Ok(app) = load_builtin(runtime, wasm) else { fail("load") };
    let Ok(mut instance) = runtime.instantiate(&app, 99, board) else { fail("instantiate") };
    let start = clock::micros();
    loop {
        match instance.step() {
            Step::Yielded => continue,
            Step::Exited(_) => break,
            _ => fail("the app stopped"),
        }
    }
    (clock::micros() - start) * 1000
}

/// Nanoseconds for `CALLS` calls of a bare wasmi host function (no
/// guard, no board), the baseline for the guarded call.
fn time_bare_wasmi<B: Board>(runtime: &Runtime<B>) -> u64 {
    let Ok(module) = bare_builtin(runtime, &bare_module()) else { fail("bare module") };
    let mut store = wasmi::Store::new(runtime.engine(), ());
    let _ = store.set_fuel(u64::MAX / 2);
    let mut linker = wasmi::Linker::<()>::new(runtime.engine());
    let _ = linker.func_wrap("env_______", "f____", |_: i32, _: i32| -> i32 { 0 });
    let Ok(instance) = linker.instantiate_and_start(&mut store, &module) else { fail("bare instance") };
    let Ok(main) = instance.get_typed_func::<(), i32>(&store, "akira_main") else { fail("bare entry") };
    let start = clock::micros();
    let _ = main.call(&mut store, ());
    (clock::micros() - start) * 1000
}

/// The guarded benchmark app with its import renamed in place to
/// `env_______.f____` (same lengths, so the binary stays valid), for a
/// plain wasmi host function.
fn bare_module() -> Vec<u8> {
    let mut wasm = BENCH_GUARDED.to_vec();
    let import = b"\x0aakira:gpio\x05write";
    if let Some(at) = wasm.windows(import.len()).position(|w| w == import) {
        wasm[at + 1..at + 11].copy_from_slice(b"env_______");
        wasm[at + 12..at + 17].copy_from_slice(b"f____");
    }
    wasm
}

/// Instructions per guard check (virtual ns with -icount shift=0), minus
/// the loop around it.
fn time_guard() -> (u64, u64) {
    const N: u32 = 100_000;
    let caps = akira_caps::CapabilitySet {
        gpio: Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default())),
        ..Default::default()
    };
    let mut guard = Guard::new(Grants::compile(&caps));
    let start = clock::micros();
    for i in 0..N {
        black_box(black_box(&mut guard).pin(black_box(2), PinAccess::Output).is_ok());
        black_box(i);
    }
    let checks = clock::micros() - start;
    // The same loop without the check: the guard and the pin go through
    // black_box as above, and a field of the grants is read instead.
    let start = clock::micros();
    for i in 0..N {
        black_box(black_box(&mut guard).grants().storage_quota() ^ black_box(2));
        black_box(i);
    }
    let harness = clock::micros() - start;
    let _ = guard.denials(Capability::Gpio);
    (checks * 1000 / u64::from(N), harness * 1000 / u64::from(N))
}

#[entry]
fn main() -> ! {
    stack::paint();
    init_heap!(HEAP_SIZE);
    let Some(core) = cortex_m::Peripherals::take() else { exit(false) };
    clock::start(core.SYST);
    let board = Mps2::init(None);
    info!("akira benchmarks on mps2-an386 (Cortex-M4, QEMU)");

    let config = RuntimeConfig { max_stack_bytes: 16 * 1024, max_module_bytes: 128 * 1024, ..RuntimeConfig::default() };
    let runtime = Runtime::new(config.clone(), Bridge::with_builtins(), policy());

    // 1. The built-in app.
    let before = heap::live();
    heap::reset_peak();
    let Ok(hello) = load_builtin(&runtime, HELLO) else { fail("built-in app refused") };
    let loaded = heap::live() - before;
    let mut sched = Scheduler::new(runtime);
    if sched.spawn(hello, board, RestartPolicy::never()).is_err() {
        fail("built-in app not started");
    }
    let instance = heap::live() - before;
    let code = run_all(&mut sched);
    let peak = heap::peak() - before;
    info!("built-in app exited with {=i32}", code);

    // 2. Figures.
    board.set_quiet(true);
    let runtime = sched.runtime();
    let calls = u64::from(built::CALLS);
    let (guard, harness) = time_guard();
    let empty = time_app(runtime, board, BENCH_EMPTY);
    let product = time_app(runtime, board, BENCH_GUARDED);
    let denied = time_app(runtime, board, BENCH_DENIED);
    let bare = time_bare_wasmi(runtime);
    let fib = time_app(runtime, board, BENCH_FIB);
    board.set_quiet(false);
    let lean = Runtime::new(config, Bridge::with_builtins(), policy());
    let lean_empty = time_app(&lean, Lean, BENCH_EMPTY);
    let guarded = time_app(&lean, Lean, BENCH_GUARDED);
    println!("figure guard-check-ns {=u64} (loop alone {=u64})", guard, harness);
    println!("figure guarded-call-ns {=u64}", (guarded - lean_empty) / calls);
    println!("figure guarded-call-product-board-ns {=u64}", (product - empty) / calls);
    println!("figure denied-call-ns {=u64}", (denied - empty) / calls);
    println!("figure bare-wasmi-call-ns {=u64}", bare.saturating_sub(empty) / calls);
    println!("figure fib20-ns {=u64}", fib);
    println!("figure heap-module-bytes {=usize}", loaded);
    println!("figure heap-instance-bytes {=usize}", instance);
    println!("figure heap-peak-bytes {=usize}", peak);
    println!("figure stack-high-water-bytes {=usize}", stack::high_water());
    // The built-in app ends by writing an ungranted pin: the guard refuses
    // it (-1), and the app returns that plus one.
    exit(code == 0)
}
