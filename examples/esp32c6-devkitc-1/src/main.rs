//! Akira on the ESP32-C6-DevKitC-1, on esp-rtos's embassy executor.
//!
//! - The board: the BOOT button and two LEDs you wire to GPIO4–5 as
//!   logical pins (see README), the console on the USB-Serial-JTAG port.
//! - The OTA store in the `akira_ota` partition of the SPI flash.
//! - Packages from `akira push --serial` on UART0 (the DevKit's USB-UART
//!   bridge, GPIO16 TX / GPIO17 RX), 115 200 baud.
//! - I2C0 on GPIO22 (SDA) / GPIO23 (SCL) as app I2C bus 0, and SPI2 on
//!   GPIO21 (SCK) / GPIO20 (MISO) / GPIO19 (MOSI) with chip select GPIO18
//!   as app SPI device 0, each served by a task while the app waits
//!   suspended; the RNG as `akira:rng`.
//! - Installed apps start at boot; a preinstalled blinky runs from the
//!   firmware image while nothing is installed.

#![no_std]
#![no_main]

extern crate alloc;

use akira_bridge::{AppInfo, AsyncI2cModule, AsyncSpiModule, Board, Bridge, Level, PinSlot, RngModule};
use akira_caps::Policy;
use akira_caps::scope::{GpioScope, I2cScope};
use akira_device::{Device, DeviceConfig, Note};
use akira_hal_esp::{HwRng, I2cBus, MAX_PINS, Peripherals, Shared, Slot, SpiDev};
use akira_ota::package::{TrustPolicy, TrustedKey};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_sandbox::{Runtime, RuntimeConfig};
use embassy_embedded_hal::shared_bus::asynch::spi::SpiDevice;
use embassy_executor::Spawner;
use embassy_futures::select::{Either, select};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use embedded_io_async::{Read, Write as _};
use esp_hal::gpio::{Input, InputConfig, Level as PinLevel, Output, OutputConfig, Pull};
use esp_hal::i2c::master::{self as i2c, I2c};
use esp_hal::rng::Rng;
use esp_hal::spi::Mode;
use esp_hal::spi::master::{self as spi, Spi, SpiDma};
use esp_hal::time::Rate;
use esp_hal::timer::timg::TimerGroup;
use esp_hal::uart::{self, Uart};
use esp_hal::{Async, dma_rx_buffer, dma_tx_buffer};
use esp_println::println;
use esp_storage::FlashStorage;
use static_cell::StaticCell;

esp_bootloader_esp_idf::esp_app_desc!();

/// The key this firmware trusts: replace `trusted-key.pub` with your own
/// (`akira keygen`). The one shipped is a public test key.
const TRUSTED_KEY: [u8; 32] = akira_ota::package::public_key_from_hex(include_str!("../trusted-key.pub"));

const BLINKY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blinky.wasm"));

/// The `akira_ota` partition of partitions.csv: two journal sectors and
/// three slots of 128 KiB.
const STORE: Region = Region { offset: 0x21_0000, size: 0x6_0000 };

/// App I2C bus 0: I2C0's transfer queue.
static I2C0_BUS: I2cBus = I2cBus::new();
/// App SPI device 0: the device on SPI2 with chip select GPIO18.
static SPI2_DEV0: SpiDev = SpiDev::new();
/// The RNG, shared by every app.
static RNG: Shared<HwRng> = Shared::new();

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("PANIC: {info}");
    loop {}
}

#[embassy_executor::task]
async fn i2c0(bus: I2c<'static, Async>) -> ! {
    I2C0_BUS.serve(bus).await
}

/// SPI2 (DMA), shared by its devices (one here).
type Spi2 = Mutex<NoopRawMutex, SpiDma<'static, Async>>;

#[embassy_executor::task]
async fn spi2_dev0(device: SpiDevice<'static, NoopRawMutex, SpiDma<'static, Async>, Output<'static>>) -> ! {
    SPI2_DEV0.serve(device).await
}

#[embassy_executor::task]
async fn button(pin: u32, input: Input<'static>) -> ! {
    akira_hal_esp::watch(pin, input).await
}

fn console(app: &AppInfo, level: Level, message: &str) {
    println!("{} {}: {}", app.name.as_str(), level.name(), message);
}

fn note(note: Note<'_>) {
    println!("device: {note:?}");
}

/// What apps may have on this board: the LEDs, the button, the timer, the
/// console, I2C bus 0, SPI device 0, the RNG.
fn policy() -> Policy {
    let mut p = Policy::deny_all();
    p.max_memory = 64 * 1024;
    p.max_cpu_budget = 10_000_000;
    p.allow.gpio = Some(GpioScope::new([0].into_iter().collect(), (2..=3).collect(), [0].into_iter().collect()));
    p.allow.timer = true;
    p.allow.log = true;
    p.allow.sys = true;
    p.allow.rng = true;
    // Any device address on bus 0 (I2C0).
    let mut i2c = I2cScope::default();
    i2c.buses[0] = akira_caps::sets::AddrSet::FULL;
    p.allow.i2c = Some(i2c);
    // The device on SPI2 with chip select GPIO18.
    p.allow.spi = Some([0].into_iter().collect());
    p
}

