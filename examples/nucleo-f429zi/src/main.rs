//! Akira on the NUCLEO-F429ZI.
//!
//! - The board: the user button and LD1–LD3 as logical pins (see README),
//!   the console on RTT (defmt), the core at 168 MHz from the HSI.
//! - The OTA store on flash bank 2 (sectors 17–23, 7 × 128 KiB): erasing
//!   it does not stall the firmware, which runs from bank 1. The apps'
//!   key-value store (`akira:storage`) on bank 2's sectors 12–15
//!   (4 × 16 KiB).
//! - Packages from `akira push --serial` on the ST-LINK virtual COM port
//!   (USART3), 115 200 baud.
//! - I2C1 on the Arduino header (D15 SCL / D14 SDA) as app bus 0, served
//!   by a task with DMA while the app waits suspended, and the hardware
//!   RNG as `akira:rng`.
//! - SPI1 on the Arduino header (D13 SCK, D12 MISO, D11 MOSI, D10 chip
//!   select) as app SPI device 0, served by a task with DMA while the app
//!   waits suspended.
//! - USART6 on the Arduino header (D0 RX, D1 TX) as app serial port 0,
//!   pumped by two tasks (USART3, the ST-LINK VCOM, stays the OTA link);
//!   TIM1 CH1–CH3 on D6, D5, D3 and TIM4 CH4 on D9 as app PWM channels
//!   0–3; ADC1 on A0–A2 as app ADC channels 0–2.
//! - Installed apps start at boot; a preinstalled blinky runs from the
//!   firmware image.

#![no_std]
#![no_main]

extern crate alloc;

use akira_bridge::{
    AdcModule, AsyncI2cModule, AsyncSpiModule, Bridge, FlashKv, PinSlot, PwmModule, RngModule, Shared, StorageModule,
    UartModule,
};
use akira_caps::Policy;
use akira_caps::scope::{GpioScope, I2cScope, StorageScope};
use akira_device::{Device, DeviceConfig, log};
use akira_hal_stm32::{
    AdcRoute, HwRng, I2cBus, MAX_PINS, Peripherals, PwmRoute, Slot, SpiDev, Stm32Adc, Stm32Pwm, UartPort,
};
use akira_ota::package::{Rights, TrustPolicy, TrustedKey};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_sandbox::{Runtime, RuntimeConfig};
use defmt::{info, warn};
use embassy_embedded_hal::shared_bus::asynch::spi::SpiDevice;
use embassy_executor::Spawner;
use embassy_stm32::adc::{self, AdcChannel, SampleTime};
use embassy_stm32::exti::{self, ExtiInput};
use embassy_stm32::flash::{Blocking, Flash};
use embassy_stm32::gpio::{Level as PinLevel, Output, OutputType, Pull, Speed};
use embassy_stm32::i2c::{self, I2c};
use embassy_stm32::mode::Async;
use embassy_stm32::rng::{self, Rng};
use embassy_stm32::spi::{self, Spi};
use embassy_stm32::time::Hertz;
use embassy_stm32::timer::low_level::CountingMode;
use embassy_stm32::timer::simple_pwm::{PwmPin, SimplePwm};
use embassy_stm32::usart::{self, BufferedUart, BufferedUartRx, BufferedUartTx};
use embassy_stm32::{bind_interrupts, dma, interrupt, peripherals, rcc};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use static_cell::StaticCell;
use {defmt_rtt as _, panic_probe as _};

/// The key this firmware trusts: replace `trusted-key.pub` with your own
/// (`akira keygen`). The one shipped is a public test key.
const TRUSTED_KEY: [u8; 32] = akira_ota::package::public_key_from_hex(include_str!("../trusted-key.pub"));

const BLINKY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blinky.wasm"));

/// Heap for wasmi: modules, instances, stacks (about 20 KB per small app).
const HEAP_SIZE: usize = 96 * 1024;
/// The OTA store: all of `bank2_region3` (sectors 17–23), two journal
/// sectors and five slots of 128 KiB.
const STORE: Region = Region { offset: 0, size: 7 * 128 * 1024 };
/// The apps' key-value store: all of `bank2_region1` (sectors 12-15,
/// 4 x 16 KiB at 0x0810_0000).
const KV_SIZE: u32 = 4 * 16 * 1024;

