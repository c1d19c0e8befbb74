//! Peripherals beyond pins: I2C buses served by firmware tasks, and the
//! hardware random number generator on the chips that have one.

use akira_bridge::{AsyncI2c, Errno, I2cMailbox};

/// I2C buses a board can offer (I2C1–I2C3 on these chips): app bus `n`
/// is `Peripherals::i2c[n]`.
pub const I2C_BUSES: usize = 3;
/// Apps that can each have one transfer queued on a bus.
pub const I2C_APPS: usize = 4;
/// Largest transfer, in bytes each way (apps get `AKIRA_E2BIG` beyond).
pub const I2C_BUF: usize = 64;

/// One I2C bus's transfer queue: a `static` the firmware serves from a
/// task with embassy-stm32's async driver
/// (`BUS.serve(I2c::new(p.I2C1, scl, sda, irqs, tx_dma, rx_dma, config)).await`),
/// so the app waits, suspended, while other apps and tasks run.
pub type I2cBus = I2cMailbox<I2C_APPS, I2C_BUF>;

/// The chip's true random number generator (STM32F405 and STM32F429).
#[cfg(any(feature = "stm32f405rg", feature = "stm32f429zi"))]
pub struct HwRng(pub embassy_stm32::rng::Rng<'static, embassy_stm32::peripherals::RNG>);

#[cfg(any(feature = "stm32f405rg", feature = "stm32f429zi"))]
impl akira_bridge::Rng for HwRng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        // The driver recovers from seed and clock errors itself (it resets
        // the generator and retries), so a fill always completes.
        self.0.fill_bytes(buf);
        Ok(())
    }
}

/// What the board offers besides pins, clock and console. Leave a field
/// `None` for what the board does not have: apps asking for it get
/// `AKIRA_ENORES` (and a firmware registers only the modules it offers).
#[derive(Clone, Copy, Default)]
pub struct Peripherals {
    /// I2C buses (`akira:i2c` through [`akira_bridge::AsyncI2cModule`]).
    pub i2c: [Option<&'static I2cBus>; I2C_BUSES],
    /// The hardware RNG (`akira:rng` through [`akira_bridge::RngModule`]).
    #[cfg(any(feature = "stm32f405rg", feature = "stm32f429zi"))]
    pub rng: Option<&'static akira_bridge::Shared<HwRng>>,
}

impl Peripherals {
    fn bus(&self, bus: u32) -> Option<&'static I2cBus> {
        self.i2c.get(bus as usize).copied().flatten()
    }

    /// Resolves when a transfer on any bus finishes: part of the board's
    /// idle future, so a suspended app resumes as soon as its bytes are in.
    pub(crate) async fn i2c_changed(&self) {
        async fn changed(bus: Option<&'static I2cBus>) {
            match bus {
                Some(bus) => bus.changed().await,
                None => core::future::pending().await,
            }
        }
        let [a, b, c] = self.i2c;
        embassy_futures::select::select3(changed(a), changed(b), changed(c)).await;
    }
}

impl AsyncI2c for Peripherals {
    fn start(&mut self, app: u16, bus: u32, addr: u8, write: [&[u8]; 2], read_len: usize) -> Result<(), Errno> {
        self.bus(bus).ok_or(Errno::NoSuchResource)?.start(app, addr, write, read_len)
    }

    fn poll(&mut self, app: u16, bus: u32, read: &mut [u8]) -> Option<Result<(), Errno>> {
        match self.bus(bus) {
            Some(mailbox) => mailbox.poll(app, read),
            None => Some(Err(Errno::NoSuchResource)),
        }
    }
}

#[cfg(any(feature = "stm32f405rg", feature = "stm32f429zi"))]
impl akira_bridge::Rng for Peripherals {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        let mut rng = self.rng.ok_or(Errno::Unsupported)?;
        rng.fill(buf)
    }
}
