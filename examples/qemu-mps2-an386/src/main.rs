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

use akira_bridge::{Board, Bridge, StorageModule};
use akira_caps::Policy;
use akira_caps::scope::{GpioScope, StorageScope};
use akira_device::{Device, DeviceConfig, Note};
use akira_ota::package::{TrustPolicy, TrustedKey, public_key_from_hex};
use akira_ota::ram_flash::RamFlash;
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_qemu_mps2_an386::board::{Kv, Mps2};
use akira_qemu_mps2_an386::uart::{UART1, Uart};
use akira_qemu_mps2_an386::{clock, exit, heap, init_heap, stack};
use akira_sandbox::{Event, Runtime, RuntimeConfig};
use cortex_m_rt::entry;
use defmt::{info, println, warn};

/// The key this firmware trusts for packages (a test key: its secret half
/// is in this directory so CI can sign; never ship it).
const TRUSTED_KEY: [u8; 32] = public_key_from_hex(include_str!("../test-signer.pub"));

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
    p.allow.storage = Some(StorageScope { quota: 4096 });
    #[cfg(feature = "wasi")]
    {
        use akira_caps::scope::{WasiScope, wasi};
        let parts = [wasi::CONSOLE, wasi::CLOCK, wasi::FILES].into_iter().collect();
        p.allow.wasi = Some(Box::new(WasiScope::with_parts(parts)));
    }
    p
}

/// A RAM region standing in for flash (QEMU has none); `RamFlash` keeps
/// NOR rules on it. Its contents are gone at reset.
macro_rules! ram_flash {
    ($size:expr) => {{
        static mut MEM: [u8; $size] = [0; $size];
        // SAFETY: the macro's own static, taken once here.
        RamFlash::<4, 4096>::new(unsafe { &mut *core::ptr::addr_of_mut!(MEM) })
    }};
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
    let keys: &'static [TrustedKey<'static>] =
        Box::leak(Box::new([TrustedKey { name: "test-signer", public_key: TRUSTED_KEY, policy }]));
    let trust: &'static TrustPolicy<'static> = Box::leak(Box::new(TrustPolicy { keys, unsigned: None }));
    let config = RuntimeConfig { max_stack_bytes: 8 * 1024, max_module_bytes: MAX_MODULE, ..RuntimeConfig::default() };
    let Ok(bridge) = Bridge::with_builtins().with(StorageModule) else { exit(false) };
    #[cfg(feature = "wasi")]
    let Ok(bridge) = bridge.with(akira_bridge::WasiModule) else { exit(false) };
    let runtime = Runtime::new(config, bridge, policy.clone());
    let flash = BlockingFlash(ram_flash!(STORE_SIZE));
    let store_config = StoreConfig { meta_sectors: 2, slots: 3 };

    // The device loop lives on the heap, not on the stack.
    akira_ota::block_on(Box::pin(async move {
        let store = match Store::open(flash, Region { offset: 0, size: STORE_SIZE as u32 }, store_config).await {
            Ok(store) => store,
            Err(e) => {
                warn!("OTA store: {}", e);
                exit(false)
            }
        };
        let mut device = Device::new(store, runtime, board, trust, DeviceConfig::default(), note).await;
        memory("boot", "");
        if device.store().apps().is_empty() {
            match device.run_builtin(BLINKY, policy) {
                Ok(_) => memory(" started", "blinky"),
                Err(e) => warn!("preinstalled blinky: {}", e),
            }
        }
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
                let (used, reply) = device.receive(data, note).await;
                data = &data[used..];
                if let Some(frame) = reply {
                    frame.iter().for_each(|b| link.put(*b));
                }
            }
            let round = device.round(board.now(), note).await;
            if len == 0 && !round.busy {
                // SysTick wakes the core every millisecond, and a byte
                // from the host at once.
                cortex_m::asm::wfi();
            }
        }
    }))
}
