//! The AOT tier on an emulated Cortex-M4 (feature `aot`): the kernels of
//! examples/apps/aot-kernels run ahead-of-time compiled (akira-aot), under
//! the interpreter (wasmi, as the sandbox runs apps) and natively, with
//! the same results; containment (out-of-bounds access, runaway loop,
//! runaway recursion, a call the guard refuses, an import never granted)
//! is checked; instruction counts (`-icount shift=0`: virtual ns) are
//! printed as `figure NAME VALUE`. Then whole apps (phase 2, `apps.rs`):
//! native code on its own stack, suspending in host calls, beside
//! interpreted copies, and the same faults (and, `stack.rs`, each app's
//! stack use against its blob's bound); a compute-bound native app
//! sharing the CPU in time slices with a sleeping one; then the device loop takes
//! packages on UART1 and runs the native code of `akira pack --aot`
//! packages (run-ci.sh pushes one). A failed check exits through
//! semihosting with 1.
//!
//! `cargo run --release --features aot --bin aot`

#![no_std]
#![no_main]

extern crate alloc;

mod apps;
mod stack;

use alloc::vec::Vec;
use core::cell::RefCell;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU32, Ordering};

use akira_aot::format::{Blob, Import, ImportKind};
use akira_aot::link::LinkError;
use akira_aot::trust::{TrustError, blob_from_package};
use akira_aot::{AotError, Limits, Module, Trap};
use akira_bridge::wasmi;
use akira_caps::scope::GpioScope;
use akira_caps::{CapabilitySet, Grants, Guard, PinAccess, Policy};
use akira_ota::package::{Accepted, Event, PackageReader, Rights, TrustPolicy, TrustedKey, public_key_from_hex};
use akira_qemu_mps2_an386::{clock, exit, init_heap};
use cortex_m_rt::entry;
use critical_section::Mutex;
use defmt::{error, info, println};

/// The kernels' package, signed by the test key: their wasm, with the AOT
/// blob in its `akira.aot` section.
const KERNELS_PKG: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kernels.akpkg"));
const TEST_SIGNER: [u8; 32] = public_key_from_hex(include_str!("../../../test-signer.pub"));
const GPIO_AOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/gpio.aot"));

unsafe extern "C" {
    // examples/apps/aot-kernels/kernels.c compiled natively (build.rs).
    fn kernel_crc32(n: u32) -> u32;
    fn kernel_sha256(n: u32) -> u32;
    fn kernel_matmul(n: u32) -> u32;
    fn kernel_sort(n: u32) -> u32;
}

/// Heap for wasmi (module, store, its 64 KiB linear memory) and the
/// whole apps of `apps.rs` (ten instances, native regions and stacks).
const HEAP_SIZE: usize = 1024 * 1024;
/// Linear memory and tables of an AOT module (one 64 KiB page here).
const AOT_MEMORY: u32 = 80 * 1024;
/// Native stack an AOT call may take.
const AOT_STACK: u32 = 16 * 1024;

/// The RAM an AOT module's code, data and memory live in.
#[repr(C, align(4096))]
struct Region([u8; 96 * 1024]);
static mut REGION: Region = Region([0; 96 * 1024]);
static mut REGION2: Region = Region([0; 96 * 1024]);

/// LEDs as the guarded host function drives them.
static LEDS: [AtomicU32; 16] = [const { AtomicU32::new(0) }; 16];
/// The guard of the app whose AOT code runs (per-app data, as the sandbox
/// keeps it in its `Store`).
static GUARD: Mutex<RefCell<Option<Guard>>> = Mutex::new(RefCell::new(None));

/// `akira:gpio.write` for AOT code: the C-ABI trampoline checks the pin
/// with the app's guard (one bit test) and returns 0 or -1, as the
/// bridge's function does for interpreted apps.
extern "C" fn gpio_write(_instance: *mut c_void, pin: u32, level: u32) -> u32 {
    critical_section::with(|cs| {
        let mut guard = GUARD.borrow_ref_mut(cs);
        match guard.as_mut().map(|g| g.pin(pin, PinAccess::Output)) {
            Some(Ok(())) => {
                LEDS[(pin & 15) as usize].store(level, Ordering::Relaxed);
                0
            }
            _ => u32::MAX,
        }
    })
}

