//! The smallest Akira integration on the emulated board: apps get LED 2
//! (logical pin 2), the timer and the console; packages signed by
//! `test-signer.key` arrive on UART1 (`akira push --tcp`) into the OTA
//! store, and `Device::serve` runs them. What `examples/nrf52840-dk`'s
//! `minimal` does with embassy, on a bare Cortex-M4 (`run-ci.sh` pushes an
//! app to it in CI).
//!
//! `cargo run --release --bin minimal`

#![no_std]
#![no_main]

use akira_bridge::Bridge;
use akira_caps::{Policy, scope::CapabilitySet, scope::GpioScope};
use akira_device::{Device, DeviceConfig, log};
use akira_ota::package::{Rights, TrustPolicy, TrustedKey, public_key_from_hex};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_qemu_mps2_an386::uart::{UART1, Uart};
use akira_qemu_mps2_an386::{block_on, board::Mps2, clock, exit, idle, init_heap, ram_flash};
use cortex_m_rt::entry;

const KEY: [u8; 32] = public_key_from_hex(include_str!("../../test-signer.pub"));

#[entry]
fn main() -> ! {
    init_heap!(96 * 1024);
    let Some(core) = cortex_m::Peripherals::take() else { exit(false) };
    clock::start(core.SYST);
    let board = Mps2::init(None);
    let mut allow = CapabilitySet::default();
    allow.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    (allow.timer, allow.log) = (true, true);
    let policy = Policy { allow, max_memory: 64 * 1024, max_cpu_budget: 10_000_000, ..Policy::deny_all() };
    let keys = [TrustedKey { name: "test-signer", public_key: KEY, policy: &policy, rights: Rights::OWNER }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let region = Region { offset: 0, size: 64 * 1024 };
    let runtime = akira_sandbox::Runtime::new(Default::default(), Bridge::with_builtins(), policy.clone());
    block_on(async {
        let flash = BlockingFlash(ram_flash!(64 * 1024));
        let Ok(store) = Store::open(flash, region, StoreConfig { meta_sectors: 2, slots: 2 }).await else {
            exit(false)
        };
        let mut device = Device::new(store, runtime, board, &trust, DeviceConfig::default(), log::note).await;
        let mut uart = Uart::new(UART1);
        uart.wake_on_receive();
        defmt::info!("minimal: waiting for packages on UART1");
        loop {
            let _ = device.serve(&mut uart, idle, log::note).await;
        }
    })
}