bind_interrupts!(struct Irqs {
    USART3 => usart::BufferedInterruptHandler<peripherals::USART3>;
    USART6 => usart::BufferedInterruptHandler<peripherals::USART6>;
    EXTI15_10 => exti::InterruptHandler<interrupt::typelevel::EXTI15_10>;
    I2C1_EV => i2c::EventInterruptHandler<peripherals::I2C1>;
    I2C1_ER => i2c::ErrorInterruptHandler<peripherals::I2C1>;
    DMA1_STREAM6 => dma::InterruptHandler<peripherals::DMA1_CH6>;
    DMA1_STREAM0 => dma::InterruptHandler<peripherals::DMA1_CH0>;
    HASH_RNG => rng::InterruptHandler<peripherals::RNG>;
    DMA2_STREAM3 => dma::InterruptHandler<peripherals::DMA2_CH3>;
    DMA2_STREAM0 => dma::InterruptHandler<peripherals::DMA2_CH0>;
});

/// App I2C bus 0: I2C1's transfer queue.
static I2C1_BUS: I2cBus = I2cBus::new();
/// App SPI device 0: the device on SPI1 with chip select D10.
static SPI1_DEV0: SpiDev = SpiDev::new();
/// The hardware RNG, shared by every app.
static RNG: Shared<HwRng> = Shared::new();
/// App serial port 0: USART6's buffers.
static USART6_PORT: UartPort = UartPort::new();
/// TIM1's channels (D6, D5, D3 on CH1-CH3).
static TIM1_PWM: Shared<Stm32Pwm<peripherals::TIM1>> = Shared::new();
/// TIM4's channels (D9 on CH4).
static TIM4_PWM: Shared<Stm32Pwm<peripherals::TIM4>> = Shared::new();
/// ADC1 on A0-A2.
static ADC1: Shared<Stm32Adc<3>> = Shared::new();
/// The apps' key-value store on bank 2's 16 KiB sectors.
type KvFlash = embassy_stm32::flash::Bank2Region1<'static, Blocking>;
static KV: Shared<FlashKv<KvFlash>> = Shared::new();

#[embassy_executor::task]
async fn usart6_rx(rx: BufferedUartRx<'static>) -> ! {
    USART6_PORT.pump_rx(rx).await
}

#[embassy_executor::task]
async fn usart6_tx(tx: BufferedUartTx<'static>) -> ! {
    USART6_PORT.pump_tx(tx).await
}

#[embassy_executor::task]
async fn i2c1(bus: I2c<'static, embassy_stm32::mode::Async, i2c::Master>) -> ! {
    I2C1_BUS.serve(bus).await
}

/// SPI1 with DMA, shared by its devices (one here).
type Spi1 = Mutex<NoopRawMutex, Spi<'static, Async, spi::mode::Master>>;

#[embassy_executor::task]
async fn spi1_dev0(
    device: SpiDevice<'static, NoopRawMutex, Spi<'static, Async, spi::mode::Master>, Output<'static>>,
) -> ! {
    SPI1_DEV0.serve(device).await
}

#[embassy_executor::task]
async fn button(pin: u32, input: ExtiInput<'static, Async>) -> ! {
    akira_hal_stm32::watch(pin, input).await
}

/// What apps may have on this board: the LEDs, the button, the timer, the
/// console, I2C bus 0, SPI device 0, serial port 0, PWM channels 0–3, ADC
/// channels 0–2, 4 KiB in the key-value store, the RNG.
fn policy() -> Policy {
    let mut p = Policy::deny_all();
    p.max_memory = 64 * 1024;
    p.max_cpu_budget = 10_000_000;
    p.allow.gpio = Some(GpioScope::new([0].into_iter().collect(), (1..=3).collect(), [0].into_iter().collect()));
    p.allow.timer = true;
    p.allow.log = true;
    p.allow.sys = true;
    p.allow.rng = true;
    // Any device address on bus 0 (I2C1, the Arduino header).
    let mut i2c = I2cScope::default();
    i2c.buses[0] = akira_caps::sets::AddrSet::FULL;
    p.allow.i2c = Some(i2c);
    // The device on SPI1 with chip select D10.
    p.allow.spi = Some([0].into_iter().collect());
    // USART6 on D0/D1.
    p.allow.uart = Some([0].into_iter().collect());
    // TIM1 CH1-CH3 and TIM4 CH4 on D6, D5, D3, D9; ADC1 on A0-A2.
    p.allow.pwm = Some((0..4).collect());
    p.allow.adc = Some((0..3).collect());
    p.allow.storage = Some(StorageScope { quota: 4096 });
    p
}

