//! Akira on the nRF52840-DK.
//!
//! - The board: LEDs 1–4 and buttons 1–2 as logical pins (see README),
//!   the console on RTT (defmt).
//! - The OTA store on the top 192 KiB of the internal flash (NVMC), and
//!   the apps' key-value store (`akira:storage`) on the 16 KiB below it.
//! - Packages from `akira push --serial` on the DK's VCOM UART (the J-Link
//!   USB serial port), 115 200 baud.
//! - TWIM0 on the Arduino header (P0.27 SCL / P0.26 SDA) as app I2C bus
//!   0, and SPIM2 on the header (D13 SCK, D12 MISO, D11 MOSI, D10 chip
//!   select) as app SPI device 0, each served by a task while the app
//!   waits suspended; the RNG as `akira:rng`.
//! - UARTE1 on the Arduino header (D0 RX, D1 TX) as app serial port 0,
//!   pumped by two tasks (UARTE0 stays the OTA link on the VCOM port);
//!   PWM0 on D3, D5, D6, D9 as app PWM channels 0–3; the SAADC on A0–A3
//!   as app ADC channels 0–3.
//! - Installed apps start at boot; a preinstalled blinky runs from the
//!   firmware image.
//! - With the `ble` feature: BLE advertising and scanning for apps
//!   through Nordic's SoftDevice Controller (see `ble.rs`); flash then
//!   goes through MPSL's timeslots and the key-value store is left out.

#![no_std]
#![no_main]

extern crate alloc;

#[cfg(feature = "ble")]
mod ble;

#[cfg(not(feature = "ble"))]
use core::cell::RefCell;

use akira_bridge::{AdcModule, AsyncI2cModule, AsyncSpiModule, Bridge, PinSlot, PwmModule, RngModule, UartModule};
#[cfg(not(feature = "ble"))]
use akira_bridge::{FlashKv, StorageModule};
use akira_caps::Policy;
use akira_caps::scope::{GpioScope, I2cScope};
use akira_device::{Device, DeviceConfig, log};
use akira_hal_nrf::{
    AdcRoute, HwRng, I2cBus, MAX_PINS, NrfAdc, NrfPwm, Peripherals, PwmRoute, Shared, Slot, SpiDev, UartPort,
};
use akira_ota::package::{Rights, TrustPolicy, TrustedKey};
#[cfg(not(feature = "ble"))]
use akira_ota::store::BlockingFlash;
use akira_ota::store::{Region, Store, StoreConfig};
use akira_sandbox::{Runtime, RuntimeConfig};
use defmt::{info, warn};
#[cfg(not(feature = "ble"))]
use embassy_embedded_hal::flash::partition::BlockingPartition;
use embassy_embedded_hal::shared_bus::asynch::spi::SpiDevice;
use embassy_executor::Spawner;
use embassy_nrf::buffered_uarte::{self, BufferedUarte, BufferedUarteRx, BufferedUarteTx};
use embassy_nrf::gpio::{Input, Level as PinLevel, Output, OutputDrive, Pull};
#[cfg(not(feature = "ble"))]
use embassy_nrf::nvmc::Nvmc;
use embassy_nrf::pwm::{SimpleConfig, SimplePwm};
use embassy_nrf::rng::Rng;
use embassy_nrf::saadc::{self, ChannelConfig, Saadc};
use embassy_nrf::spim::{self, Spim};
use embassy_nrf::twim::{self, Twim};
use embassy_nrf::{bind_interrupts, peripherals, uarte};
#[cfg(not(feature = "ble"))]
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use static_cell::StaticCell;
use {defmt_rtt as _, panic_probe as _};

/// The key this firmware trusts: replace `trusted-key.pub` with your own
/// (`akira keygen`). The one shipped is a public test key.
const TRUSTED_KEY: [u8; 32] = akira_ota::package::public_key_from_hex(include_str!("../trusted-key.pub"));

const BLINKY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blinky.wasm"));

