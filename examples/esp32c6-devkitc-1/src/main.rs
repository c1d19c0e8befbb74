//! Akira on the ESP32-C6-DevKitC-1, as a superloop: no async executor.
//!
//! - The board: the BOOT button and four LEDs you wire to GPIO 4–7 as
//!   logical pins (see README), the console on the USB-Serial-JTAG port.
//! - The OTA store in the `akira_ota` partition of the SPI flash.
//! - Packages from `akira push --serial` on UART0 (the DevKit's USB-UART
//!   bridge, GPIO16 TX / GPIO17 RX), 115 200 baud.
//! - Installed apps start at boot; a preinstalled blinky runs from the
//!   firmware image while nothing is installed.

#![no_std]
#![no_main]

extern crate alloc;

use akira_bridge::{AppInfo, Board, Bridge, Level, PinSlot};
use akira_caps::Policy;
use akira_caps::scope::GpioScope;
use akira_device::{Device, DeviceConfig, Note};
use akira_hal_esp::{EspBoard, MAX_PINS, Slot};
use akira_ota::block_on;
use akira_ota::package::{TrustPolicy, TrustedKey};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_sandbox::{Runtime, RuntimeConfig};
use embedded_io::Write as _;
use esp_hal::delay::Delay;
use esp_hal::gpio::{Input, InputConfig, Level as PinLevel, Output, OutputConfig, Pull};
use esp_hal::uart::{self, Uart};
use esp_println::println;
use esp_storage::FlashStorage;

esp_bootloader_esp_idf::esp_app_desc!();

/// The key this firmware trusts: replace `trusted-key.pub` with your own
/// (`akira keygen`). The one shipped is a public test key.
const TRUSTED_KEY: [u8; 32] = akira_ota::package::public_key_from_hex(include_str!("../trusted-key.pub"));

const BLINKY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blinky.wasm"));

/// The `akira_ota` partition of partitions.csv: two journal sectors and
/// three slots of 128 KiB.
const STORE: Region = Region { offset: 0x21_0000, size: 0x6_0000 };

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("PANIC: {info}");
    loop {}
}

fn console(app: &AppInfo, level: Level, message: &str) {
    println!("{} {}: {}", app.name.as_str(), level.name(), message);
}

fn note(note: Note<'_>) {
    println!("device: {note:?}");
}

/// What apps may have on this board: the LEDs, the button, the timer, the
/// console.
fn policy() -> Policy {
    let mut p = Policy::deny_all();
    p.max_memory = 64 * 1024;
    p.max_cpu_budget = 10_000_000;
    p.allow.gpio = Some(GpioScope::new([0].into_iter().collect(), (2..=5).collect(), [0].into_iter().collect()));
    p.allow.timer = true;
    p.allow.log = true;
    p.allow.sys = true;
    p
}

#[esp_hal::main]
fn main() -> ! {
    let p = esp_hal::init(esp_hal::Config::default());
    esp_alloc::heap_allocator!(size: 192 * 1024);

    // Logical pins: 0 the BOOT button (GPIO9, pull-up, pressed = low),
    // 2–5 LEDs on GPIO4–7.
    let mut pins: [Slot; MAX_PINS] = core::array::from_fn(|_| PinSlot::Unused);
    pins[0] = PinSlot::Input(Input::new(p.GPIO9, InputConfig::default().with_pull(Pull::Up)));
    pins[2] = PinSlot::Output(Output::new(p.GPIO4, PinLevel::Low, OutputConfig::default()));
    pins[3] = PinSlot::Output(Output::new(p.GPIO5, PinLevel::Low, OutputConfig::default()));
    pins[4] = PinSlot::Output(Output::new(p.GPIO6, PinLevel::Low, OutputConfig::default()));
    pins[5] = PinSlot::Output(Output::new(p.GPIO7, PinLevel::Low, OutputConfig::default()));
    let Ok(board) = EspBoard::init(pins, console) else { panic!("board set up twice") };

    let flash = BlockingFlash(FlashStorage::new(p.FLASH));
    let store = match block_on(Store::open(flash, STORE, StoreConfig { meta_sectors: 2, slots: 3 })) {
        Ok(store) => store,
        Err(e) => panic!("OTA store: {e}"),
    };
    let policy = policy();
    let keys = [TrustedKey { name: "release", public_key: TRUSTED_KEY, policy: &policy }];
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let config = RuntimeConfig { max_stack_bytes: 16 * 1024, max_module_bytes: 128 * 1024, ..RuntimeConfig::default() };
    let runtime = Runtime::new(config, Bridge::with_builtins(), policy.clone());
    let mut device = block_on(Device::new(store, runtime, board, &trust, DeviceConfig::default(), note));
    if device.store().apps().is_empty() {
        match device.run_builtin(BLINKY, &policy) {
            Ok(_) => println!("no app installed: running the preinstalled blinky"),
            Err(e) => println!("preinstalled blinky: {e}"),
        }
    }

    let uart_config = uart::Config::default().with_baudrate(115_200);
    let Ok(uart) = Uart::new(p.UART0, uart_config) else { panic!("UART0 configuration") };
    let mut uart = uart.with_tx(p.GPIO16).with_rx(p.GPIO17);
    println!("akira on ESP32-C6: waiting for packages on UART0");

    let delay = Delay::new();
    let mut buf = [0u8; 256];
    loop {
        board.sample_inputs();
        if uart.read_ready()
            && let Ok(n) = uart.read(&mut buf)
        {
            let mut data = &buf[..n];
            while !data.is_empty() {
                let (used, reply) = block_on(device.receive(data, note));
                data = &data[used..];
                if let Some(frame) = reply
                    && uart.write_all(&frame).is_err()
                {
                    println!("UART write failed");
                }
            }
        }
        let now = board.now();
        let round = block_on(device.round(now, note));
        if !round.busy {
            // Idle until the next deadline, but look at the button and the
            // UART every millisecond.
            let wait = round.next_wake.map_or(1000, |w| w.saturating_since(now).as_micros().min(1000) as u32);
            delay.delay_micros(wait);
        }
    }
}
