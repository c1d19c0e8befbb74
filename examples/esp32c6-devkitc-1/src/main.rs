//! Akira on Espressif DevKits, on esp-rtos's embassy executor. One source
//! for two boards, told apart by the target architecture:
//!
//! - `riscv32`: the ESP32-C6-DevKitC-1 (this directory, built in CI);
//! - `xtensa`: the ESP32-S3-DevKitM-1 (`examples/esp32s3-devkitm-1`,
//!   which builds this file with the Espressif toolchain).
//!
//! What the firmware gives apps (pins in the README and in [`wiring`]):
//!
//! - The board: the BOOT button and two LEDs you wire as logical pins,
//!   the console on the USB-Serial-JTAG port.
//! - I2C bus 0, SPI device 0, UART port 0, PWM channels 0–1 (LEDC), ADC
//!   channel 0, each bus served by a task while the app waits suspended;
//!   the RNG; a key-value store (`akira:storage`) in the `akira_kv` flash
//!   partition; with the `lora` feature, an SX1262 LoRa radio on the SPI
//!   bus as `akira:rf`.
//! - The OTA store in the `akira_ota` partition; packages from
//!   `akira push --serial` on UART0 (the DevKit's USB-UART bridge),
//!   115 200 baud. Installed apps start at boot; a preinstalled blinky runs
//!   from the firmware image while nothing is installed.

#![no_std]
#![no_main]

#[cfg(all(feature = "fleet", feature = "ble"))]
compile_error!(
    "features `fleet` and `ble` together need Wi-Fi/BLE coexistence (esp-radio's `coex`), which this example does not set up: choose one"
);

extern crate alloc;

#[cfg(feature = "fleet")]
mod fleet;

use core::cell::RefCell;

use akira_bridge::{
    AdcModule, AppInfo, AsyncI2cModule, AsyncSpiModule, Bridge, FlashKv, Level, PinSlot, PwmModule, RngModule,
    StorageModule, UartModule,
};
use akira_caps::Policy;
use akira_caps::scope::{GpioScope, I2cScope, StorageScope};
use akira_device::{Device, DeviceConfig, Note};
use akira_hal_esp::{
    AdcRoute, AppStorage, EspAdc, HwRng, I2cBus, LedcPwm, MAX_PINS, Peripherals, PwmRoute, Shared, SharedFlash, Slot,
    SpiDev, UartPort, partition,
};
use akira_ota::package::{Rights, TrustPolicy, TrustedKey};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_sandbox::{Runtime, RuntimeConfig};
use embassy_embedded_hal::shared_bus::asynch::spi::SpiDevice;
use embassy_executor::Spawner;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use esp_hal::analog::adc::{Adc, AdcConfig, AdcPin, Attenuation};
use esp_hal::gpio::{AnyPin, DriveMode, Input, InputConfig, Level as PinLevel, Output, OutputConfig, Pull};
use esp_hal::i2c::master::{self as i2c, I2c};
use esp_hal::ledc::channel::{self as ledc_channel, ChannelIFace};
use esp_hal::ledc::timer::{self as ledc_timer, TimerIFace};
use esp_hal::ledc::{LSGlobalClkSource, Ledc, LowSpeed};
use esp_hal::peripherals::ADC1;
use esp_hal::rng::Rng;
use esp_hal::spi::Mode;
use esp_hal::spi::master::{self as spi, Spi, SpiDma};
use esp_hal::time::Rate;
use esp_hal::timer::timg::TimerGroup;
use esp_hal::uart::{self, Uart, UartRx, UartTx};
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
const OTA_PARTITION: (u32, u32) = (0x21_0000, 0x6_0000);
/// The `akira_kv` partition of partitions.csv: the apps' key-value store.
const KV_PARTITION: (u32, u32) = (0x27_0000, 0x1_0000);
/// Bytes of keys and values each app may keep.
const KV_QUOTA: u32 = 4096;

