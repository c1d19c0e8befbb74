#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// The adapter exists only on the microcontroller; host builds of the
// workspace see an empty crate.
#![cfg(target_os = "none")]

#[cfg(not(any(feature = "esp32c6", feature = "esp32s3")))]
compile_error!("akira-hal-esp: choose the chip with a feature: `esp32c6` or `esp32s3`");
#[cfg(all(feature = "esp32c6", feature = "esp32s3"))]
compile_error!("akira-hal-esp: choose one chip feature, not both `esp32c6` and `esp32s3`");

use akira_bridge::{AdapterCell, Errno, Instant, LatchedInput, PinSlot, SharedBoard};
use esp_hal::gpio::{Input, Output};

pub use akira_bridge::{AdcRoute, I2cBus, PwmRoute, Shared, SpiDev, UartPort};

mod adc;
mod flash;
mod pwm;

pub use adc::{ADC_BITS, AdcInputs, EspAdc};
pub use flash::{AppStorage, FlashPartition, SharedFlash, partition};
pub use pwm::LedcPwm;

pub use akira_bridge;
pub use akira_bridge::AlreadyInitialised;
pub use akira_bridge::shared::Console;
pub use esp_hal;
pub use esp_storage;

/// Logical pins a board can have (`0..MAX_PINS`).
pub const MAX_PINS: usize = 16;

/// The SPI flash's erase sector (`esp_storage::FlashStorage`), the OTA
/// store's and the app storage's sector size.
pub const FLASH_SECTOR: u32 = 4096;

/// What sits at a logical pin: an input watched by [`watch`], or an
/// esp-hal output.
pub type Slot = PinSlot<LatchedInput, Output<'static>>;

/// The board handle Akira apps get: copy it into each app's store. All
/// copies share one state (pins and console in a critical-section mutex,
/// input levels and edges in atomics), so it works with esp-rtos's embassy
/// executor and any number of app tasks.
pub type EspBoard = SharedBoard<Output<'static>, MAX_PINS, Peripherals>;

/// The chip's random number generator. Its output is truly random while
/// an entropy source runs (the radio, or esp-hal's `TrngSource` on the
/// SAR ADC), pseudo-random otherwise: see esp-hal's `rng` module.
pub struct HwRng(pub esp_hal::rng::Rng);

impl akira_bridge::Rng for HwRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        self.0.read(buf);
        Ok(())
    }
}

/// What the board offers besides pins, clock and console: I2C buses
/// (`i2c[n]` is app bus `n`; serve each from a task with esp-hal's async
/// I2C master: `BUS.serve(I2c::new(p.I2C0, config)?.with_sda(sda)
/// .with_scl(scl).into_async()).await`), SPI devices (`spi[n]` is app
/// device `n`; serve each from a task with an async `SpiDevice` over
/// esp-hal's DMA SPI master (`Spi::new(..)?.with_dma(..).with_buffers(..)
/// .into_async()`) and a chip-select `Output`, e.g. embassy-embedded-hal's:
/// `DEV.serve(SpiDevice::new(&SPI2_BUS, cs)).await`) and the RNG. `None`
/// for what the board lacks.
pub type Peripherals = akira_bridge::Peripherals<HwRng>;

static CELL: AdapterCell<Output<'static>, MAX_PINS, HwRng> = AdapterCell::new();

/// Sets the board up with its logical pin table (slot `n` is logical pin
/// `n`), console and other peripherals (`Peripherals::default()` for
/// none). Input slots come from [`input`]; spawn a [`watch`] task for
/// each, and a task serving each I2C bus and SPI device. The clock is
/// embassy-time's (esp-rtos's time driver).
pub fn init(
    pins: [Slot; MAX_PINS],
    console: Console,
    peripherals: Peripherals,
) -> Result<EspBoard, AlreadyInitialised> {
    CELL.init(pins, now, console, peripherals)
}

/// The input slot for logical pin `pin`.
pub fn input(pin: u32) -> Slot {
    CELL.input(pin)
}

/// Watches an esp-hal input (GPIO edge interrupts) as logical pin `pin`:
/// run it in a task per input pin.
pub async fn watch(pin: u32, input: Input<'static>) -> ! {
    CELL.latch().watch(pin, input).await
}

/// What a scheduler awaits when no app can run: the next deadline, the
/// next input edge or the end of an I2C or SPI transfer, whichever comes
/// first.
pub async fn idle(until: Option<Instant>) {
    let deadline = until.map_or(embassy_time::Instant::MAX, |t| embassy_time::Instant::from_micros(t.as_micros()));
    embassy_futures::select::select(embassy_time::Timer::at(deadline), CELL.changed()).await;
}

fn now() -> Instant {
    Instant::from_micros(embassy_time::Instant::now().as_micros())
}