#[esp_rtos::main]
async fn main(spawner: Spawner) {
    let p = esp_hal::init(esp_hal::Config::default());
    esp_alloc::heap_allocator!(size: 192 * 1024);
    let timg0 = TimerGroup::new(p.TIMG0);
    esp_rtos::start(timg0.timer0, p.FROM_CPU_INTR0);

    // Logical pins: 0 the BOOT button (GPIO9, pull-up, pressed = low),
    // 2–3 LEDs on GPIO4–5.
    let mut pins: [Slot; MAX_PINS] = core::array::from_fn(|_| PinSlot::Unused);
    pins[0] = akira_hal_esp::input(0);
    pins[2] = PinSlot::Output(Output::new(p.GPIO4, PinLevel::Low, OutputConfig::default()));
    pins[3] = PinSlot::Output(Output::new(p.GPIO5, PinLevel::Low, OutputConfig::default()));

    // I2C0 at 100 kHz: GPIO22 SDA, GPIO23 SCL (the sensor module's
    // pull-ups).
    match I2c::new(p.I2C0, i2c::Config::default().with_frequency(Rate::from_khz(100))) {
        Ok(bus) => match i2c0(bus.with_sda(p.GPIO22).with_scl(p.GPIO23).into_async()) {
            Ok(task) => spawner.spawn(task),
            Err(_) => println!("I2C0 not served: task pool full"),
        },
        Err(e) => println!("I2C0 configuration: {e:?}"),
    }
    // SPI2 at 8 MHz, mode 0, through DMA channel 0: GPIO21 SCK, GPIO20
    // MISO, GPIO19 MOSI; chip select GPIO18, idle high.
    let (Ok(rx), Ok(tx)) = (dma_rx_buffer!(256), dma_tx_buffer!(256)) else { panic!("SPI2 DMA buffers") };
    let spi_config = spi::Config::default().with_frequency(Rate::from_mhz(8)).with_mode(Mode::_0);
    let Ok(spi2) = Spi::new(p.SPI2, spi_config) else { panic!("SPI2 configuration") };
    let spi2 = spi2
        .with_sck(p.GPIO21)
        .with_miso(p.GPIO20)
        .with_mosi(p.GPIO19)
        .with_dma(p.DMA_CH0)
        .with_buffers(rx, tx)
        .into_async();
    static SPI2: StaticCell<Spi2> = StaticCell::new();
    let spi2: &'static Spi2 = SPI2.init(Mutex::new(spi2));
    let cs = Output::new(p.GPIO18, PinLevel::High, OutputConfig::default());
    match spi2_dev0(SpiDevice::new(spi2, cs)) {
        Ok(task) => spawner.spawn(task),
        Err(_) => println!("SPI2 not served: task pool full"),
    }
    let Ok(rng) = RNG.init(HwRng(Rng::new())) else { panic!("RNG set up twice") };
    let mut extra = Peripherals { rng: Some(rng), ..Peripherals::default() };
    extra.i2c[0] = Some(&I2C0_BUS);
    extra.spi[0] = Some(&SPI2_DEV0);
    let Ok(board) = akira_hal_esp::init(pins, console, extra) else { panic!("board set up twice") };
    match button(0, Input::new(p.GPIO9, InputConfig::default().with_pull(Pull::Up))) {
        Ok(task) => spawner.spawn(task),
        Err(_) => println!("button not watched: task pool full"),
    }

    let flash = BlockingFlash(FlashStorage::new(p.FLASH));
    let store = match Store::open(flash, STORE, StoreConfig { meta_sectors: 2, slots: 3 }).await {
        Ok(store) => store,
        Err(e) => panic!("OTA store: {e}"),
    };
    let policy = policy();
    let keys = [TrustedKey { name: "release", public_key: TRUSTED_KEY, policy: &policy }];
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let config = RuntimeConfig { max_stack_bytes: 16 * 1024, max_module_bytes: 128 * 1024, ..RuntimeConfig::default() };
    let Ok(bridge) = Bridge::with_builtins()
        .with(AsyncI2cModule)
        .and_then(|b| b.with(AsyncSpiModule))
        .and_then(|b| b.with(RngModule))
    else {
        panic!("module names clash")
    };
    let runtime = Runtime::new(config, bridge, policy.clone());
    let mut device = Device::new(store, runtime, board, &trust, DeviceConfig::default(), note).await;
    if device.store().apps().is_empty() {
        match device.run_builtin(BLINKY, &policy) {
            Ok(_) => println!("no app installed: running the preinstalled blinky"),
            Err(e) => println!("preinstalled blinky: {e}"),
        }
    }

    let uart_config = uart::Config::default().with_baudrate(115_200);
    let Ok(uart) = Uart::new(p.UART0, uart_config) else { panic!("UART0 configuration") };
    let mut uart = uart.with_tx(p.GPIO16).with_rx(p.GPIO17).into_async();
    println!("akira on ESP32-C6: waiting for packages on UART0");

    let mut buf = [0u8; 256];
    let mut wake = None;
    loop {
        // Run the apps until their next deadline, an input edge, the end of
        // a bus transfer or bytes from the host, whichever comes first.
        if let Either::First(Ok(n)) = select(Read::read(&mut uart, &mut buf), akira_hal_esp::idle(wake)).await {
            let mut data = &buf[..n];
            while !data.is_empty() {
                let (used, reply) = device.receive(data, note).await;
                data = &data[used..];
                if let Some(frame) = reply
                    && uart.write_all(&frame).await.is_err()
                {
                    println!("UART write failed");
                }
            }
        }
        let now = board.now();
        let round = device.round(now, note).await;
        wake = if round.busy { Some(now) } else { round.next_wake };
    }
}