/// The install-time half of the guard: imports the app's grants cover are
/// bound to their trampolines; anything else is refused.
fn bind_granted(gpio_granted: bool) -> impl FnMut(&Import<'_>) -> Option<usize> {
    move |import| match (import.kind, import.module, import.name) {
        (ImportKind::WasmFunction, "akira:gpio", "write") if gpio_granted => Some(gpio_write as *const () as usize),
        _ => None,
    }
}

fn fail(what: &str) -> ! {
    error!("AOT check failed: {=str}", what);
    exit(false)
}

/// Runs `f`, giving its result and the virtual nanoseconds (= instructions) it took.
fn timed(f: impl FnOnce() -> u32) -> (u32, u64) {
    let start = clock::micros();
    let r = f();
    (r, (clock::micros() - start) * 1000)
}

/// Reads the kernels' package as the device's installer does, with the
/// test key trusted with `rights`: the accepted header and the verified wasm.
fn read_package(rights: Rights) -> (Accepted, Vec<u8>) {
    let mut policy = Policy::deny_all();
    policy.max_memory = 65_536;
    policy.max_cpu_budget = 1_000_000_000;
    let keys = [TrustedKey { name: "test-signer", public_key: TEST_SIGNER, policy: &policy, rights }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let mut reader = PackageReader::new(&trust, 64 * 1024);
    let (mut wasm, mut rest) = (Vec::new(), KERNELS_PKG);
    while !reader.is_done() {
        match reader.next(rest) {
            Ok((used, event)) => {
                if let Some(Event::Wasm(bytes)) = event {
                    wasm.extend_from_slice(bytes);
                }
                rest = &rest[used..];
            }
            Err(e) => {
                error!("package: {}", e);
                fail("the kernels' package was refused")
            }
        }
    }
    let Some(accepted) = reader.accepted().cloned() else { fail("no accepted header") };
    (accepted, wasm)
}

struct Interpreter {
    store: wasmi::Store<()>,
    instance: wasmi::Instance,
}

impl Interpreter {
    fn new(wasm: &[u8]) -> Interpreter {
        let mut config = wasmi::Config::default();
        // Apps run with fuel under the sandbox; so does this baseline.
        config.consume_fuel(true);
        let engine = wasmi::Engine::new(&config);
        let Ok(module) = wasmi::Module::new(&engine, wasm) else { fail("wasmi module") };
        let mut store = wasmi::Store::new(&engine, ());
        let _ = store.set_fuel(u64::MAX / 2);
        let linker = wasmi::Linker::<()>::new(&engine);
        let Ok(instance) = linker.instantiate_and_start(&mut store, &module) else { fail("wasmi instance") };
        Interpreter { store, instance }
    }

    fn call(&mut self, name: &str, n: u32) -> u32 {
        let Ok(f) = self.instance.get_typed_func::<i32, i32>(&self.store, name) else { fail("wasmi export") };
        match f.call(&mut self.store, n as i32) {
            Ok(r) => r as u32,
            Err(_) => fail("wasmi trapped"),
        }
    }
}

fn aot_call(module: &mut Module<'_, '_>, name: &str, n: u32, fuel: &mut i32) -> Result<u32, AotError> {
    module.call(name, &[u64::from(n)], fuel).map(|r| r as u32)
}

/// Stack left below the current frame (flip-link: the stack grows down to
/// the start of RAM), with a margin for what the check itself calls.
fn free_stack() -> u32 {
    (cortex_m::register::msp::read() - 0x2000_0000).saturating_sub(1024)
}

/// Loads and stores whose address and offset sum past 2^32 (a 32-bit sum
/// would wrap into the memory), the last word, one byte past it, and a
/// bulk fill over the end: each traps or runs as the wasm spec says, in a
/// memory of 4 096 one-byte pages, and a trapped store writes nothing.
fn bounds_at_the_edges(m: &mut Module<'_, '_>) {
    let oob = Err(AotError::Trap(Trap::OutOfBounds));
    let mut fuel = 1_000_000;
    let cases: [(&str, u32, Result<u32, AotError>); 11] = [
        ("last_word", 0, Ok(0)),
        ("last_word", 1, oob),
        ("last_word", u32::MAX, oob),
        ("wrapping_load", 0, oob),
        ("wrapping_load", 4, oob),
        ("wrapping_store", 8, oob),
        ("wrapping_store", 0, oob),
        ("fill16", 4080, Ok(0)),
        ("fill16", 4081, oob),
        ("fill16", 0xffff_fff8, oob),
        ("fill16", 0xffff_fff0, oob),
    ];
    for (name, arg, expected) in cases {
        if aot_call(m, name, arg, &mut fuel) != expected {
            error!("{=str}({=u32:x})", name, arg);
            fail("a bounds check at its edge");
        }
    }
    if aot_call(m, "peek", 0, &mut fuel) != Ok(0) || aot_call(m, "peek", 4095, &mut fuel) != Ok(7) {
        fail("a trapped store wrote, or the fill did not");
    }
    info!("bounds checks at the edges: 11 cases, offsets wrapping 2^32 trapped");
}

#[entry]
fn main() -> ! {
    init_heap!(HEAP_SIZE);
    let Some(core) = cortex_m::Peripherals::take() else { exit(false) };
    clock::start(core.SYST);
    info!("akira AOT tier on mps2-an386 (Cortex-M4, QEMU)");
    let limits = Limits { max_stack: AOT_STACK.min(free_stack()), memory: AOT_MEMORY };

    // Load: check, copy into RAM, relocate, bind (this module imports no
    // host function), instantiate.
    // Trust: a key without the native-code right gets the interpreter only.
    let (accepted, wasm) = read_package(Rights::INSTALL);
    if blob_from_package(&accepted, &wasm).err() != Some(TrustError::NotTrusted) {
        fail("native code from a key without the right");
    }
    info!("signer without native-code: AOT refused, the app runs interpreted");
    let (accepted, wasm) = read_package(Rights::INSTALL | Rights::NATIVE_CODE);
    let blob = match blob_from_package(&accepted, &wasm) {
        Ok(blob) => blob,
        Err(e) => {
            error!("{}", e);
            fail("kernels blob refused")
        }
    };
    // SAFETY: the region is used by this module only, from here on.
    let region = unsafe { &mut (*core::ptr::addr_of_mut!(REGION)).0 };
    let start = clock::micros();
    let mut module = match Module::load(blob, region, limits, bind_granted(false)) {
        Ok(m) => m,
        Err(e) => {
            error!("load: {}", e);
            fail("kernels did not load")
        }
    };
    let load_ns = (clock::micros() - start) * 1000;
    info!("kernels loaded: {=usize} B image, {=usize} B free", blob.image.len(), module.free_bytes());

    // Same results AOT, interpreted and native; instruction counts.
    let mut interp = Interpreter::new(&wasm);
    type Native = unsafe extern "C" fn(u32) -> u32;
    let kernels: [(&str, u32, Native); 4] = [
        ("crc32", 4096, kernel_crc32),
        ("sha256", 4096, kernel_sha256),
        ("matmul", 16, kernel_matmul),
        ("sort", 1024, kernel_sort),
    ];
    for (name, n, native) in kernels {
        let mut fuel = i32::MAX;
        let (aot, aot_ns) = timed(|| match aot_call(&mut module, name, n, &mut fuel) {
            Ok(r) => r,
            Err(e) => {
                error!("{=str}: {}", name, e);
                fail("AOT kernel trapped")
            }
        });
        let (int, int_ns) = timed(|| interp.call(name, n));
        // SAFETY: the kernels are plain C functions of one u32.
        let (nat, nat_ns) = timed(|| unsafe { native(n) });
        println!(
            "figure aot-{=str}-ns {=u64} interp {=u64} native {=u64} (result {=u32:x}, fuel used {=i32})",
            name,
            aot_ns,
            int_ns,
            nat_ns,
            aot,
            i32::MAX - fuel
        );
        if aot != int || aot != nat {
            error!("{=str}: AOT {=u32:x}, interpreter {=u32:x}, native {=u32:x}", name, aot, int, nat);
            fail("results differ");
        }
    }
    println!("figure aot-load-ns {=u64} (image {=usize} B)", load_ns, blob.image.len());

    // Containment: each fault comes back as a typed trap, and the module
    // (and the firmware) keep working after it.
    let mut fuel = 1_000_000;
    let checks: [(&str, u32, Trap); 3] =
        [("peek", 0x10000, Trap::OutOfBounds), ("spin", 1, Trap::OutOfFuel), ("recurse", 0, Trap::CallDepth)];
    for (name, arg, expected) in checks {
        fuel = 1_000_000;
        match aot_call(&mut module, name, arg, &mut fuel) {
            Err(AotError::Trap(t)) if t == expected => info!("{=str}: contained ({})", name, t),
            other => {
                error!("{=str}: {}", name, other);
                fail("not contained")
            }
        }
    }
    // The trap handed the fuel back: one unit per call entered.
    info!("recursion: {=i32} calls entered before the depth bound", 1_000_000 - fuel);
    if 1_000_000 - fuel != 64 {
        fail("the fuel left after the call-depth trap");
    }
    let mut fuel = i32::MAX;
    if aot_call(&mut module, "crc32", 4096, &mut fuel).ok() != Some(interp.call("crc32", 4096)) {
        fail("the module does not work after its traps");
    }
    let in_bounds = aot_call(&mut module, "peek", 0xfffc, &mut fuel);
    if in_bounds.is_err() {
        fail("the last word of memory is in bounds");
    }
    // The bounds checks at their edges (64 KiB, 4-byte loads): a word
    // straddling the end, addresses near u32::MAX; an unaligned word
    // inside reads as the interpreter reads it.
    for addr in [0xfffd, 0xffff, 0xffff_fffc, u32::MAX] {
        if aot_call(&mut module, "peek", addr, &mut fuel) != Err(AotError::Trap(Trap::OutOfBounds)) {
            fail("a word past the end of memory");
        }
    }
    if aot_call(&mut module, "peek", 0xfffb, &mut fuel).ok() != Some(interp.call("peek", 0xfffb)) {
        fail("an unaligned word");
    }

    // Guarded host calls from AOT code: granted pin 2 works, pin 7 is
    // refused by the guard; without the grant the module does not load.
    let Ok(gpio_blob) = Blob::parse(GPIO_AOT) else { fail("gpio blob refused") };
    // SAFETY: a second region, used by the gpio module only.
    let region2 = unsafe { &mut (*core::ptr::addr_of_mut!(REGION2)).0 };
    match Module::load(gpio_blob, region2, limits, bind_granted(false)) {
        Err(AotError::Link(LinkError::Unbound(_))) => info!("ungranted import: the module is refused"),
        _ => fail("a module with an ungranted import loaded"),
    }
    let caps = CapabilitySet {
        gpio: Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default())),
        ..Default::default()
    };
    critical_section::with(|cs| *GUARD.borrow_ref_mut(cs) = Some(Guard::new(Grants::compile(&caps))));
    // SAFETY: as above; the refused load above left nothing running.
    let region2 = unsafe { &mut (*core::ptr::addr_of_mut!(REGION2)).0 };
    let Ok(mut gpio) = Module::load(gpio_blob, region2, limits, bind_granted(true)) else { fail("gpio module") };
    let mut fuel = 1_000_000;
    let blink = aot_call(&mut gpio, "blink", 9, &mut fuel);
    let forbidden = aot_call(&mut gpio, "forbidden", 1, &mut fuel);
    if blink != Ok(0) || forbidden != Ok(u32::MAX) || LEDS[2].load(Ordering::Relaxed) != 0 {
        fail("guarded calls from AOT code");
    }
    if LEDS[7].load(Ordering::Relaxed) != 0 {
        fail("the guard let pin 7 through");
    }
    info!("guarded host calls: pin 2 written 9 times, pin 7 refused");

    // One-byte pages: 4 096 bytes exactly, bounds checked at the last byte.
    let size = aot_call(&mut gpio, "size", 0, &mut fuel);
    let last = aot_call(&mut gpio, "peek", 4095, &mut fuel);
    let past = aot_call(&mut gpio, "peek", 4096, &mut fuel);
    if size != Ok(4096) || last != Ok(0) || past != Err(AotError::Trap(Trap::OutOfBounds)) {
        fail("a memory of one-byte pages");
    }
    info!(
        "one-byte pages: memory.size 4096, byte 4096 out of bounds, {=usize} B of the region free",
        gpio.free_bytes()
    );
    bounds_at_the_edges(&mut gpio);
    // Phase 2: whole apps on their own stacks, suspending in host calls.
    let board = akira_qemu_mps2_an386::board::Mps2::init(None);
    apps::containment(board);
    apps::time_slices(board);
    apps::host_call_figure(board);
    apps::slice_figure(board);
    for (name, wasm) in apps::APPS.into_iter().chain([
        ("aot-calls", apps::CALLS),
        ("aot-compute", apps::COMPUTE),
        ("aot-ticker", apps::TICKER),
    ]) {
        stack::check(name, wasm);
    }
    info!("AOT checks passed");
    apps::serve(board)
}
