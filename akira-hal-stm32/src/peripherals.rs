//! Peripherals beyond pins: I2C buses and SPI devices served by firmware
//! tasks, serial ports pumped by firmware tasks, PWM outputs and analog
//! inputs ([`Stm32Pwm`](crate::Stm32Pwm), [`Stm32Adc`](crate::Stm32Adc)),
//! the apps' key-value store, and the
//! hardware random number generator on the chips that have one. The
//! shape is the bridge's [`akira_bridge::Peripherals`], shared by the
//! vendor adapters.

pub use akira_bridge::{AdcRoute, I2cBus, PwmRoute, Shared, SpiDev, UartPort};

/// The chip's true random number generator (STM32F405 and STM32F429).
#[cfg(any(feature = "stm32f405rg", feature = "stm32f429zi"))]
pub struct HwRng(pub embassy_stm32::rng::Rng<'static, embassy_stm32::peripherals::RNG>);

#[cfg(any(feature = "stm32f405rg", feature = "stm32f429zi"))]
impl akira_bridge::Rng for HwRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), akira_bridge::Errno> {
        // The driver recovers from seed and clock errors itself (it resets
        // the generator and retries), so a fill always completes.
        self.0.fill_bytes(buf);
        Ok(())
    }
}

/// What the board offers besides pins, clock and console: I2C buses
/// (`i2c[n]` is app bus `n`; serve each from a task with embassy-stm32's
/// async driver: `BUS.serve(I2c::new(p.I2C1, scl, sda, tx_dma, rx_dma,
/// irqs, config)).await`), SPI devices (`spi[n]` is app device `n`; serve
/// each from a task with an async `SpiDevice` over embassy-stm32's `Spi`
/// with DMA and a chip-select `Output`, e.g. embassy-embedded-hal's:
/// `DEV.serve(SpiDevice::new(&SPI1_BUS, cs)).await`), serial ports
/// (`uart[n]` is app port `n`, a [`UartPort`] pumped by two tasks over a
/// split `BufferedUart`: `PORT.pump_rx(rx).await`, `PORT.pump_tx(tx).await`),
/// PWM outputs and analog inputs (`pwm[n]`, `adc[n]`: routes to a
/// [`Stm32Pwm`](crate::Stm32Pwm) or [`Stm32Adc`](crate::Stm32Adc) in a
/// [`Shared`] cell), the apps' key-value store (a `Shared<FlashKv<_>>` on
/// a flash region) and the RNG. `None` for what the board lacks.
#[cfg(any(feature = "stm32f405rg", feature = "stm32f429zi"))]
pub type Peripherals = akira_bridge::Peripherals<HwRng>;

/// The chip's random number generator, as [`Peripherals`] holds it.
#[cfg(any(feature = "stm32f405rg", feature = "stm32f429zi"))]
pub(crate) type ChipRng = HwRng;

/// What the board offers besides pins, clock and console: I2C buses
/// (`i2c[n]` is app bus `n`; serve each from a task with embassy-stm32's
/// async driver), SPI devices (`spi[n]` is app device `n`, served
/// likewise over an async `SpiDevice`), serial ports, PWM outputs, analog
/// inputs and the key-value store, as on the chips with an RNG. This chip
/// has no RNG.
#[cfg(not(any(feature = "stm32f405rg", feature = "stm32f429zi")))]
pub type Peripherals = akira_bridge::Peripherals<akira_bridge::NoRng>;

/// No random number generator on this chip.
#[cfg(not(any(feature = "stm32f405rg", feature = "stm32f429zi")))]
pub(crate) type ChipRng = akira_bridge::NoRng;
