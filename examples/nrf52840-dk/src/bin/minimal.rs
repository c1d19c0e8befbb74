//! The smallest Akira integration: an embassy blinky (LED 1) that also
//! runs WebAssembly apps and takes them over the air. Apps get LED 2 as
//! logical pin 2, the timer and the console; packages signed by
//! `trusted-key.pub` arrive on the VCOM UART (`akira push --serial`) into
//! the OTA store on the top 192 KiB of flash, as in the full firmware.
//! Akira's lines are the ones after `// Akira` (see the README for the
//! count).
//!
//! `cargo build --release --bin minimal`, `cargo run --release --bin minimal`.

#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_nrf::gpio::{Level, Output, OutputDrive};
use embassy_time::Timer;
use {defmt_rtt as _, panic_probe as _};

#[embassy_executor::task]
async fn blink(mut led: Output<'static>) -> ! {
    loop {
        led.toggle();
        Timer::after_millis(500).await;
    }
}

// Akira
use akira_bridge::{Bridge, PinSlot};
use akira_caps::{Policy, scope::CapabilitySet, scope::GpioScope};
use akira_device::{Device, DeviceConfig, log};
use akira_ota::package::{Rights, TrustPolicy, TrustedKey, public_key_from_hex};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use embassy_nrf::buffered_uarte::{BufferedUarte, InterruptHandler};
use embassy_nrf::{bind_interrupts, nvmc::Nvmc, peripherals::UARTE0};

bind_interrupts!(struct Irqs { UARTE0 => InterruptHandler<UARTE0>; });
const KEY: [u8; 32] = public_key_from_hex(include_str!("../../trusted-key.pub"));

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    akira_device::init_heap!(64 * 1024); // Akira
    let p = embassy_nrf::init(Default::default());
    if let Ok(task) = blink(Output::new(p.P0_13, Level::High, OutputDrive::Standard)) {
        spawner.spawn(task);
    }

    // Akira: the board apps see, what they may use, who may sign them.
    let mut pins = core::array::from_fn(|_| PinSlot::Unused);
    pins[2] = PinSlot::Output(Output::new(p.P0_14, Level::High, OutputDrive::Standard));
    let board = defmt::unwrap!(akira_hal_nrf::init(pins, log::console, Default::default()));
    let mut allow = CapabilitySet::default();
    allow.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    (allow.timer, allow.log) = (true, true);
    let policy = Policy { allow, max_memory: 64 * 1024, max_cpu_budget: 10_000_000, ..Policy::deny_all() };
    let keys = [TrustedKey { name: "release", public_key: KEY, policy: &policy, rights: Rights::OWNER }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    // The OTA store, the sandbox and the device loop over the VCOM UART.
    let (flash, region) = (BlockingFlash(Nvmc::new(p.NVMC)), Region { offset: 0xD_0000, size: 0x3_0000 });
    let store = defmt::unwrap!(Store::open(flash, region, StoreConfig { meta_sectors: 2, slots: 3 }).await);
    let runtime = akira_sandbox::Runtime::new(Default::default(), Bridge::with_builtins(), policy.clone());
    let mut device = Device::new(store, runtime, board, &trust, DeviceConfig::default(), log::note).await;
    let (rx, tx, cfg) = (&mut [0u8; 256], &mut [0u8; 256], Default::default()); // 115 200 baud
    let mut uart =
        BufferedUarte::new(p.UARTE0, p.TIMER1, p.PPI_CH0, p.PPI_CH1, p.PPI_GROUP0, p.P0_08, p.P0_06, Irqs, cfg, rx, tx);
    loop {
        let _ = device.serve(&mut uart, akira_hal_nrf::idle, log::note).await;
    }
}
