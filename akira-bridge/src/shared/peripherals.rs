//! [`Peripherals`]: what the vendor adapters offer beside pins, sized
//! once for every chip, and the event counters a board's idle future
//! waits on.

use super::cell::Shared;
#[cfg(feature = "adc")]
use super::routes::AdcRoute;
#[cfg(feature = "pwm")]
use super::routes::PwmRoute;
#[cfg(feature = "storage")]
use super::routes::SharedKv;
#[cfg(any(feature = "uart", feature = "pwm", feature = "adc", feature = "storage"))]
use crate::errno::Errno;
#[cfg(feature = "ble")]
use crate::modules::ble::BleMailbox;
#[cfg(feature = "i2c")]
use crate::modules::i2c_async::I2cMailbox;
#[cfg(feature = "rf")]
use crate::modules::rf::{MAX_PACKET, RfMailbox};
#[cfg(feature = "spi")]
use crate::modules::spi_async::SpiMailbox;
#[cfg(feature = "uart")]
use crate::modules::uart::SerialBuffer;
use crate::wake::Changes;

/// An I2C bus's transfer queue as the vendor adapters size it: one
/// transfer queued per app for up to [`I2C_APPS`] apps, up to
/// [`I2C_BUF`] bytes each way (`AKIRA_E2BIG` beyond).
#[cfg(feature = "i2c")]
pub type I2cBus = I2cMailbox<I2C_APPS, I2C_BUF>;
/// Apps that can each have a transfer queued on an [`I2cBus`].
#[cfg(feature = "i2c")]
pub const I2C_APPS: usize = 4;
/// Largest transfer on an [`I2cBus`], in bytes each way.
#[cfg(feature = "i2c")]
pub const I2C_BUF: usize = 64;
/// I2C buses [`Peripherals`] can hold (app bus `n` is `i2c[n]`).
#[cfg(feature = "i2c")]
pub const I2C_BUSES: usize = 4;

/// An SPI device's call queue as the vendor adapters size it: one call
/// queued per app for up to [`SPI_APPS`] apps, up to [`SPI_BUF`] bytes
/// each way (`AKIRA_E2BIG` beyond).
#[cfg(feature = "spi")]
pub type SpiDev = SpiMailbox<SPI_APPS, SPI_BUF>;
/// Apps that can each have a call queued on an [`SpiDev`].
#[cfg(feature = "spi")]
pub const SPI_APPS: usize = 4;
/// Largest call on an [`SpiDev`], in bytes each way: a 4-byte flash
/// command and address with 60 bytes of data, or a sensor's whole
/// register block.
#[cfg(feature = "spi")]
pub const SPI_BUF: usize = 64;
/// SPI devices [`Peripherals`] can hold (app device `n` is `spi[n]`).
#[cfg(feature = "spi")]
pub const SPI_DEVICES: usize = 4;

/// A serial port's buffers as the vendor adapters size them: a firmware
/// task fills the receive ring from the HAL's async UART
/// ([`SerialBuffer::pump_rx`]) and one drains the transmit ring into it
/// ([`SerialBuffer::pump_tx`]); apps take and queue bytes without waiting
/// on the hardware. Received bytes that do not fit while no app reads are
/// dropped and counted ([`SerialBuffer::dropped`]).
#[cfg(feature = "uart")]
pub type UartPort = SerialBuffer<UART_RX, UART_TX>;
/// Bytes a [`UartPort`] holds received and not yet read by an app.
#[cfg(feature = "uart")]
pub const UART_RX: usize = 256;
/// Bytes a [`UartPort`] holds queued by apps and not yet sent.
#[cfg(feature = "uart")]
pub const UART_TX: usize = 256;
/// Serial ports [`Peripherals`] can hold (app port `n` is `uart[n]`).
#[cfg(feature = "uart")]
pub const UART_PORTS: usize = 4;
/// A LoRa radio's job queue as the vendor adapters size it: one job
/// queued per app for up to [`RF_APPS`] apps, packets up to the LoRa
/// maximum; a firmware task serves it over the radio driver
/// ([`RfMailbox::serve`], e.g. akira-radio's `LoraPhyRadio`).
#[cfg(feature = "rf")]
pub type LoraRadio = RfMailbox<RF_APPS, MAX_PACKET>;
/// Apps that can each have a job queued on a [`LoraRadio`].
#[cfg(feature = "rf")]
pub const RF_APPS: usize = 4;
/// A BLE controller's job and report queues as the vendor adapters size
/// them: one job and [`BLE_REPORTS`] scan reports queued per app for up to
/// [`BLE_APPS`] apps; a firmware task serves it over the controller
/// ([`BleMailbox::serve`], e.g. akira-radio's `HciBle`).
#[cfg(feature = "ble")]
pub type BleController = BleMailbox<BLE_APPS, BLE_REPORTS>;
/// Apps that can each use a [`BleController`].
#[cfg(feature = "ble")]
pub const BLE_APPS: usize = 4;
/// Scan reports a [`BleController`] keeps per app until the app reads
/// them (older ones are dropped and counted beyond).
#[cfg(feature = "ble")]
pub const BLE_REPORTS: usize = 8;
/// PWM channels [`Peripherals`] can hold (app channel `n` is `pwm[n]`).
#[cfg(feature = "pwm")]
pub const PWM_CHANNELS: usize = 8;
/// Analog inputs [`Peripherals`] can hold (app channel `n` is `adc[n]`).
#[cfg(feature = "adc")]
pub const ADC_CHANNELS: usize = 8;

