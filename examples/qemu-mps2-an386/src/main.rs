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
//! Besides its log, it reports what it costs: the heap in use when each
//! app starts, and the stack high-water mark when an app stops (the size
//! report reads both).

#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;

use akira_bridge::{Board, Bridge, StorageModule};
use akira_caps::Policy;
use akira_caps::scope::{GpioScope, StorageScope};
use akira_device::{Device, DeviceConfig, Note};
use akira_ota::package::{TrustPolicy, TrustedKey, public_key_from_hex};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_qemu_mps2_an386::board::{Kv, Mps2};
use akira_qemu_mps2_an386::uart::{UART1, Uart};
use akira_qemu_mps2_an386::{clock, exit, heap, init_heap, ram_flash, stack};
use akira_sandbox::{Event, Runtime, RuntimeConfig};
use cortex_m_rt::entry;
use defmt::{info, println, warn};

/// The key this firmware trusts for packages (a test key: its secret half
/// is in this directory so CI can sign; never ship it).
const TRUSTED_KEY: [u8; 32] = public_key_from_hex(include_str!("../test-signer.pub"));

/// The app that runs when nothing is installed.
const BLINKY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blinky.wasm"));

/// Heap for wasmi (modules, instances, stacks) and the firmware.
const HEAP_SIZE: usize = 160 * 1024;
/// The OTA store: two journal sectors and three slots of 40 KiB.
const STORE_SIZE: usize = 128 * 1024;
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
    p
}

fn note(note: Note<'_>) {
    match note {
        Note::Started { .. } => {
            info!("{}", note);
            println!("heap in use {=usize} B", heap::live());
        }
        Note::App { app, event: event @ (Event::Exited(_) | Event::Faulted(_)) } => {
            info!("{=str}: {}", app.name.as_str(), event);
            println!("stack high-water {=usize} B", stack::high_water());
        }
        other => info!("{}", other),
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
    let config = RuntimeConfig { max_stack_bytes: 8 * 1024, max_module_bytes: 64 * 1024, ..RuntimeConfig::default() };
    let Ok(bridge) = Bridge::with_builtins().with(StorageModule) else { exit(false) };
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
        if device.store().apps().is_empty()
            && let Err(e) = device.run_builtin(BLINKY, policy)
        {
            warn!("preinstalled blinky: {}", e);
        }
        println!("heap in use {=usize} B", heap::live());
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
