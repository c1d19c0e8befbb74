//! Akira on an emulated Cortex-M4 (QEMU `mps2-an386`): the reference
//! product firmware, the one the size report budgets.
//!
//! What a product firmware with over-the-air apps has, and nothing else:
//! the sandbox and the guard, the bridge's `log`, `timer`, `gpio`, `sys`
//! and `storage` modules, the signed OTA store, the transfer protocol on
//! UART1 and the device loop (`akira-device`: installs, trials, confirms,
//! crash-loop rollback), with a preinstalled blinky. It runs until it is
//! switched off; the measurements live in `src/bin/bench.rs`.
//!
//! Besides its log, it reports what it costs (`memory after ...` lines: the
//! heap in use and the stack high-water mark) at boot and whenever an app
//! starts or stops; the size report reads them.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use core::pin::Pin;

use akira_bridge::{Board, Bridge, StorageModule};
use akira_caps::Policy;
use akira_caps::scope::{GpioScope, StorageScope};
use akira_device::{Device, DeviceConfig, Note};
use akira_ota::block_on;
use akira_ota::package::{Rights, TrustPolicy, TrustedKey, public_key_from_hex};
use akira_ota::ram_flash::RamFlash;
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_qemu_mps2_an386::board::{Kv, Mps2};
use akira_qemu_mps2_an386::uart::{UART1, Uart};
use akira_qemu_mps2_an386::{clock, exit, heap, init_heap, ram_flash, stack};
use akira_sandbox::{Event, LoadError, LoadedApp, Runtime, RuntimeConfig};
use cortex_m_rt::entry;
use defmt::{info, println, warn};

/// The key this firmware trusts for packages, also to skip validation (a
/// test key: its secret half is in this directory so CI can sign; never
/// ship it).
const TRUSTED_KEY: [u8; 32] = public_key_from_hex(include_str!("../test-signer.pub"));
/// A second test key, trusted as an owner but not to skip validation: a
/// firmware without the validator refuses its packages.
const VALIDATED_KEY: [u8; 32] = public_key_from_hex(include_str!("../test-validated.pub"));

/// The app that runs when nothing is installed.
const BLINKY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blinky.wasm"));

/// Heap for wasmi (modules, instances, stacks) and the firmware.
#[cfg(not(feature = "wasi"))]
const HEAP_SIZE: usize = 160 * 1024;
/// With WASI: wasmi's translation of a 40-60 KiB wasi-libc or Rust `std`
/// module takes several times its size.
#[cfg(feature = "wasi")]
const HEAP_SIZE: usize = 640 * 1024;
/// The OTA store: two journal sectors and three slots of 40 KiB.
#[cfg(not(feature = "wasi"))]
const STORE_SIZE: usize = 128 * 1024;
/// With WASI: three slots of 72 KiB, for apps with wasi-libc or Rust `std`.
#[cfg(feature = "wasi")]
const STORE_SIZE: usize = 224 * 1024;
/// The largest module an app may be.
#[cfg(not(feature = "wasi"))]
const MAX_MODULE: usize = 64 * 1024;
#[cfg(feature = "wasi")]
const MAX_MODULE: usize = 72 * 1024;
/// The apps' key-value store.
const KV_SIZE: usize = 16 * 1024;

/// The store's flash and the device this firmware runs.
type QemuFlash = BlockingFlash<RamFlash<'static, 4, 4096>>;
type QemuDevice = Device<'static, Mps2, QemuFlash>;

/// What this device lets apps have: LEDs 2 to 7, the buttons, the timer,
/// the console, 4 KiB each in the key-value store, 64 KiB of memory.
fn policy() -> Policy {
    let mut p = Policy::deny_all();
    p.max_memory = 64 * 1024;
    p.max_cpu_budget = 10_000_000;
    p.allow.gpio = Some(GpioScope::new([0, 1].into_iter().collect(), (2..=7).collect(), [0, 1].into_iter().collect()));
    p.allow.timer = true;
    p.allow.log = true;
    p.allow.sys = true;
    p.allow.storage = Some(StorageScope::with_quota(4096));
    #[cfg(feature = "wasi")]
    {
        use akira_caps::scope::{WasiScope, wasi};
        let parts = [wasi::CONSOLE, wasi::CLOCK, wasi::FILES].into_iter().collect();
        p.allow.wasi = Some(Box::new(WasiScope::with_parts(parts)));
    }
    p
}

/// Logs what the firmware costs at this point (the size report reads it).
fn memory(after: &str, app: &str) {
    println!(
        "memory after {=str}{=str}: heap {=usize} B in use, stack high-water {=usize} B",
        app,
        after,
        heap::live(),
        stack::high_water()
    );
}

fn note(note: Note<'_>) {
    info!("{}", note);
    match note {
        Note::Started { name, .. } => memory(" started", name.as_str()),
        Note::App { app, event: Event::Exited(_) | Event::Faulted(_) } => memory(" stopped", app.name.as_str()),
        _ => {}
    }
}

