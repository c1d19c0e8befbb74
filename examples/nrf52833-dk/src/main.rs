//! Akira on the nRF52833-DK: a 512 KiB part.
//!
//! - The board: LEDs 1–4 and buttons 1–4 as logical pins (see README),
//!   the console on RTT (defmt).
//! - The OTA store on the top 256 KiB of the internal flash (NVMC), the
//!   apps' key-value store (`akira:storage`) on the 16 KiB below it, the
//!   firmware (at most 240 KiB, `memory.x`) below that.
//! - Packages from `akira push --serial` on the DK's VCOM UART (the J-Link
//!   USB serial port), 115 200 baud: from trusted signers only, with their
//!   native code. This firmware links no interpreter and no wasm
//!   validator (akira-sandbox with `aot` only): an app runs as the native
//!   code its package carries (`akira pack --aot thumbv7em`), installed
//!   only when its signing key has the skip-validation and native-code
//!   rights; other keys are refused at the package header, before
//!   anything is written, and a package without native code at install.
//! - Installed apps start at boot; a preinstalled blinky runs from the
//!   firmware image while nothing is installed.

#![no_std]
#![no_main]

extern crate alloc;

use core::cell::RefCell;

use akira_bridge::{Bridge, FlashKv, PinSlot, StorageModule};
use akira_caps::Policy;
use akira_caps::scope::{GpioScope, StorageScope};
use akira_device::{Device, DeviceConfig, log};
use akira_hal_nrf::{MAX_PINS, Peripherals, Shared, Slot};
use akira_ota::package::{Rights, TrustPolicy, TrustedKey};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_sandbox::{LoadError, Runtime, RuntimeConfig};
use defmt::{info, warn};
use embassy_embedded_hal::flash::partition::BlockingPartition;
use embassy_executor::Spawner;
use embassy_nrf::buffered_uarte::{self, BufferedUarte};
use embassy_nrf::gpio::{Input, Level, Output, OutputDrive, Pull};
use embassy_nrf::nvmc::Nvmc;
use embassy_nrf::{bind_interrupts, peripherals, uarte};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use static_cell::StaticCell;
use {defmt_rtt as _, panic_probe as _};

/// The key this firmware trusts: replace `trusted-key.pub` with your own
/// (`akira keygen`). The one shipped is a public test key.
const TRUSTED_KEY: [u8; 32] = akira_ota::package::public_key_from_hex(include_str!("../trusted-key.pub"));

const BLINKY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blinky.wasm"));

/// Heap for the device and the apps: the device's buffers (about 10 KB),
/// and per app its native code, stack and linear memory (about 16 KB for
/// a blinky with 4 KiB of memory, measured under QEMU; 38 KB for
/// examples/apps/countdown).
const HEAP_SIZE: usize = 80 * 1024;
/// The OTA store: the top 256 KiB of flash (two journal pages and three
/// slots of 82 KiB). Without an interpreter the firmware takes 180 KiB,
/// so the store gets twice the 128 KiB the 512 KiB class was asked for:
/// native code makes packages about three times their wasm.
const STORE_AT: u32 = 0x4_0000;
const STORE_SIZE: u32 = 0x4_0000;
/// The apps' key-value store: the 16 KiB (four pages) below the OTA store.
const KV_AT: u32 = 0x3_C000;
const KV_SIZE: u32 = 0x4000;

bind_interrupts!(struct Irqs {
    UARTE0 => buffered_uarte::InterruptHandler<peripherals::UARTE0>;
});

/// The NVMC, shared by the OTA store's and the key-value store's
/// partitions (each operation takes it whole, so they never interleave).
type SharedNvmc = embassy_sync::blocking_mutex::Mutex<CriticalSectionRawMutex, RefCell<Nvmc<'static>>>;
/// A partition of the NVMC.
type Partition = BlockingPartition<'static, CriticalSectionRawMutex, Nvmc<'static>>;
/// The apps' key-value store.
static KV: Shared<FlashKv<Partition>> = Shared::new();

#[embassy_executor::task(pool_size = 4)]
async fn button(pin: u32, input: Input<'static>) -> ! {
    akira_hal_nrf::watch(pin, input).await
}