/// Heap for wasmi: modules, instances, stacks (about 20 KB per small app).
const HEAP_SIZE: usize = 128 * 1024;
/// Where the OTA store starts: the top 192 KiB of flash (memory-default.x links
/// the firmware below the key-value store).
#[cfg(not(feature = "ble"))]
const STORE_AT: u32 = 0xD_0000;
/// The OTA store's size: two journal pages and three slots of 60 KiB.
#[cfg(not(feature = "ble"))]
const STORE_SIZE: u32 = 0x3_0000;
/// With BLE (and with `gatt`), the OTA store is the top 128 KiB
/// (memory-ble.x links the larger firmware below it).
#[cfg(feature = "ble")]
const STORE_AT: u32 = 0xE_0000;
/// Its size: two journal pages and two slots of 60 KiB.
#[cfg(feature = "ble")]
const STORE_SIZE: u32 = 0x2_0000;
/// App slots in the OTA store.
const STORE_SLOTS: u32 = if cfg!(feature = "ble") { 2 } else { 3 };
/// The apps' key-value store: the 16 KiB (four pages) below the OTA store.
#[cfg(not(feature = "ble"))]
const KV_AT: u32 = 0xC_C000;
/// Its size.
#[cfg(not(feature = "ble"))]
const KV_SIZE: u32 = 0x4000;

bind_interrupts!(struct Irqs {
    UARTE0 => buffered_uarte::InterruptHandler<peripherals::UARTE0>;
    UARTE1 => buffered_uarte::InterruptHandler<peripherals::UARTE1>;
    SAADC => saadc::InterruptHandler;
    TWISPI0 => twim::InterruptHandler<peripherals::TWISPI0>;
    SPI2 => spim::InterruptHandler<peripherals::SPI2>;
    #[cfg(feature = "ble")]
    EGU0_SWI0 => nrf_sdc::mpsl::LowPrioInterruptHandler;
    #[cfg(feature = "ble")]
    CLOCK_POWER => nrf_sdc::mpsl::ClockInterruptHandler;
    #[cfg(feature = "ble")]
    RADIO => nrf_sdc::mpsl::HighPrioInterruptHandler;
    #[cfg(feature = "ble")]
    TIMER0 => nrf_sdc::mpsl::HighPrioInterruptHandler;
    #[cfg(feature = "ble")]
    RTC0 => nrf_sdc::mpsl::HighPrioInterruptHandler;
});

/// App I2C bus 0: TWIM0's transfer queue.
static I2C0_BUS: I2cBus = I2cBus::new();
/// App SPI device 0: the device on SPIM2 with chip select D10.
static SPIM2_DEV0: SpiDev = SpiDev::new();
/// The RNG, shared by every app.
static RNG: Shared<HwRng> = Shared::new();
/// App serial port 0: UARTE1's buffers.
static UART1_PORT: UartPort = UartPort::new();
/// PWM0's four outputs.
static PWM0: Shared<NrfPwm> = Shared::new();
/// The SAADC's four inputs.
static ADC: Shared<NrfAdc<4>> = Shared::new();
/// The NVMC, shared by the OTA store's and the key-value store's
/// partitions (each operation takes it whole, so they never interleave).
#[cfg(not(feature = "ble"))]
type SharedNvmc = embassy_sync::blocking_mutex::Mutex<CriticalSectionRawMutex, RefCell<Nvmc<'static>>>;
/// A partition of the NVMC.
#[cfg(not(feature = "ble"))]
type Partition = BlockingPartition<'static, CriticalSectionRawMutex, Nvmc<'static>>;
/// The apps' key-value store.
#[cfg(not(feature = "ble"))]
static KV: Shared<FlashKv<Partition>> = Shared::new();

#[embassy_executor::task]
async fn uart1_rx(rx: BufferedUarteRx<'static>) -> ! {
    UART1_PORT.pump_rx(rx).await
}

#[embassy_executor::task]
async fn uart1_tx(tx: BufferedUarteTx<'static>) -> ! {
    UART1_PORT.pump_tx(tx).await
}

#[embassy_executor::task]
async fn i2c0(bus: Twim<'static>) -> ! {
    I2C0_BUS.serve(bus).await
}

/// SPIM2, shared by its devices (one here).
type Spim2 = Mutex<NoopRawMutex, Spim<'static>>;

#[embassy_executor::task]
async fn spim2_dev0(device: SpiDevice<'static, NoopRawMutex, Spim<'static>, Output<'static>>) -> ! {
    SPIM2_DEV0.serve(device).await
}

#[embassy_executor::task(pool_size = 2)]
async fn button(pin: u32, input: Input<'static>) -> ! {
    akira_hal_nrf::watch(pin, input).await
}