/// 168 MHz from the 16 MHz HSI (no crystal needed: the ST-LINK's 8 MHz
/// clock output is an alternative through `rcc.hse`).
fn clocks() -> embassy_stm32::Config {
    let mut config = embassy_stm32::Config::default();
    config.rcc.pll_src = rcc::PllSource::HSI;
    config.rcc.pll = Some(rcc::Pll {
        prediv: rcc::PllPreDiv::DIV8,
        mul: rcc::PllMul::MUL168,
        divp: Some(rcc::PllPDiv::DIV2),
        divq: Some(rcc::PllQDiv::DIV7),
        divr: None,
    });
    config.rcc.sys = rcc::Sysclk::PLL1_P;
    config.rcc.ahb_pre = rcc::AHBPrescaler::DIV1;
    config.rcc.apb1_pre = rcc::APBPrescaler::DIV4;
    config.rcc.apb2_pre = rcc::APBPrescaler::DIV2;
    config
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    akira_device::init_heap!(HEAP_SIZE);
    let p = embassy_stm32::init(clocks());

    // Logical pins: 0 the blue user button B1 (pressed = high), 1–3 LD1
    // green, LD2 blue, LD3 red (active high: start low = off).
    let mut pins: [Slot; MAX_PINS] = core::array::from_fn(|_| PinSlot::Unused);
    pins[0] = akira_hal_stm32::input(0);
    pins[1] = PinSlot::Output(Output::new(p.PB0, PinLevel::Low, Speed::Low));
    pins[2] = PinSlot::Output(Output::new(p.PB7, PinLevel::Low, Speed::Low));
    pins[3] = PinSlot::Output(Output::new(p.PB14, PinLevel::Low, Speed::Low));
    // I2C1 at 100 kHz on PB8 (SCL, Arduino D15) and PB9 (SDA, D14), with
    // DMA; the board's external pull-ups or the sensor module's.
    let mut i2c_config = i2c::Config::default();
    i2c_config.frequency = Hertz(100_000);
    let bus = I2c::new(p.I2C1, p.PB8, p.PB9, p.DMA1_CH6, p.DMA1_CH0, Irqs, i2c_config);
    match i2c1(bus) {
        Ok(task) => spawner.spawn(task),
        Err(_) => warn!("I2C1 not served: task pool full"),
    }
    // SPI1 at 10.5 MHz (APB2's 84 MHz / 8; a W25Q reads at up to 50 MHz),
    // mode 0, on PA5 (SCK, Arduino D13), PA6 (MISO, D12), PA7 (MOSI, D11),
    // with DMA2 streams 3 (TX) and 0 (RX); chip select PD14 (D10), idle
    // high.
    let mut spi_config = spi::Config::default();
    spi_config.frequency = Hertz(10_500_000);
    let spi1 = Spi::new(p.SPI1, p.PA5, p.PA7, p.PA6, p.DMA2_CH3, p.DMA2_CH0, Irqs, spi_config);
    static SPI1: StaticCell<Spi1> = StaticCell::new();
    let spi1: &'static Spi1 = SPI1.init(Mutex::new(spi1));
    let cs = Output::new(p.PD14, PinLevel::High, Speed::VeryHigh);
    match spi1_dev0(SpiDevice::new(spi1, cs)) {
        Ok(task) => spawner.spawn(task),
        Err(_) => warn!("SPI1 not served: task pool full"),
    }
    // USART6 at 115 200 baud on the Arduino header: PG9 RX (D0), PG14 TX
    // (D1). Two tasks pump app serial port 0.
    static RX6: StaticCell<[u8; 256]> = StaticCell::new();
    static TX6: StaticCell<[u8; 256]> = StaticCell::new();
    let mut usart6_config = usart::Config::default();
    usart6_config.baudrate = 115_200;
    match BufferedUart::new(p.USART6, p.PG9, p.PG14, TX6.init([0; 256]), RX6.init([0; 256]), Irqs, usart6_config) {
        Ok(usart6) => {
            let (tx6, rx6) = usart6.split();
            match (usart6_rx(rx6), usart6_tx(tx6)) {
                (Ok(rx), Ok(tx)) => {
                    spawner.spawn(rx);
                    spawner.spawn(tx);
                }
                _ => warn!("USART6 not pumped: task pool full"),
            }
        }
        Err(e) => warn!("USART6: {}", defmt::Debug2Format(&e)),
    }
    // PWM at 1 kHz: TIM1 CH1 PE9 (D6), CH2 PE11 (D5), CH3 PE13 (D3); TIM4
    // CH4 PD15 (D9).
    let tim1 = SimplePwm::new(
        p.TIM1,
        Some(PwmPin::new(p.PE9, OutputType::PushPull)),
        Some(PwmPin::new(p.PE11, OutputType::PushPull)),
        Some(PwmPin::new(p.PE13, OutputType::PushPull)),
        None,
        Hertz(1_000),
        CountingMode::EdgeAlignedUp,
    );
    let Ok(tim1) = TIM1_PWM.init(Stm32Pwm::new(tim1)) else { panic!("TIM1 set up twice") };
    let tim4 = SimplePwm::new(
        p.TIM4,
        None,
        None,
        None,
        Some(PwmPin::new(p.PD15, OutputType::PushPull)),
        Hertz(1_000),
        CountingMode::EdgeAlignedUp,
    );
    let Ok(tim4) = TIM4_PWM.init(Stm32Pwm::new(tim4)) else { panic!("TIM4 set up twice") };
    // ADC1, 12 bits over VDDA = 3.3 V, 144 cycles per sample: A0 PA3
    // (IN3), A1 PC0 (IN10), A2 PC3 (IN13).
    let inputs = [p.PA3.degrade_adc(), p.PC0.degrade_adc(), p.PC3.degrade_adc()];
    let adc1 = Stm32Adc::new(adc::Adc::new(p.ADC1), inputs, SampleTime::CYCLES144, 3300);
    let Ok(adc1) = ADC1.init(adc1) else { panic!("ADC1 set up twice") };

    let regions = Flash::new_blocking(p.FLASH).into_blocking_regions();
    let kv = match FlashKv::new(regions.bank2_region1, 0..KV_SIZE) {
        Ok(kv) => kv,
        Err(e) => panic!("key-value store: {}", defmt::Display2Format(&e)),
    };
    let Ok(kv) = KV.init(kv) else { panic!("key-value store set up twice") };

    let Ok(rng) = RNG.init(HwRng(Rng::new(p.RNG, Irqs))) else { panic!("RNG set up twice") };
    let mut extra = Peripherals { rng: Some(rng), storage: Some(kv), ..Peripherals::default() };
    extra.i2c[0] = Some(&I2C1_BUS);
    extra.spi[0] = Some(&SPI1_DEV0);
    extra.uart[0] = Some(&USART6_PORT);
    extra.pwm[0] = Some(PwmRoute::pwm(tim1, 0));
    extra.pwm[1] = Some(PwmRoute::pwm(tim1, 1));
    extra.pwm[2] = Some(PwmRoute::pwm(tim1, 2));
    extra.pwm[3] = Some(PwmRoute::pwm(tim4, 3));
    for (channel, route) in extra.adc.iter_mut().take(3).enumerate() {
        *route = Some(AdcRoute::adc(adc1, channel as u32));
    }
    let Ok(board) = akira_hal_stm32::init(pins, log::console, extra) else { panic!("board set up twice") };
    match button(0, ExtiInput::new(p.PC13, p.EXTI13, Pull::Down, Irqs)) {
        Ok(task) => spawner.spawn(task),
        Err(_) => warn!("button not watched: task pool full"),
    }

    let store =
        match Store::open(BlockingFlash(regions.bank2_region3), STORE, StoreConfig { meta_sectors: 2, slots: 5 }).await
        {
            Ok(store) => store,
            Err(e) => panic!("OTA store: {}", defmt::Display2Format(&e)),
        };
    let policy = policy();
    let keys = [TrustedKey { name: "release", public_key: TRUSTED_KEY, policy: &policy, rights: Rights::OWNER }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let config = RuntimeConfig { max_stack_bytes: 8 * 1024, max_module_bytes: 96 * 1024, ..RuntimeConfig::default() };
    let Ok(bridge) = Bridge::with_builtins()
        .with(AsyncI2cModule)
        .and_then(|b| b.with(AsyncSpiModule))
        .and_then(|b| b.with(RngModule))
        .and_then(|b| b.with(UartModule))
        .and_then(|b| b.with(PwmModule))
        .and_then(|b| b.with(AdcModule))
        .and_then(|b| b.with(StorageModule))
    else {
        panic!("module names clash")
    };
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
    let mut uart_config = usart::Config::default();
    uart_config.baudrate = 115_200;
    let mut uart =
        match BufferedUart::new(p.USART3, p.PD9, p.PD8, TX.init([0; 1024]), RX.init([0; 1024]), Irqs, uart_config) {
            Ok(uart) => uart,
            Err(e) => panic!("USART3: {:?}", e),
        };
    info!("akira on NUCLEO-F429ZI: waiting for packages on the ST-LINK virtual COM port");

    loop {
        // Runs the apps and answers the host until a UART error.
        if device.serve(&mut uart, akira_hal_stm32::idle, log::note).await.is_err() {
            warn!("UART error");
        }
    }
}