/// A random number generator the board does not have (for
/// [`Peripherals`] on a chip without one).
#[derive(Clone, Copy, Debug)]
pub enum NoRng {}

#[cfg(feature = "rng")]
impl crate::modules::rng::Rng for NoRng {
    fn fill(&mut self, _: &mut [u8]) -> Result<(), crate::errno::Errno> {
        match *self {}
    }
}

/// The peripherals the vendor adapters offer beside pins, one piece of
/// code for every chip:
///
/// - I2C buses and SPI devices served by firmware tasks over the HAL's
///   async drivers (apps suspended during a transfer,
///   [`AsyncI2cModule`](crate::AsyncI2cModule),
///   [`AsyncSpiModule`](crate::AsyncSpiModule));
/// - serial ports ([`UartPort`]: rings that a receive task and a transmit
///   task pump over the HAL's embedded-io-async UART; apps wait suspended
///   for bytes or room, [`UartModule`](crate::UartModule));
/// - PWM outputs and analog inputs: each app channel is a [`Route`](crate::Route) to one
///   output or input of a chip driver in a [`Shared`] cell (the adapter
///   implements [`Pwm`](crate::Pwm) or [`Adc`](crate::Adc) for the HAL's driver; several app
///   channels may share one timer or converter);
/// - the apps' key-value store ([`SharedKv`], a [`FlashKv`](crate::FlashKv)
///   on the chip's flash in a [`Shared`] cell);
/// - a LoRa radio ([`LoraRadio`], served by a firmware task;
///   [`RfModule`](crate::RfModule)) and a BLE controller
///   ([`BleController`], likewise; [`BleModule`](crate::BleModule));
/// - the chip's random number generator `R` in a [`Shared`] cell
///   ([`RngModule`](crate::RngModule)).
///
/// A `None` is a peripheral the board lacks: apps asking for it get
/// `AKIRA_ENORES` (a port, channel, bus or device) or `AKIRA_ENOTSUP` (the
/// RNG, the store, BLE).
///
/// ```rust,ignore
/// static I2C0: I2cBus = I2cBus::new();
/// static FLASH: SpiDev = SpiDev::new();
/// static UART1: UartPort = UartPort::new();
/// static TIMER: Shared<ChipPwm> = Shared::new();
/// static RNG: Shared<HwRng> = Shared::new();
/// // A task owning the HAL's async I2C driver: I2C0.serve(driver).await
/// // A task owning an async SpiDevice (bus + chip select): FLASH.serve(device).await
/// // Two tasks over the split UART: UART1.pump_rx(rx).await, UART1.pump_tx(tx).await
/// let timer = TIMER.init(ChipPwm(driver))?;
/// let mut extra = Peripherals { rng: Some(RNG.init(HwRng(driver))?), ..Peripherals::default() };
/// extra.i2c[0] = Some(&I2C0);
/// extra.spi[0] = Some(&FLASH);
/// extra.uart[0] = Some(&UART1);
/// extra.pwm[0] = Some(PwmRoute::pwm(timer, 0));
/// extra.pwm[1] = Some(PwmRoute::pwm(timer, 1));
/// let board = board.with_peripherals(extra);
/// ```
pub struct Peripherals<R: 'static> {
    #[cfg(feature = "i2c")]
    /// I2C buses, by app bus number.
    pub i2c: [Option<&'static I2cBus>; I2C_BUSES],
    #[cfg(feature = "spi")]
    /// SPI devices, by app device id.
    pub spi: [Option<&'static SpiDev>; SPI_DEVICES],
    #[cfg(feature = "uart")]
    /// Serial ports, by app port number ([`UartModule`](crate::UartModule)).
    pub uart: [Option<&'static UartPort>; UART_PORTS],
    #[cfg(feature = "pwm")]
    /// PWM outputs, by app channel number ([`PwmModule`](crate::PwmModule)).
    pub pwm: [Option<PwmRoute>; PWM_CHANNELS],
    #[cfg(feature = "adc")]
    /// Analog inputs, by app channel number ([`AdcModule`](crate::AdcModule)).
    pub adc: [Option<AdcRoute>; ADC_CHANNELS],
    #[cfg(feature = "storage")]
    /// The apps' key-value store ([`StorageModule`](crate::StorageModule)).
    pub storage: Option<&'static dyn SharedKv>,
    #[cfg(feature = "rf")]
    /// The LoRa radio ([`RfModule`](crate::RfModule)).
    pub rf: Option<&'static LoraRadio>,
    #[cfg(feature = "ble")]
    /// The BLE controller ([`BleModule`](crate::BleModule)).
    pub ble: Option<&'static BleController>,
    /// The random number generator.
    pub rng: Option<&'static Shared<R>>,
}

impl<R> Clone for Peripherals<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Peripherals<R> {}

impl<R> Default for Peripherals<R> {
    fn default() -> Self {
        Peripherals {
            #[cfg(feature = "i2c")]
            i2c: [None; I2C_BUSES],
            #[cfg(feature = "spi")]
            spi: [None; SPI_DEVICES],
            #[cfg(feature = "uart")]
            uart: [None; UART_PORTS],
            #[cfg(feature = "pwm")]
            pwm: [None; PWM_CHANNELS],
            #[cfg(feature = "adc")]
            adc: [None; ADC_CHANNELS],
            #[cfg(feature = "storage")]
            storage: None,
            #[cfg(feature = "rf")]
            rf: None,
            #[cfg(feature = "ble")]
            ble: None,
            rng: None,
        }
    }
}

impl<R> Peripherals<R> {
    #[cfg(feature = "i2c")]
    pub(super) fn bus(&self, bus: u32) -> Option<&'static I2cBus> {
        self.i2c.get(bus as usize).copied().flatten()
    }

    #[cfg(feature = "spi")]
    pub(super) fn device(&self, device: u32) -> Option<&'static SpiDev> {
        self.spi.get(device as usize).copied().flatten()
    }

    #[cfg(feature = "uart")]
    pub(super) fn port(&self, port: u32) -> Result<&'static UartPort, Errno> {
        self.uart.get(port as usize).copied().flatten().ok_or(Errno::NoSuchResource)
    }

    #[cfg(feature = "pwm")]
    pub(super) fn pwm_route(&self, channel: u32) -> Result<PwmRoute, Errno> {
        self.pwm.get(channel as usize).copied().flatten().ok_or(Errno::NoSuchResource)
    }

    #[cfg(feature = "adc")]
    pub(super) fn adc_route(&self, channel: u32) -> Result<AdcRoute, Errno> {
        self.adc.get(channel as usize).copied().flatten().ok_or(Errno::NoSuchResource)
    }

    #[cfg(feature = "storage")]
    pub(super) fn kv(&self) -> Result<&'static dyn SharedKv, Errno> {
        self.storage.ok_or(Errno::Unsupported)
    }

    /// Resolves when a transfer on any I2C bus or SPI device finishes,
    /// bytes arrive or transmit room appears on any serial port, or a BLE
    /// job finishes or a scan report arrives: part of a board's idle
    /// future, so a suspended app resumes as soon as its bytes are in.
    pub async fn changed(self) {
        Changes::any(self.counters(None)).await
    }

    /// The event counters [`Peripherals::changed`] waits on, and `extra`.
    pub(super) fn counters(self, extra: Option<&'static Changes>) -> [Option<&'static Changes>; WATCHED] {
        let mut counters: [Option<&'static Changes>; WATCHED] = [None; WATCHED];
        let mut next = counters.iter_mut();
        let mut watch = |counter: Option<&'static Changes>| {
            if let Some(slot) = next.next() {
                *slot = counter;
            }
        };
        #[cfg(feature = "i2c")]
        self.i2c.iter().for_each(|bus| watch(bus.map(|bus| bus.finished())));
        #[cfg(feature = "spi")]
        self.spi.iter().for_each(|device| watch(device.map(|device| device.finished())));
        #[cfg(feature = "uart")]
        self.uart.iter().for_each(|port| watch(port.map(|port| port.activity())));
        #[cfg(feature = "rf")]
        watch(self.rf.map(|radio| radio.finished()));
        #[cfg(feature = "ble")]
        watch(self.ble.map(|controller| controller.changes()));
        watch(extra);
        counters
    }
}

/// Event counters one [`Peripherals`] can have: every bus, device and
/// port, the radio, the BLE controller (those the features compile), and
/// one more (the input latch).
const WATCHED: usize = {
    #[allow(unused_mut)] // with no peripheral feature, only the latch
    let mut watched = 1;
    #[cfg(feature = "i2c")]
    {
        watched += I2C_BUSES;
    }
    #[cfg(feature = "spi")]
    {
        watched += SPI_DEVICES;
    }
    #[cfg(feature = "uart")]
    {
        watched += UART_PORTS;
    }
    #[cfg(feature = "rf")]
    {
        watched += 1;
    }
    #[cfg(feature = "ble")]
    {
        watched += 1;
    }
    watched
};