/// What apps may have on this board: the LEDs, the buttons, the timer, the
/// console, I2C bus 0, SPI device 0, serial port 0, PWM channels 0–3, ADC
/// channels 0–3, 4 KiB in the key-value store (without BLE), advertising
/// and scanning (with BLE), the RNG.
fn policy() -> Policy {
    let mut p = Policy::deny_all();
    p.max_memory = 64 * 1024;
    p.max_cpu_budget = 10_000_000;
    p.allow.gpio = Some(GpioScope::new([0, 1].into_iter().collect(), (2..=5).collect(), [0, 1].into_iter().collect()));
    p.allow.timer = true;
    p.allow.log = true;
    p.allow.sys = true;
    p.allow.rng = true;
    // Any device address on bus 0 (TWIM0, the Arduino header).
    let mut i2c = I2cScope::default();
    i2c.buses[0] = akira_caps::sets::AddrSet::FULL;
    p.allow.i2c = Some(i2c);
    // The device on SPIM2 with chip select D10.
    p.allow.spi = Some([0].into_iter().collect());
    // UARTE1 on D0/D1.
    p.allow.uart = Some([0].into_iter().collect());
    // PWM0 on D3, D5, D6, D9; the SAADC on A0-A3.
    p.allow.pwm = Some((0..4).collect());
    p.allow.adc = Some((0..4).collect());
    #[cfg(not(feature = "ble"))]
    {
        p.allow.storage = Some(akira_caps::scope::StorageScope { quota: 4096 });
    }
    #[cfg(feature = "ble")]
    {
        use akira_caps::scope::{BleScope, ble};
        // Advertising (no faster than every 100 ms, data changed at most
        // twice a second) and scanning.
        p.allow.ble = Some(BleScope {
            #[cfg(not(feature = "gatt"))]
            roles: [ble::ADVERTISE, ble::SCAN].into_iter().collect(),
            // With `gatt`, a GATT peripheral too.
            #[cfg(feature = "gatt")]
            roles: [ble::ADVERTISE, ble::SCAN, ble::PERIPHERAL].into_iter().collect(),
            min_adv_interval_ms: 100,
            adv_changes_per_s: 2,
        });
    }
    p
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    akira_device::init_heap!(HEAP_SIZE);
    #[cfg(not(feature = "ble"))]
    let p = embassy_nrf::init(Default::default());
    // MPSL keeps interrupt priority 0 for the radio's timing.
    #[cfg(feature = "ble")]
    let p = {
        let mut config = embassy_nrf::config::Config::default();
        config.gpiote_interrupt_priority = embassy_nrf::interrupt::Priority::P2;
        config.time_interrupt_priority = embassy_nrf::interrupt::Priority::P2;
        embassy_nrf::init(config)
    };

    // Logical pins: 0–1 buttons 1–2 (active low), 2–5 LEDs 1–4 (active low:
    // start high = off).
    let mut pins: [Slot; MAX_PINS] = core::array::from_fn(|_| PinSlot::Unused);
    pins[0] = akira_hal_nrf::input(0);
    pins[1] = akira_hal_nrf::input(1);
    pins[2] = PinSlot::Output(Output::new(p.P0_13, PinLevel::High, OutputDrive::Standard));
    pins[3] = PinSlot::Output(Output::new(p.P0_14, PinLevel::High, OutputDrive::Standard));
    pins[4] = PinSlot::Output(Output::new(p.P0_15, PinLevel::High, OutputDrive::Standard));
    pins[5] = PinSlot::Output(Output::new(p.P0_16, PinLevel::High, OutputDrive::Standard));
    // TWIM0 at 100 kHz on the Arduino header: P0.27 SCL, P0.26 SDA (the
    // sensor module's pull-ups). Transfers come from RAM: no TX buffer.
    let bus = Twim::new(p.TWISPI0, Irqs, p.P0_26, p.P0_27, twim::Config::default(), &mut []);
    match i2c0(bus) {
        Ok(task) => spawner.spawn(task),
        Err(_) => warn!("TWIM0 not served: task pool full"),
    }
    // SPIM2 at 8 MHz (its fastest), mode 0, on the Arduino header: P1.15
    // SCK (D13), P1.14 MISO (D12), P1.13 MOSI (D11); chip select P1.12
    // (D10), idle high. EasyDMA moves the bytes from the task's RAM buffers.
    let mut spi_config = spim::Config::default();
    spi_config.frequency = spim::Frequency::M8;
    let spim2 = Spim::new(p.SPI2, Irqs, p.P1_15, p.P1_14, p.P1_13, spi_config);
    static SPIM2: StaticCell<Spim2> = StaticCell::new();
    let spim2: &'static Spim2 = SPIM2.init(Mutex::new(spim2));
    let cs = Output::new(p.P1_12, PinLevel::High, OutputDrive::Standard);
    match spim2_dev0(SpiDevice::new(spim2, cs)) {
        Ok(task) => spawner.spawn(task),
        Err(_) => warn!("SPIM2 not served: task pool full"),
    }
    // UARTE1 at 115 200 baud on the Arduino header: P1.01 RX (D0), P1.02
    // TX (D1); TIMER2 and PPI channels 2-3 count received bytes (UARTE0
    // uses TIMER1 and channels 0-1). Two tasks pump app serial port 0.
    static RX1: StaticCell<[u8; 256]> = StaticCell::new();
    static TX1: StaticCell<[u8; 256]> = StaticCell::new();
    let mut uart1_config = uarte::Config::default();
    uart1_config.baudrate = uarte::Baudrate::Baud115200;
    let uart1 = BufferedUarte::new(
        p.UARTE1,
        p.TIMER2,
        p.PPI_CH2,
        p.PPI_CH3,
        p.PPI_GROUP1,
        p.P1_01,
        p.P1_02,
        Irqs,
        uart1_config,
        RX1.init([0; 256]),
        TX1.init([0; 256]),
    );
    let (rx1, tx1) = uart1.split();
    match (uart1_rx(rx1), uart1_tx(tx1)) {
        (Ok(rx), Ok(tx)) => {
            spawner.spawn(rx);
            spawner.spawn(tx);
        }
        _ => warn!("UARTE1 not pumped: task pool full"),
    }
    // PWM0 at 1 kHz (16 MHz / 16, top 1000) on D3 (P1.04), D5 (P1.06), D6
    // (P1.07), D9 (P1.11).
    let pwm0 = SimplePwm::new_4ch(p.PWM0, p.P1_04, p.P1_06, p.P1_07, p.P1_11, &SimpleConfig::default());
    let Ok(pwm0) = PWM0.init(NrfPwm(pwm0)) else { panic!("PWM0 set up twice") };
    // The SAADC, 12 bits, gain 1/6 on the 0.6 V reference (0-3.6 V), on A0
    // (P0.03, AIN1), A1 (P0.04, AIN2), A2 (P0.28, AIN4), A3 (P0.29, AIN5).
    let inputs = [
        ChannelConfig::single_ended(p.P0_03),
        ChannelConfig::single_ended(p.P0_04),
        ChannelConfig::single_ended(p.P0_28),
        ChannelConfig::single_ended(p.P0_29),
    ];
    let saadc = Saadc::new(p.SAADC, Irqs, saadc::Config::default(), inputs);
    saadc.calibrate().await;
    let Ok(saadc) = ADC.init(NrfAdc::new(saadc)) else { panic!("SAADC set up twice") };

    let Ok(rng) = RNG.init(HwRng(Rng::new_blocking(p.RNG))) else { panic!("RNG set up twice") };
    let mut extra = Peripherals { rng: Some(rng), ..Peripherals::default() };

    // Without BLE: the NVMC, split into the key-value store's and the OTA
    // store's partitions.
    #[cfg(not(feature = "ble"))]
    let (store_flash, store_region) = {
        static NVMC: StaticCell<SharedNvmc> = StaticCell::new();
        let nvmc: &'static SharedNvmc =
            NVMC.init(embassy_sync::blocking_mutex::Mutex::new(RefCell::new(Nvmc::new(p.NVMC))));
        let kv = match FlashKv::new(Partition::new(nvmc, KV_AT, KV_SIZE), 0..KV_SIZE) {
            Ok(kv) => kv,
            Err(e) => panic!("key-value store: {}", defmt::Display2Format(&e)),
        };
        let Ok(kv) = KV.init(kv) else { panic!("key-value store set up twice") };
        extra.storage = Some(kv);
        (BlockingFlash(Partition::new(nvmc, STORE_AT, STORE_SIZE)), Region { offset: 0, size: STORE_SIZE })
    };
    // With BLE: MPSL and the SoftDevice Controller; the flash through
    // MPSL's timeslots (the OTA store only).
    #[cfg(feature = "ble")]
    let (store_flash, store_region) = {
        ble::lower_priorities();
        static MPSL: StaticCell<nrf_sdc::mpsl::MultiprotocolServiceLayer<'static>> = StaticCell::new();
        let mpsl_p = nrf_sdc::mpsl::Peripherals::new(p.RTC0, p.TIMER0, p.TEMP, p.PPI_CH19, p.PPI_CH30, p.PPI_CH31);
        let mpsl = match nrf_sdc::mpsl::MultiprotocolServiceLayer::new(mpsl_p, Irqs, ble::LFCLK) {
            Ok(mpsl) => MPSL.init(mpsl),
            Err(e) => panic!("MPSL: {:?}", e),
        };
        let sdc_p = nrf_sdc::Peripherals::new(
            p.PPI_CH17, p.PPI_CH18, p.PPI_CH20, p.PPI_CH21, p.PPI_CH22, p.PPI_CH23, p.PPI_CH24, p.PPI_CH25, p.PPI_CH26,
            p.PPI_CH27, p.PPI_CH28, p.PPI_CH29,
        );
        extra.ble = ble::start(&spawner, mpsl, sdc_p);
        (nrf_sdc::mpsl::Flash::take(mpsl, p.NVMC), Region { offset: STORE_AT, size: STORE_SIZE })
    };
    extra.i2c[0] = Some(&I2C0_BUS);
    extra.spi[0] = Some(&SPIM2_DEV0);
    extra.uart[0] = Some(&UART1_PORT);
    for (channel, route) in extra.pwm.iter_mut().take(4).enumerate() {
        *route = Some(PwmRoute::pwm(pwm0, channel as u32));
    }
    for (channel, route) in extra.adc.iter_mut().take(4).enumerate() {
        *route = Some(AdcRoute::adc(saadc, channel as u32));
    }
    let Ok(board) = akira_hal_nrf::init(pins, log::console, extra) else { panic!("board set up twice") };
    for (pin, input) in [(0, Input::new(p.P0_11, Pull::Up)), (1, Input::new(p.P0_12, Pull::Up))] {
        match button(pin, input) {
            Ok(task) => spawner.spawn(task),
            Err(_) => warn!("button {} not watched: task pool full", pin),
        }
    }

    let store = match Store::open(store_flash, store_region, StoreConfig { meta_sectors: 2, slots: STORE_SLOTS }).await
    {
        Ok(store) => store,
        Err(e) => panic!("OTA store: {}", defmt::Display2Format(&e)),
    };
    let policy = policy();
    let keys = [TrustedKey { name: "release", public_key: TRUSTED_KEY, policy: &policy, rights: Rights::OWNER }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let config = RuntimeConfig { max_stack_bytes: 8 * 1024, max_module_bytes: 96 * 1024, ..RuntimeConfig::default() };
    let bridge = Bridge::with_builtins()
        .with(AsyncI2cModule)
        .and_then(|b| b.with(AsyncSpiModule))
        .and_then(|b| b.with(RngModule))
        .and_then(|b| b.with(UartModule))
        .and_then(|b| b.with(PwmModule))
        .and_then(|b| b.with(AdcModule));
    #[cfg(not(feature = "ble"))]
    let bridge = bridge.and_then(|b| b.with(StorageModule));
    #[cfg(feature = "ble")]
    let bridge = bridge.and_then(|b| b.with(akira_bridge::BleModule));
    let Ok(bridge) = bridge else { panic!("module names clash") };
    let runtime = Runtime::new(config, bridge, policy.clone());
    let mut device = Device::new(store, runtime, board, &trust, DeviceConfig::default(), log::note).await;
    if device.store().apps().is_empty() {
        match device.run_builtin(BLINKY, &policy) {
            Ok(_) => info!("no app installed: running the preinstalled blinky"),
            Err(e) => warn!("preinstalled blinky: {}", defmt::Display2Format(&e)),
        }
    }

    static RX: StaticCell<[u8; 1024]> = StaticCell::new();
    static TX: StaticCell<[u8; 1024]> = StaticCell::new();
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
        TX.init([0; 1024]),
    );
    info!("akira on nRF52840-DK: waiting for packages on the VCOM UART");

    loop {
        // Runs the apps and answers the host until a UART error.
        if device.serve(&mut uart, akira_hal_nrf::idle, log::note).await.is_err() {
            warn!("UART error");
        }
    }
}