/// PWM resolution: 10 bits (full scale 1024) at 1 kHz.
const PWM_DUTY: ledc_timer::config::Duty = ledc_timer::config::Duty::Duty10Bit;
const PWM_FREQUENCY: Rate = Rate::from_khz(1);

/// Which chip pin does what on this board (the README's tables).
struct Wiring {
    button: AnyPin<'static>,
    leds: [AnyPin<'static>; 2],
    i2c_sda: AnyPin<'static>,
    i2c_scl: AnyPin<'static>,
    spi_sck: AnyPin<'static>,
    spi_miso: AnyPin<'static>,
    spi_mosi: AnyPin<'static>,
    spi_cs: AnyPin<'static>,
    pwm: [AnyPin<'static>; 2],
    uart1_tx: AnyPin<'static>,
    uart1_rx: AnyPin<'static>,
    ota_tx: AnyPin<'static>,
    ota_rx: AnyPin<'static>,
    #[cfg(feature = "lora")]
    lora: LoraPins,
}

/// The SX1262 module's control lines (feature `lora`).
#[cfg(feature = "lora")]
struct LoraPins {
    nss: AnyPin<'static>,
    reset: AnyPin<'static>,
    busy: AnyPin<'static>,
    dio1: AnyPin<'static>,
}

/// The input at 11 dB attenuation that reads full scale, in millivolts
/// (approximate, uncalibrated: about the supply on the C6, about 3.1 V on
/// the S3).
#[cfg(target_arch = "riscv32")]
const ADC_FULL_SCALE_MV: u32 = 3300;
#[cfg(target_arch = "xtensa")]
const ADC_FULL_SCALE_MV: u32 = 3100;

/// App ADC channel 0's pin (ADC1 channel 0).
#[cfg(target_arch = "riscv32")]
type AdcInput = esp_hal::peripherals::GPIO0<'static>;
#[cfg(target_arch = "xtensa")]
type AdcInput = esp_hal::peripherals::GPIO1<'static>;

/// The ESP32-C6-DevKitC-1's header pins.
#[cfg(target_arch = "riscv32")]
macro_rules! wiring {
    ($p:ident) => {
        (
            Wiring {
                button: $p.GPIO9.into(),
                leds: [$p.GPIO4.into(), $p.GPIO5.into()],
                i2c_sda: $p.GPIO22.into(),
                i2c_scl: $p.GPIO23.into(),
                spi_sck: $p.GPIO21.into(),
                spi_miso: $p.GPIO20.into(),
                spi_mosi: $p.GPIO19.into(),
                spi_cs: $p.GPIO18.into(),
                pwm: [$p.GPIO6.into(), $p.GPIO7.into()],
                uart1_tx: $p.GPIO10.into(),
                uart1_rx: $p.GPIO11.into(),
                ota_tx: $p.GPIO16.into(),
                ota_rx: $p.GPIO17.into(),
                #[cfg(feature = "lora")]
                lora: LoraPins {
                    nss: $p.GPIO1.into(),
                    reset: $p.GPIO15.into(),
                    busy: $p.GPIO2.into(),
                    dio1: $p.GPIO3.into(),
                },
            },
            $p.GPIO0,
        )
    };
}

/// The ESP32-S3-DevKitM-1's header pins.
#[cfg(target_arch = "xtensa")]
macro_rules! wiring {
    ($p:ident) => {
        (
            Wiring {
                button: $p.GPIO0.into(),
                leds: [$p.GPIO4.into(), $p.GPIO5.into()],
                i2c_sda: $p.GPIO8.into(),
                i2c_scl: $p.GPIO9.into(),
                spi_sck: $p.GPIO12.into(),
                spi_miso: $p.GPIO13.into(),
                spi_mosi: $p.GPIO11.into(),
                spi_cs: $p.GPIO10.into(),
                pwm: [$p.GPIO6.into(), $p.GPIO7.into()],
                uart1_tx: $p.GPIO17.into(),
                uart1_rx: $p.GPIO18.into(),
                ota_tx: $p.GPIO43.into(),
                ota_rx: $p.GPIO44.into(),
                #[cfg(feature = "lora")]
                lora: LoraPins {
                    nss: $p.GPIO14.into(),
                    reset: $p.GPIO21.into(),
                    busy: $p.GPIO15.into(),
                    dio1: $p.GPIO16.into(),
                },
            },
            $p.GPIO1,
        )
    };
}

/// App I2C bus 0: I2C0's transfer queue.
static I2C0_BUS: I2cBus = I2cBus::new();
/// App SPI device 0: the device on SPI2 with its own chip select.
static SPI2_DEV0: SpiDev = SpiDev::new();
/// App UART port 0: UART1's rings.
static UART1_PORT: UartPort = UartPort::new();
/// App PWM channels 0–1: LEDC low-speed channels 0–1 on timer 0.
static PWM: LedcPwm<2> = LedcPwm::new(1 << 10);
/// App ADC channel 0: ADC1 on [`AdcInput`].
static ADC: Shared<EspAdc<ADC1<'static>, AdcPin<AdcInput, ADC1<'static>>>> = Shared::new();
/// The apps' key-value store.
static KV: Shared<AppStorage> = Shared::new();
/// The RNG, shared by every app.
static RNG: Shared<HwRng> = Shared::new();
/// The BLE controller's job and report queues (feature `ble`).
#[cfg(feature = "ble")]
static BLE: akira_bridge::BleController = akira_bridge::BleController::new();
/// The SX1262's job queue (feature `lora`).
#[cfg(feature = "lora")]
static RADIO: akira_bridge::LoraRadio = akira_bridge::LoraRadio::new();

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    println!("PANIC: {info}");
    loop {}
}

#[embassy_executor::task]
async fn i2c0(bus: I2c<'static, Async>) -> ! {
    I2C0_BUS.serve(bus).await
}

/// SPI2 (DMA), shared by its devices: app device 0 and, with `lora`, the
/// SX1262.
type Spi2 = Mutex<NoopRawMutex, SpiDma<'static, Async>>;
/// A device on SPI2 with its chip select.
type Spi2Device = SpiDevice<'static, NoopRawMutex, SpiDma<'static, Async>, Output<'static>>;

#[embassy_executor::task]
async fn spi2_dev0(device: Spi2Device) -> ! {
    SPI2_DEV0.serve(device).await
}

#[embassy_executor::task]
async fn uart1_rx(rx: UartRx<'static, Async>) -> ! {
    UART1_PORT.pump_rx(rx).await
}

#[embassy_executor::task]
async fn uart1_tx(tx: UartTx<'static, Async>) -> ! {
    UART1_PORT.pump_tx(tx).await
}

#[embassy_executor::task]
async fn pwm(channels: [ledc_channel::Channel<'static, LowSpeed>; 2]) -> ! {
    PWM.serve(channels).await
}

#[embassy_executor::task]
async fn button(pin: u32, input: Input<'static>) -> ! {
    akira_hal_esp::watch(pin, input).await
}

/// Brings the SX1262 up and serves the apps' radio jobs forever (or
/// reports why the radio is absent).
#[cfg(feature = "lora")]
#[embassy_executor::task]
async fn lora(device: Spi2Device, reset: AnyPin<'static>, busy: AnyPin<'static>, dio1: AnyPin<'static>) {
    use lora_phy::LoRa;
    use lora_phy::iv::GenericSx126xInterfaceVariant;
    use lora_phy::sx126x::{self, Sx126x, Sx1262, TcxoCtrlVoltage};

    let reset = Output::new(reset, PinLevel::High, OutputConfig::default());
    let busy = Input::new(busy, InputConfig::default());
    let dio1 = Input::new(dio1, InputConfig::default().with_pull(Pull::Down));
    let Ok(iv) = GenericSx126xInterfaceVariant::new(reset, dio1, busy, None, None) else {
        println!("SX1262: interface pins");
        return;
    };
    let config =
        sx126x::Config { chip: Sx1262, tcxo_ctrl: Some(TcxoCtrlVoltage::Ctrl1V8), use_dcdc: true, rx_boost: false };
    match LoRa::new(Sx126x::new(device, iv, config), false, embassy_time::Delay).await {
        Ok(radio) => RADIO.serve(akira_radio::lora::LoraPhyRadio::new(radio), embassy_time::Delay).await,
        Err(e) => println!("SX1262 not found or not answering: {e:?}"),
    }
}

/// Serves the apps' advertising, scanning and GATT server (feature
/// `gatt`) through trouble-host over the chip's controller, forever:
/// trouble-host resets and sets the controller up; one central at a time.
#[cfg(feature = "gatt")]
#[embassy_executor::task]
async fn ble(connector: esp_radio::ble::controller::BleConnector<'static>) {
    use trouble_host::prelude::{DefaultPacketPool, ExternalController, HostResources};

    let controller: ExternalController<_, 4> = ExternalController::new(connector);
    // One connection; its signalling and ATT channels.
    let mut resources: HostResources<DefaultPacketPool, 1, 2> = HostResources::new();
    let stack = trouble_host::new(controller, &mut resources).build();
    akira_radio::trouble::TroubleBle::new(stack).serve(&BLE, embassy_time::Delay).await
}

/// Brings the chip's BLE controller up over HCI (reset, the LE
/// advertising-report events on) and serves the apps' advertising and
/// scanning jobs forever (or reports why BLE is absent).
#[cfg(all(feature = "ble", not(feature = "gatt")))]
#[embassy_executor::task]
async fn ble(connector: esp_radio::ble::controller::BleConnector<'static>) {
    use bt_hci::cmd::SyncCmd;
    use bt_hci::cmd::controller_baseband::{Reset, SetEventMask};
    use bt_hci::cmd::le::LeSetEventMask;
    use bt_hci::controller::{Controller, ExternalController};
    use bt_hci::param::{AddrKind, EventMask, LeEventMask};
    use embassy_futures::select::{Either, select};

    let controller: ExternalController<_, 4> = ExternalController::new(connector);
    let setup = {
        let commands = async {
            Reset::new().exec(&controller).await?;
            SetEventMask::new(EventMask::new().enable_le_meta(true)).exec(&controller).await?;
            LeSetEventMask::new(LeEventMask::new().enable_le_adv_report(true)).exec(&controller).await
        };
        // Command completions arrive as events: read them meanwhile.
        let events = async {
            loop {
                if let Ok(mut buf) = controller.alloc_buf() {
                    let _ = controller.read(&mut buf).await;
                }
            }
        };
        select(commands, events).await
    };
    match setup {
        Either::First(Ok(())) => BLE.serve(akira_radio::ble::HciBle::new(controller, AddrKind::PUBLIC), embassy_time::Delay).await,
        Either::First(Err(e)) => println!("BLE controller set-up: {e:?}"),
    }
}

fn console(app: &AppInfo, level: Level, message: &str) {
    println!("{} {}: {}", app.name.as_str(), level.name(), message);
}

fn note(note: Note<'_>) {
    println!("device: {note:?}");
}

/// What apps may have on this board: the LEDs, the button, the timer, the
/// console, I2C bus 0, SPI device 0, UART port 0, PWM channels 0–1, ADC
/// channel 0, the RNG, 4 KiB each in the key-value store; with `ble`,
/// advertising and scanning (at least 100 ms between advertisements);
/// with `lora`, the radio on the EU868 g1 sub-band (+14 dBm, 1 % duty
/// cycle).
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
    p.allow.spi = Some([0].into_iter().collect());
    p.allow.uart = Some([0].into_iter().collect());
    p.allow.pwm = Some([0, 1].into_iter().collect());
    p.allow.adc = Some([0].into_iter().collect());
    p.allow.storage = Some(StorageScope::with_quota(KV_QUOTA));
    #[cfg(feature = "ble")]
    {
        use akira_caps::scope::{BleScope, ble};
        #[cfg(not(feature = "gatt"))]
        let roles = [ble::ADVERTISE, ble::SCAN].into_iter().collect();
        #[cfg(feature = "gatt")]
        let roles = [ble::ADVERTISE, ble::SCAN, ble::PERIPHERAL].into_iter().collect();
        p.allow.ble = Some(BleScope { roles, ..BleScope::default() });
    }
    #[cfg(feature = "lora")]
    {
        use akira_caps::scope::{Band, RfScope};
        let mut rf = RfScope { max_power_dbm: 14, duty_cycle_permille: 10, ..RfScope::default() };
        let _ = rf.bands.push(Band { from_hz: 868_000_000, to_hz: 868_600_000 });
        p.allow.rf = Some(rf);
    }
    p
}

#[esp_rtos::main]
async fn main(spawner: Spawner) {
    let p = esp_hal::init(esp_hal::Config::default());
    esp_alloc::heap_allocator!(size: 192 * 1024);
    let timg0 = TimerGroup::new(p.TIMG0);
    esp_rtos::start(timg0.timer0, p.FROM_CPU_INTR0);
    let (wiring, adc_input) = wiring!(p);

    // Logical pins: 0 the BOOT button (pull-up, pressed = low), 2–3 LEDs.
    let mut pins: [Slot; MAX_PINS] = core::array::from_fn(|_| PinSlot::Unused);
    pins[0] = akira_hal_esp::input(0);
    let [led2, led3] = wiring.leds;
    pins[2] = PinSlot::Output(Output::new(led2, PinLevel::Low, OutputConfig::default()));
    pins[3] = PinSlot::Output(Output::new(led3, PinLevel::Low, OutputConfig::default()));
    let mut extra = Peripherals::default();

    // I2C0 at 100 kHz (the sensor module's pull-ups).
    match I2c::new(p.I2C0, i2c::Config::default().with_frequency(Rate::from_khz(100))) {
        Ok(bus) => match i2c0(bus.with_sda(wiring.i2c_sda).with_scl(wiring.i2c_scl).into_async()) {
            Ok(task) => {
                spawner.spawn(task);
                extra.i2c[0] = Some(&I2C0_BUS);
            }
            Err(_) => println!("I2C0 not served: task pool full"),
        },
        Err(e) => println!("I2C0 configuration: {e:?}"),
    }

    // SPI2 at 8 MHz, mode 0, through DMA channel 0; each device's chip
    // select is an output, idle high.
    let (Ok(rx), Ok(tx)) = (dma_rx_buffer!(256), dma_tx_buffer!(256)) else { panic!("SPI2 DMA buffers") };
    let spi_config = spi::Config::default().with_frequency(Rate::from_mhz(8)).with_mode(Mode::_0);
    let Ok(spi2) = Spi::new(p.SPI2, spi_config) else { panic!("SPI2 configuration") };
    let spi2 = spi2
        .with_sck(wiring.spi_sck)
        .with_miso(wiring.spi_miso)
        .with_mosi(wiring.spi_mosi)
        .with_dma(p.DMA_CH0)
        .with_buffers(rx, tx)
        .into_async();
    static SPI2: StaticCell<Spi2> = StaticCell::new();
    let spi2: &'static Spi2 = SPI2.init(Mutex::new(spi2));
    let cs = Output::new(wiring.spi_cs, PinLevel::High, OutputConfig::default());
    match spi2_dev0(SpiDevice::new(spi2, cs)) {
        Ok(task) => {
            spawner.spawn(task);
            extra.spi[0] = Some(&SPI2_DEV0);
        }
        Err(_) => println!("SPI2 not served: task pool full"),
    }
    #[cfg(feature = "lora")]
    {
        let LoraPins { nss, reset, busy, dio1 } = wiring.lora;
        let nss = Output::new(nss, PinLevel::High, OutputConfig::default());
        match lora(SpiDevice::new(spi2, nss), reset, busy, dio1) {
            Ok(task) => {
                spawner.spawn(task);
                extra.rf = Some(&RADIO);
            }
            Err(_) => println!("SX1262 not served: task pool full"),
        }
    }

    #[cfg(feature = "ble")]
    match esp_radio::ble::controller::BleConnector::new(p.BT, Default::default()) {
        Ok(connector) => match ble(connector) {
            Ok(task) => {
                spawner.spawn(task);
                extra.ble = Some(&BLE);
            }
            Err(_) => println!("BLE not served: task pool full"),
        },
        Err(e) => println!("BLE controller: {e:?}"),
    }

    // UART1 at 115 200 baud for apps, pumped by two tasks.
    match Uart::new(p.UART1, uart::Config::default().with_baudrate(115_200)) {
        Ok(uart) => {
            let (rx, tx) = uart.with_tx(wiring.uart1_tx).with_rx(wiring.uart1_rx).into_async().split();
            match (uart1_rx(rx), uart1_tx(tx)) {
                (Ok(rx), Ok(tx)) => {
                    spawner.spawn(rx);
                    spawner.spawn(tx);
                    extra.uart[0] = Some(&UART1_PORT);
                }
                _ => println!("UART1 not served: task pool full"),
            }
        }
        Err(e) => println!("UART1 configuration: {e:?}"),
    }

    // LEDC timer 0 at 1 kHz, 10 bits; low-speed channels 0–1.
    let mut ledc = Ledc::new(p.LEDC);
    ledc.set_global_slow_clock(LSGlobalClkSource::APBClk);
    static LEDC: StaticCell<Ledc<'static>> = StaticCell::new();
    let ledc: &'static Ledc<'static> = LEDC.init(ledc);
    static PWM_TIMER: StaticCell<ledc_timer::Timer<'static, LowSpeed>> = StaticCell::new();
    let timer = PWM_TIMER.init(ledc.timer::<LowSpeed>(ledc_timer::Number::Timer0));
    let timer_config = ledc_timer::config::Config {
        duty: PWM_DUTY,
        clock_source: ledc_timer::LSClockSource::APBClk,
        frequency: PWM_FREQUENCY,
    };
    match timer.configure(timer_config) {
        Ok(()) => {
            let timer: &'static ledc_timer::Timer<'static, LowSpeed> = timer;
            let [pwm0, pwm1] = wiring.pwm;
            let mut channels = [
                ledc.channel(ledc_channel::Number::Channel0, pwm0),
                ledc.channel(ledc_channel::Number::Channel1, pwm1),
            ];
            let configured = channels.iter_mut().all(|channel| {
                let config = ledc_channel::config::Config { timer, duty_pct: 0, drive_mode: DriveMode::PushPull };
                channel.configure(config).is_ok()
            });
            match (configured, pwm(channels)) {
                (true, Ok(task)) => {
                    spawner.spawn(task);
                    extra.pwm[0] = Some(PwmRoute::pwm(&PWM, 0));
                    extra.pwm[1] = Some(PwmRoute::pwm(&PWM, 1));
                }
                _ => println!("LEDC channels not served"),
            }
        }
        Err(e) => println!("LEDC timer: {e:?}"),
    }

    // ADC1, 11 dB attenuation, raw codes.
    let mut adc_config = AdcConfig::new();
    let adc_pin = adc_config.enable_pin(adc_input, Attenuation::_11dB);
    let adc = EspAdc::new(Adc::new(p.ADC1, adc_config), adc_pin, ADC_FULL_SCALE_MV);
    match ADC.init(adc) {
        Ok(adc) => extra.adc[0] = Some(AdcRoute::adc(adc, 0)),
        Err(_) => println!("ADC set up twice"),
    }

    let Ok(rng) = RNG.init(HwRng(Rng::new())) else { panic!("RNG set up twice") };
    extra.rng = Some(rng);

    // The SPI flash, shared by the OTA store and the apps' key-value store
    // (each in its own partition).
    static FLASH: StaticCell<SharedFlash> = StaticCell::new();
    let flash: &'static SharedFlash =
        FLASH.init(embassy_sync::blocking_mutex::Mutex::new(RefCell::new(FlashStorage::new(p.FLASH))));
    let (kv_offset, kv_size) = KV_PARTITION;
    match FlashKv::new(partition(flash, kv_offset, kv_size), 0..kv_size).map(|kv| KV.init(kv)) {
        Ok(Ok(kv)) => extra.storage = Some(kv),
        Ok(Err(_)) => println!("key-value store set up twice"),
        Err(e) => println!("key-value store: {e}"),
    }

    let Ok(board) = akira_hal_esp::init(pins, console, extra) else { panic!("board set up twice") };
    match button(0, Input::new(wiring.button, InputConfig::default().with_pull(Pull::Up))) {
        Ok(task) => spawner.spawn(task),
        Err(_) => println!("button not watched: task pool full"),
    }

    let (ota_offset, ota_size) = OTA_PARTITION;
    let ota = BlockingFlash(partition(flash, ota_offset, ota_size));
    let region = Region { offset: 0, size: ota_size };
    let store = match Store::open(ota, region, StoreConfig { meta_sectors: 2, slots: 3 }).await {
        Ok(store) => store,
        Err(e) => panic!("OTA store: {e}"),
    };
    let policy = policy();
    let keys = [TrustedKey { name: "release", public_key: TRUSTED_KEY, policy: &policy, rights: Rights::OWNER }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let config = RuntimeConfig { max_stack_bytes: 16 * 1024, max_module_bytes: 128 * 1024, ..RuntimeConfig::default() };
    let bridge = Bridge::with_builtins()
        .with(AsyncI2cModule)
        .and_then(|b| b.with(AsyncSpiModule))
        .and_then(|b| b.with(UartModule))
        .and_then(|b| b.with(PwmModule))
        .and_then(|b| b.with(AdcModule))
        .and_then(|b| b.with(StorageModule))
        .and_then(|b| b.with(RngModule));
    #[cfg(feature = "lora")]
    let bridge = bridge.and_then(|b| b.with(akira_bridge::RfModule));
    #[cfg(feature = "ble")]
    let bridge = bridge.and_then(|b| b.with(akira_bridge::BleModule));
    let Ok(bridge) = bridge else { panic!("module names clash") };
    let runtime = Runtime::new(config, bridge, policy.clone());
    let mut device = Device::new(store, runtime, board, &trust, DeviceConfig::default(), note).await;
    if device.store().apps().is_empty() {
        match device.run_builtin(BLINKY, &policy) {
            Ok(_) => println!("no app installed: running the preinstalled blinky"),
            Err(e) => println!("preinstalled blinky: {e}"),
        }
    }

    #[cfg(feature = "fleet")]
    {
        let why = fleet::serve(spawner, p.WIFI, &mut device).await;
        println!("fleet: {}: taking packages on UART0 instead", why);
    }

    let Ok(uart) = Uart::new(p.UART0, uart::Config::default().with_baudrate(115_200)) else {
        panic!("UART0 configuration")
    };
    let mut uart = uart.with_tx(wiring.ota_tx).with_rx(wiring.ota_rx).into_async();
    println!("akira: waiting for packages on UART0");

    loop {
        // Runs the apps and answers the host until a UART error.
        if device.serve(&mut uart, akira_hal_esp::idle, note).await.is_err() {
            println!("UART error");
        }
    }
}
