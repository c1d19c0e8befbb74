#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// The adapter exists only on the microcontroller; host builds of the
// workspace see an empty crate.
#![cfg(target_os = "none")]

#[cfg(not(any(feature = "nrf52840", feature = "nrf52833")))]
compile_error!("akira-hal-nrf: choose the chip with a feature: `nrf52840` or `nrf52833`");
#[cfg(all(feature = "nrf52840", feature = "nrf52833"))]
compile_error!("akira-hal-nrf: choose one chip feature, not both `nrf52840` and `nrf52833`");

use akira_bridge::{AdapterCell, Errno, Instant, LatchedInput, PinSlot, SharedBoard};
use embassy_nrf::gpio::{Input, Output};

pub use akira_bridge::{AdcRoute, I2cBus, PwmRoute, Shared, SpiDev, UartPort};

mod analog;
pub use analog::{NrfAdc, NrfPwm};

pub use akira_bridge;
pub use akira_bridge::AlreadyInitialised;
pub use akira_bridge::shared::Console;
pub use akira_ota;
pub use embassy_nrf;

/// Logical pins a board can have (`0..MAX_PINS`).
pub const MAX_PINS: usize = 16;

/// The chip's flash erase page, the OTA store's sector size.
pub const FLASH_PAGE: u32 = embassy_nrf::nvmc::PAGE_SIZE as u32;

/// What sits at a logical pin: an input watched by [`watch`], or an
/// embassy-nrf output.
pub type Slot = PinSlot<LatchedInput, Output<'static>>;

/// The board handle Akira apps get: copy it into each app's store. All
/// copies share one state (pins and console in a critical-section mutex,
/// input levels and edges in atomics), so it works with any embassy
/// executor and any number of app tasks.
pub type NrfBoard = SharedBoard<Output<'static>, MAX_PINS, Peripherals>;

/// The chip's random number generator (bias-corrected, blocking mode).
pub struct HwRng(pub embassy_nrf::rng::Rng<'static, embassy_nrf::mode::Blocking>);

impl akira_bridge::Rng for HwRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        self.0.blocking_fill_bytes(buf);
        Ok(())
    }
}

/// What the board offers besides pins, clock and console: I2C buses
/// (`i2c[n]` is app bus `n`; serve each from a task with embassy-nrf's
/// TWIM driver: `BUS.serve(Twim::new(p.TWISPI0, irqs, sda, scl, config,
/// ram_buffer)).await`), SPI devices (`spi[n]` is app device `n`; serve
/// each from a task with an async `SpiDevice` over embassy-nrf's `Spim`
/// and a chip-select `Output`, e.g. embassy-embedded-hal's:
/// `DEV.serve(SpiDevice::new(&SPIM3_BUS, cs)).await`), serial ports
/// (`uart[n]` is app port `n`, a [`UartPort`] pumped by two tasks over a
/// split `BufferedUarte`: `PORT.pump_rx(rx).await`, `PORT.pump_tx(tx).await`),
/// PWM outputs and analog inputs (`pwm[n]`, `adc[n]`: routes to an
/// [`NrfPwm`] or [`NrfAdc`] in a [`Shared`] cell), the apps' key-value
/// store (a `Shared<FlashKv<_>>` on NVMC pages) and the RNG. `None` for
/// what the board lacks.
pub type Peripherals = akira_bridge::Peripherals<HwRng>;

static CELL: AdapterCell<Output<'static>, MAX_PINS, HwRng> = AdapterCell::new();

/// Sets the board up with its logical pin table (slot `n` is logical pin
/// `n`), console and other peripherals (`Peripherals::default()` for
/// none). Input slots come from [`input`]; spawn a [`watch`] task for
/// each, a task serving each I2C bus and SPI device, and two pumping each
/// serial port. The clock is embassy-time's.
pub fn init(
    pins: [Slot; MAX_PINS],
    console: Console,
    peripherals: Peripherals,
) -> Result<NrfBoard, AlreadyInitialised> {
    CELL.init(pins, now, console, peripherals)
}

/// The input slot for logical pin `pin`.
pub fn input(pin: u32) -> Slot {
    CELL.input(pin)
}

/// Watches an embassy-nrf input (GPIOTE port events) as logical pin
/// `pin`: run it in a task per input pin.
pub async fn watch(pin: u32, input: Input<'static>) -> ! {
    CELL.latch().watch(pin, input).await
}

/// What a scheduler awaits when no app can run: the next deadline, the
/// next input edge, the end of an I2C or SPI transfer, or bytes (or room)
/// on a serial port, whichever comes first.
pub async fn idle(until: Option<Instant>) {
    let deadline = until.map_or(embassy_time::Instant::MAX, |t| embassy_time::Instant::from_micros(t.as_micros()));
    embassy_futures::select::select(embassy_time::Timer::at(deadline), CELL.changed()).await;
}

fn now() -> Instant {
    Instant::from_micros(embassy_time::Instant::now().as_micros())
}
