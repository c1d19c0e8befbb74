//! Akira on an emulated Cortex-M4 (QEMU `mps2-an386`).
//!
//! 1. Runs a built-in app through the sandbox, the guard and the bridge.
//! 2. Measures the guard, a guarded host call, a bare wasmi host call and
//!    a compute kernel (instruction counts under `-icount shift=0`), heap
//!    per app and stack high-water.
//! 3. Waits on UART1 for a signed package (`akira push`), installs it in
//!    the OTA store (on a RAM region that keeps NOR rules: QEMU has no
//!    flash model), runs it, and exits through semihosting with the app's
//!    exit code, so a test can assert on it.

#![no_std]
#![no_main]

mod board;
mod clock;
mod stack;
mod uart;

extern crate alloc;

use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::hint::black_box;
use core::sync::atomic::{AtomicUsize, Ordering};

use akira_bridge::wasmi;
use akira_bridge::{Board, Bridge};
use akira_caps::scope::GpioScope;
use akira_caps::{Capability, Grants, Guard, PinAccess, Policy};
use akira_sandbox::{Event, LoadError, LoadedApp, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Step};
use board::Mps2;
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use embedded_alloc::LlffHeap;

mod built {
    include!(concat!(env!("OUT_DIR"), "/calls.rs"));
}

const HELLO: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hello.wasm"));
const BENCH_EMPTY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_empty.wasm"));
const BENCH_GUARDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_guarded.wasm"));
const BENCH_DENIED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_denied.wasm"));
const BENCH_FIB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_fib.wasm"));

/// Heap for wasmi (modules, stores, stacks) and the firmware.
const HEAP_SIZE: usize = 1024 * 1024;