/// What apps may have on this board: the LEDs, the buttons, the timer, the
/// console, `sys` and 4 KiB each in the key-value store; 48 KiB of memory.
fn policy() -> Policy {
    let mut p = Policy::deny_all();
    p.max_memory = 48 * 1024;
    p.max_cpu_budget = 10_000_000;
    p.allow.gpio = Some(GpioScope::new((0..4).collect(), (4..8).collect(), (0..4).collect()));
    p.allow.timer = true;
    p.allow.log = true;
    p.allow.sys = true;
    p.allow.storage = Some(StorageScope::with_quota(4096));
    p
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    akira_device::init_heap!(HEAP_SIZE);
    let p = embassy_nrf::init(Default::default());

    // Logical pins: 0–3 buttons 1–4 (active low), 4–7 LEDs 1–4 (active
    // low: start high = off).
    let mut pins: [Slot; MAX_PINS] = core::array::from_fn(|_| PinSlot::Unused);
    for pin in 0..4 {
        pins[pin] = akira_hal_nrf::input(pin as u32);
    }
    pins[4] = PinSlot::Output(Output::new(p.P0_13, Level::High, OutputDrive::Standard));
    pins[5] = PinSlot::Output(Output::new(p.P0_14, Level::High, OutputDrive::Standard));
    pins[6] = PinSlot::Output(Output::new(p.P0_15, Level::High, OutputDrive::Standard));
    pins[7] = PinSlot::Output(Output::new(p.P0_16, Level::High, OutputDrive::Standard));

    // The NVMC, split into the key-value store's and the OTA store's
    // partitions.
    static NVMC: StaticCell<SharedNvmc> = StaticCell::new();
    let nvmc: &'static SharedNvmc =
        NVMC.init(embassy_sync::blocking_mutex::Mutex::new(RefCell::new(Nvmc::new(p.NVMC))));
    let mut extra = Peripherals::default();
    match FlashKv::new(Partition::new(nvmc, KV_AT, KV_SIZE), 0..KV_SIZE) {
        Ok(kv) => match KV.init(kv) {
            Ok(kv) => extra.storage = Some(kv),
            Err(_) => warn!("key-value store set up twice"),
        },
        Err(e) => warn!("no key-value store: {}", defmt::Display2Format(&e)),
    }
    let Ok(board) = akira_hal_nrf::init(pins, log::console, extra) else { panic!("board set up twice") };
    let buttons = [
        Input::new(p.P0_11, Pull::Up),
        Input::new(p.P0_12, Pull::Up),
        Input::new(p.P0_24, Pull::Up),
        Input::new(p.P0_25, Pull::Up),
    ];
    for (pin, input) in (0..).zip(buttons) {
        match button(pin, input) {
            Ok(task) => spawner.spawn(task),
            Err(_) => warn!("button {} not watched: task pool full", pin),
        }
    }

    let store_flash = BlockingFlash(Partition::new(nvmc, STORE_AT, STORE_SIZE));
    let region = Region { offset: 0, size: STORE_SIZE };
    let store = match Store::open(store_flash, region, StoreConfig { meta_sectors: 2, slots: 3 }).await {
        Ok(store) => store,
        Err(e) => panic!("OTA store: {}", defmt::Display2Format(&e)),
    };
    // Kept for the firmware's lifetime: the device borrows them.
    static POLICY: StaticCell<Policy> = StaticCell::new();
    let policy: &'static Policy = POLICY.init(policy());
    // The release key may do what an owner may, skip validation and ship
    // native code: this firmware takes its packages only, and runs their
    // native code.
    let rights = Rights::OWNER.union(Rights::SKIP_VALIDATION).union(Rights::NATIVE_CODE);
    static KEYS: StaticCell<[TrustedKey<'static>; 1]> = StaticCell::new();
    let keys = KEYS.init([TrustedKey { name: "release", public_key: TRUSTED_KEY, policy, rights }]);
    static TRUST: StaticCell<TrustPolicy<'static>> = StaticCell::new();
    let trust = TRUST.init(TrustPolicy { keys, ..TrustPolicy::default() });
    let config = RuntimeConfig { max_stack_bytes: 8 * 1024, max_module_bytes: 80 * 1024, ..RuntimeConfig::default() };
    let Ok(bridge) = Bridge::with_builtins().with(StorageModule) else { panic!("module names clash") };
    let runtime = Runtime::new(config, bridge, policy.clone());
    let mut device = Device::new(store, runtime, board, trust, DeviceConfig::default(), log::note).await;
    if device.store().apps().is_empty() {
        // SAFETY: BLINKY is the module build.rs made from WAT for this
        // firmware, so it is valid; it is granted under the device policy
        // like any app (its manifest is checked against it), and its native
        // code was compiled with the firmware: as trusted as the firmware.
        let app = unsafe { device.scheduler().runtime().load_unchecked(BLINKY) }.and_then(|app| {
            match akira_aot::format::find_in_wasm(BLINKY) {
                Ok(Some(native)) => app.with_native_code(native),
                _ => Err(LoadError::NeedsNativeCode),
            }
        });
        match app.and_then(|app| device.scheduler_mut().spawn(app, board, DeviceConfig::default().restart)) {
            Ok(_) => info!("no app installed: running the preinstalled blinky"),
            Err(e) => warn!("preinstalled blinky: {}", defmt::Display2Format(&e)),
        }
    }

    static RX: StaticCell<[u8; 1024]> = StaticCell::new();
    static TX: StaticCell<[u8; 256]> = StaticCell::new();
    let mut uart_config = uarte::Config::default();
    uart_config.baudrate = uarte::Baudrate::Baud115200;
    let mut uart = BufferedUarte::new(
        p.UARTE0,
        p.TIMER1,
        p.PPI_CH0,
        p.PPI_CH1,
        p.PPI_GROUP0,
        p.P0_08,
        p.P0_06,
        Irqs,
        uart_config,
        RX.init([0; 1024]),
        TX.init([0; 256]),
    );
    info!("akira on nRF52833-DK (native code only): waiting for trusted-signer packages on the VCOM UART");

    loop {
        // Runs the apps and answers the host until a UART error.
        if device.serve(&mut uart, akira_hal_nrf::idle, log::note).await.is_err() {
            warn!("UART error");
        }
    }
}
