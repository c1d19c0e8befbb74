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

use alloc::vec;
use alloc::vec::Vec;
use core::alloc::{GlobalAlloc, Layout};
use core::hint::black_box;
use core::sync::atomic::{AtomicUsize, Ordering};

use akira_bridge::wasmi;
use akira_bridge::{Board, Bridge, Instant};
use akira_caps::scope::GpioScope;
use akira_caps::{Capability, Grants, Guard, PinAccess, Policy};
use akira_ota::frame::{self, FrameReader, MAX_FRAME};
use akira_ota::package::{Accepted, TrustPolicy, TrustedKey};
use akira_ota::protocol::{Detail, Request};
use akira_ota::ram_flash::RamFlash;
use akira_ota::server::{Outcome, Session, Verifier};
use akira_ota::store::{BlockingFlash, BlockingStore, Region, Staging, Store, StoreConfig};
use akira_sandbox::{Event, RestartPolicy, Runtime, RuntimeConfig, Scheduler, Step};
use board::Mps2;
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use embedded_alloc::LlffHeap;

mod built {
    include!(concat!(env!("OUT_DIR"), "/calls.rs"));
}

/// The key this firmware trusts for OTA packages (a test key: its secret
/// half is in this directory so CI can sign; never ship it).
const TRUSTED_KEY: [u8; 32] = akira_ota::package::public_key_from_hex(include_str!("../test-signer.pub"));

const HELLO: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hello.wasm"));
const BENCH_EMPTY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_empty.wasm"));
const BENCH_GUARDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_guarded.wasm"));
const BENCH_DENIED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_denied.wasm"));
const BENCH_FIB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/bench_fib.wasm"));

/// Heap for wasmi (modules, stores, stacks) and the firmware.
const HEAP_SIZE: usize = 1024 * 1024;
/// The OTA store's "flash": a RAM region (QEMU has no flash model).
const STORE_SIZE: usize = 256 * 1024;

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

/// Nanoseconds of virtual time (= instructions under -icount shift=0) to
/// run `wasm` from its first instruction to its exit.
fn time_app(runtime: &Runtime<Mps2>, wasm: &[u8]) -> u64 {
    let app = runtime.load(wasm).unwrap_or_else(|e| panic!("bench app: {e}"));
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
    let module = wasmi::Module::new(runtime.engine(), bare_module()).unwrap_or_else(|e| panic!("bare: {e}"));
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

/// The firmware's install check: the sandbox's full load of the staged
/// image under the signer's policy.
struct FirmwareCheck<'r> {
    runtime: &'r Runtime<Mps2>,
    policy: &'r Policy,
}

type StoreFlash = BlockingFlash<RamFlash<'static, 4, 4096>>;

impl Verifier<StoreFlash> for FirmwareCheck<'_> {
    async fn verify(
        &mut self,
        store: &mut Store<StoreFlash>,
        staging: &mut Staging,
        _: &Accepted,
    ) -> Result<(), Detail> {
        let mut wasm = vec![0u8; staging.len() as usize];
        store.read_staged(staging, 0, &mut wasm).await.map_err(|_| detail("cannot read the staged image"))?;
        self.runtime.load_with_policy(&wasm, self.policy).map(|_| ()).map_err(|e| {
            let mut d = Detail::new();
            let _ = core::fmt::write(&mut Cut(&mut d), format_args!("{e}"));
            d
        })
    }
}

struct Cut<'a>(&'a mut Detail);

impl core::fmt::Write for Cut<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}

fn detail(text: &str) -> Detail {
    let mut d = Detail::new();
    let _ = core::fmt::write(&mut Cut(&mut d), format_args!("{text}"));
    d
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
    let hello = runtime.load(HELLO).unwrap_or_else(|e| panic!("built-in app refused: {e}"));
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
    // Zeroed (in .bss, not the image); RamFlash erases it to 0xFF.
    static mut STORE_MEM: [u8; STORE_SIZE] = [0; STORE_SIZE];
    // SAFETY: taken once, here; nothing else refers to the region.
    let store_mem = unsafe { &mut *core::ptr::addr_of_mut!(STORE_MEM) };
    let flash = RamFlash::<4, 4096>::new(store_mem);
    let mut store = BlockingStore::open(
        flash,
        Region { offset: 0, size: STORE_SIZE as u32 },
        StoreConfig { meta_sectors: 2, slots: 3 },
    )
    .unwrap_or_else(|e| panic!("store: {e}"));
    let keys = [TrustedKey { name: "test-signer", public_key: TRUSTED_KEY, policy: &policy }];
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let mut session = Session::new(&trust, false);
    let mut check = FirmwareCheck { runtime: sched.runtime(), policy: &policy };
    let mut link = uart::Uart::new(uart::UART1);
    let mut reader = FrameReader::<MAX_FRAME>::new();
    println!("waiting for a package on UART1 (akira push)");
    let installed = loop {
        let (response, outcome) = match reader.read(&mut link) {
            Ok(bytes) => match frame::decode::<Request<'_>>(bytes) {
                Ok(request) => akira_ota::block_on(session.handle(request, store.as_async(), &mut check)),
                Err(e) => {
                    (akira_ota::protocol::Response::error(akira_ota::protocol::ErrorCode::BadFrame, e.as_str()), None)
                }
            },
            Err(_) => continue,
        };
        let _ = frame::write_frame(&mut link, &response);
        if let Some(Outcome::Installed { name, image }) = outcome {
            println!("installed {name} {} ({} bytes) from UART1", image.version, image.len);
            break (name, image);
        }
    };

    let (name, image) = installed;
    let mut wasm = vec![0u8; image.len as usize];
    if store.read(&image, 0, &mut wasm).is_err() || !store.verify(&image).unwrap_or(false) {
        panic!("installed image unreadable");
    }
    let app = sched.runtime().load_with_policy(&wasm, &policy).unwrap_or_else(|e| panic!("{name}: {e}"));
    drop(wasm);
    if let Err(e) = sched.spawn(app, board, RestartPolicy::never()) {
        panic!("{name}: {e}");
    }
    let code = run_all(&mut sched);
    println!("pushed app {name} exited with {code} at {}", Instant::from_micros(clock::micros()));
    exit(code == 0)
}