#[entry]
fn main() -> ! {
    stack::paint();
    init_heap!(HEAP_SIZE);
    let Some(core) = cortex_m::Peripherals::take() else { exit(false) };
    clock::start(core.SYST);
    let kv = match Kv::new(ram_flash!(KV_SIZE), 0..KV_SIZE as u32) {
        Ok(kv) => Some(kv),
        Err(e) => {
            warn!("no key-value store: {}", e);
            None
        }
    };
    let board = Mps2::init(kv);
    info!("akira on mps2-an386 (Cortex-M4, QEMU)");

    // Kept for the firmware's lifetime: the device borrows them.
    let policy: &'static Policy = Box::leak(Box::new(policy()));
    // The first test key may do everything an owner may, and skip
    // validation: a firmware built without the validator takes its packages
    // only. Without the interpreter it is trusted with native code too: its
    // packages' native code is all that runs.
    let skip = Rights::OWNER.union(Rights::SKIP_VALIDATION);
    #[cfg(feature = "native")]
    let skip = skip.union(Rights::NATIVE_CODE);
    let keys: &'static [TrustedKey<'static>] = Box::leak(Box::new([
        TrustedKey { name: "test-signer", public_key: TRUSTED_KEY, policy, rights: skip },
        TrustedKey { name: "test-validated", public_key: VALIDATED_KEY, policy, rights: Rights::OWNER },
    ]));
    let trust: &'static TrustPolicy<'static> = Box::leak(Box::new(TrustPolicy { keys, ..TrustPolicy::default() }));
    let config = RuntimeConfig { max_stack_bytes: 8 * 1024, max_module_bytes: MAX_MODULE, ..RuntimeConfig::default() };
    let Ok(bridge) = Bridge::with_builtins().with(StorageModule) else { exit(false) };
    #[cfg(feature = "wasi")]
    let Ok(bridge) = bridge.with(akira_bridge::WasiModule) else { exit(false) };
    let runtime = Runtime::new(config, bridge, policy.clone());
    let mut device = boot(runtime, board, trust);
    memory("boot", "");
    if device.store().apps().is_empty() {
        let started = preinstalled(&device, policy)
            .and_then(|app| device.scheduler_mut().spawn(app, board, DeviceConfig::default().restart));
        match started {
            Ok(_) => memory(" started", "blinky"),
            Err(e) => warn!("preinstalled blinky: {}", e),
        }
    }
    serve(&mut device, board)
}

/// The preinstalled blinky, loaded: validated when the firmware has the
/// validator, as it is otherwise (it was built with the firmware); without
/// the interpreter, with the native code build.rs compiled for it.
fn preinstalled(device: &QemuDevice, policy: &Policy) -> Result<LoadedApp, LoadError> {
    let runtime = device.scheduler().runtime();
    #[cfg(feature = "validate")]
    return runtime.load_with_policy(BLINKY, policy);
    // SAFETY: BLINKY is a module build.rs made from WAT for this firmware,
    // so it is valid; it is granted under the device policy.
    #[cfg(not(feature = "validate"))]
    {
        let _ = policy;
        let app = unsafe { runtime.load_unchecked(BLINKY) }?;
        // Built with the firmware: as trusted with native code as it.
        #[cfg(feature = "native")]
        let app = match akira_aot::format::find_in_wasm(BLINKY) {
            Ok(Some(blob)) => app.with_native_code(blob)?,
            _ => return Err(LoadError::NeedsNativeCode),
        };
        Ok(app)
    }
}

/// The device: the OTA store opened on its flash, installed apps started.
///
/// Each step is its own function and its own `block_on`, so that only the
/// step that runs holds stack: one async block around the whole firmware
/// would reserve every step's locals at once (measured: a 31 KB frame).
/// The device goes to the heap as soon as it exists.
#[inline(never)]
fn boot(runtime: Runtime<Mps2>, board: Mps2, trust: &'static TrustPolicy<'static>) -> Box<QemuDevice> {
    start(open_store(), runtime, board, trust)
}

// Opening the store and starting the device are separate frames: each
// holds a future of several KB while it is built, and one frame holding
// both would add them up on the stack.
#[inline(never)]
fn open_store() -> Store<QemuFlash> {
    let flash = BlockingFlash(ram_flash!(STORE_SIZE));
    let region = Region { offset: 0, size: STORE_SIZE as u32 };
    match block_on(boxed(Store::open(flash, region, StoreConfig { meta_sectors: 2, slots: 3 }))) {
        Ok(store) => store,
        Err(e) => {
            warn!("OTA store: {}", e);
            exit(false)
        }
    }
}

#[inline(never)]
fn start(
    store: Store<QemuFlash>,
    runtime: Runtime<Mps2>,
    board: Mps2,
    trust: &'static TrustPolicy<'static>,
) -> Box<QemuDevice> {
    Box::new(block_on(boxed(Device::new(store, runtime, board, trust, DeviceConfig::default(), note))))
}

/// `future` on the heap, polled through its vtable: its state is not in the
/// caller's frame, and its poll function keeps its own frame, for the time
/// it runs.
fn boxed<'a, T>(future: impl Future<Output = T> + 'a) -> Pin<Box<dyn Future<Output = T> + 'a>> {
    Box::pin(future)
}

/// Takes packages from UART1 and runs the apps, forever.
#[inline(never)]
fn serve(device: &mut QemuDevice, board: Mps2) -> ! {
    info!("waiting for packages on UART1 (akira push)");
    let link = Uart::new(UART1);
    link.wake_on_receive();
    loop {
        // Take what the host sent (the UART holds one byte at a time).
        let mut buf = [0u8; 64];
        let mut len = 0;
        while len < buf.len()
            && let Some(byte) = link.take()
        {
            buf[len] = byte;
            len += 1;
        }
        let mut data = &buf[..len];
        while !data.is_empty() {
            let (used, reply) = block_on(boxed(device.receive(data, note)));
            data = &data[used..];
            if let Some(frame) = reply {
                frame.iter().for_each(|b| link.put(*b));
            }
        }
        let round = block_on(boxed(device.round(board.now(), note)));
        if len == 0 && !round.busy {
            // SysTick wakes the core every millisecond, and a byte from the
            // host at once.
            cortex_m::asm::wfi();
        }
    }
}