/// The allocator, counting live and peak bytes for the figures.
struct Counting {
    heap: LlffHeap,
    live: AtomicUsize,
    peak: AtomicUsize,
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded to the heap with the caller's layout.
        let p = unsafe { self.heap.alloc(layout) };
        if !p.is_null() {
            let live = self.live.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            self.peak.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static HEAP: Counting = Counting { heap: LlffHeap::empty(), live: AtomicUsize::new(0), peak: AtomicUsize::new(0) };

macro_rules! println {
    ($($t:tt)*) => { Mps2.print(format_args!($($t)*)) };
}

// After `println!`, which it uses.
#[cfg(feature = "validate")]
mod ota;
#[cfg(feature = "validate")]
use ota::over_the_air;

fn exit(success: bool) -> ! {
    debug::exit(if success { EXIT_SUCCESS } else { EXIT_FAILURE });
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    println!("HARD FAULT at pc {:#010x}", frame.pc());
    exit(false)
}

#[exception]
unsafe fn DefaultHandler(irq: i16) {
    println!("unexpected interrupt {irq}");
    exit(false)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("PANIC: {info}");
    exit(false)
}

/// What this device lets apps have: LEDs 2 to 7, the buttons, the timer,
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
                    println!("{name}: exited with {code}");
                }
                Event::Faulted(fault) => {
                    last = -1;
                    println!("{name}: FAULT {fault}");
                }
                other => println!("{name}: {other:?}"),
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
/// `validate` feature, a firmware that runs only such apps, wasmi skips
/// validation; apps from elsewhere always need it.
fn load_builtin(runtime: &Runtime<Mps2>, wasm: &'static [u8]) -> Result<LoadedApp, LoadError> {
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
fn bare_builtin(runtime: &Runtime<Mps2>, wasm: &[u8]) -> Result<wasmi::Module, wasmi::Error> {
    #[cfg(feature = "validate")]
    return wasmi::Module::new(runtime.engine(), wasm);
    // SAFETY: a module build.rs made, with one import renamed to a name
    // of the same length (still valid).
    #[cfg(not(feature = "validate"))]
    unsafe {
        wasmi::Module::new_unchecked(runtime.engine(), wasm)
    }
}

/// Nanoseconds of virtual time (= instructions under -icount shift=0) to
/// run `wasm` from its first instruction to its exit.
fn time_app(runtime: &Runtime<Mps2>, wasm: &'static [u8]) -> u64 {
    let app = load_builtin(runtime, wasm).unwrap_or_else(|e| panic!("bench app: {e}"));
    let mut instance = runtime.instantiate(&app, 99, Mps2).unwrap_or_else(|e| panic!("bench app: {e}"));
    let start = clock::micros();
    loop {
        match instance.step() {
            Step::Yielded => continue,
            Step::Exited(_) => break,
            other => panic!("bench app stopped: {other:?}"),
        }
    }
    (clock::micros() - start) * 1000
}

/// Nanoseconds for `CALLS` calls of a bare wasmi host function (no
/// guard, no board), the baseline for the guarded call.
fn time_bare_wasmi(runtime: &Runtime<Mps2>) -> u64 {
    let module = bare_builtin(runtime, &bare_module()).unwrap_or_else(|e| panic!("bare: {e}"));
    let mut store = wasmi::Store::new(runtime.engine(), ());
    let _ = store.set_fuel(u64::MAX / 2);
    let mut linker = wasmi::Linker::<()>::new(runtime.engine());
    let _ = linker.func_wrap("env_______", "f____", |_: i32, _: i32| -> i32 { 0 });
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap_or_else(|e| panic!("bare: {e}"));
    let main = instance.get_typed_func::<(), i32>(&store, "akira_main").unwrap_or_else(|e| panic!("bare: {e}"));
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
    let start = clock::micros();
    for i in 0..N {
        black_box(black_box(&mut guard).grants().storage_quota());
        black_box(i);
    }
    let harness = clock::micros() - start;
    let _ = guard.denials(Capability::Gpio);
    (checks * 1000 / u64::from(N), harness * 1000 / u64::from(N))
}

#[entry]
fn main() -> ! {
    stack::paint();
    {
        static mut HEAP_MEM: [u8; HEAP_SIZE] = [0; HEAP_SIZE];
        // SAFETY: called once, before any allocation; the region is ours.
        unsafe { HEAP.heap.init(core::ptr::addr_of_mut!(HEAP_MEM) as usize, HEAP_SIZE) }
    }
    let core = cortex_m::Peripherals::take().unwrap_or_else(|| exit(false));
    clock::start(core.SYST);
    let board = Mps2::init(uart::Uart::new(uart::UART0));
    println!("akira on mps2-an386 (Cortex-M4, QEMU): sandbox, guard, bridge, OTA store");

    let policy = policy();
    let config = RuntimeConfig { max_stack_bytes: 16 * 1024, max_module_bytes: 128 * 1024, ..RuntimeConfig::default() };
    let runtime = Runtime::new(config, Bridge::with_builtins(), policy.clone());

    // 1. The built-in app.
    let before = HEAP.live.load(Ordering::Relaxed);
    HEAP.peak.store(before, Ordering::Relaxed);
    let hello = load_builtin(&runtime, HELLO).unwrap_or_else(|e| panic!("built-in app refused: {e}"));
    let loaded = HEAP.live.load(Ordering::Relaxed) - before;
    let mut sched = Scheduler::new(runtime);
    if let Err(e) = sched.spawn(hello, board, RestartPolicy::never()) {
        panic!("built-in app: {e}");
    }
    let instance = HEAP.live.load(Ordering::Relaxed) - before;
    let code = run_all(&mut sched);
    println!(
        "built-in app exited with {code}; heap: module {loaded} B, with instance {instance} B, peak {} B",
        HEAP.peak.load(Ordering::Relaxed) - before
    );

    // 2. Figures.
    board.set_quiet(true);
    let runtime = sched.runtime();
    let calls = u64::from(built::CALLS);
    let (guard, harness) = time_guard();
    let empty = time_app(runtime, BENCH_EMPTY);
    let guarded = time_app(runtime, BENCH_GUARDED);
    let denied = time_app(runtime, BENCH_DENIED);
    let bare = time_bare_wasmi(runtime);
    let fib = time_app(runtime, BENCH_FIB);
    board.set_quiet(false);
    println!("figure guard-check-ns {guard} (loop alone {harness})");
    println!("figure guarded-call-ns {}", (guarded - empty) / calls);
    println!("figure denied-call-ns {}", (denied - empty) / calls);
    println!("figure bare-wasmi-call-ns {}", bare.saturating_sub(empty) / calls);
    println!("figure fib20-ns {fib}");
    println!("figure stack-high-water-bytes {}", stack::high_water());

    // 3. Over the air.
    over_the_air(&mut sched, board, &policy)
}

/// Built without validation: this firmware runs only its own apps.
#[cfg(not(feature = "validate"))]
fn over_the_air(_: &mut Scheduler<Mps2>, _: Mps2, _: &Policy) -> ! {
    println!("built without validation: not taking packages over the air");
    exit(true)
}
