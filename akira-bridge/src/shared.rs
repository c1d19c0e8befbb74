//! A board whose state lives in one `static`, shared by every app's store:
//! the shape of a board on an async HAL, where outputs are driven directly
//! and inputs are owned by watcher tasks ([`InputLatch`]).
//!
//! A vendor adapter declares the cell and a type alias, and gets
//! [`Board`] and [`Gpio`] for free:
//!
//! ```rust,ignore
//! pub static CELL: BoardCell<Output<'static>, 16> = BoardCell::new();
//! pub type MyBoard = SharedBoard<Output<'static>, 16>;
//! let board = MyBoard::init(&CELL, pins, clock, console)?;
//! ```
//!
//! Other peripherals ride along as a `Copy` handle
//! ([`SharedBoard::with_peripherals`]): anything implementing the module
//! traits ([`AsyncI2c`], [`AsyncSpi`], [`Rng`], [`Pwm`], [`Adc`], [`Spi`], [`I2c`],
//! [`Sensors`], [`Uart`], [`KvStore`]), usually `&'static` references to
//! firmware statics — [`I2cMailbox`]es and [`SpiMailbox`]es served by bus
//! tasks, serial buffers pumped by UART tasks, or blocking drivers in a
//! [`Shared`] cell — gathered in a [`Peripherals`]. The board forwards each trait
//! its peripherals implement, so a firmware registers the matching modules
//! and nothing else changes.

use core::cell::{Cell, RefCell};

use critical_section::Mutex;
use embedded_hal::digital::{OutputPin, StatefulOutputPin};

use crate::board::{AppInfo, Board, Level};
use crate::errno::Errno;
use crate::latch::{InputLatch, LatchedInput};
use crate::modules::adc::Adc;
use crate::modules::ble::{Ble, BleJob, BleMailbox, ScanReport};
use crate::modules::gatt::{GattDeclaration, GattEvent, GattJob};
use crate::modules::gpio::{Edge, Edges, Gpio, PinBank, PinMode, PinSlot};
use crate::modules::i2c::I2c;
use crate::modules::i2c_async::{AsyncI2c, I2cMailbox};
use crate::modules::pwm::Pwm;
use crate::modules::rf::{Job, LoraConfig, MAX_PACKET, Outcome, PacketInfo, Rf, RfMailbox};
use crate::modules::rng::Rng;
use crate::modules::sensor::{Reading, SensorKind, Sensors};
use crate::modules::spi::{Spi, SpiOp};
use crate::modules::spi_async::{AsyncSpi, SpiMailbox};
use crate::modules::storage::KvStore;
use crate::modules::uart::{SerialBuffer, Uart};
use crate::time::Instant;
use crate::wake::Changes;

/// Where console lines from apps go.
pub type Console = fn(&AppInfo, Level, &str);

/// The board's monotonic clock.
pub type Clock = fn() -> Instant;

struct State<O, const N: usize> {
    pins: PinBank<LatchedInput, O, N>,
    clock: Clock,
    console: Console,
}

/// The static state behind a [`SharedBoard`]: pins, clock, console and
/// the input latch.
pub struct BoardCell<O: 'static, const N: usize> {
    state: Mutex<RefCell<Option<State<O, N>>>>,
    latch: InputLatch,
}

impl<O, const N: usize> Default for BoardCell<O, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O, const N: usize> BoardCell<O, N> {
    /// An empty cell, for a `static`.
    pub const fn new() -> Self {
        BoardCell { state: Mutex::new(RefCell::new(None)), latch: InputLatch::new() }
    }

    /// The input latch, for the idle future (`latch().changed()`) and the
    /// watcher tasks (`latch().watch(pin, input)`).
    pub fn latch(&'static self) -> &'static InputLatch {
        &self.latch
    }

    /// The input slot for logical pin `pin`: its level comes from the
    /// latch, written by a watcher task.
    pub fn input(&'static self, pin: u32) -> PinSlot<LatchedInput, O> {
        PinSlot::Input(self.latch.input(pin))
    }
}

/// The board was set up twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AlreadyInitialised;

/// A board handle over a [`BoardCell`]: copy it into each app's store.
/// `X` is the board's other peripherals (see the module docs); `()` when
/// it has only pins, clock and console.
pub struct SharedBoard<O: 'static, const N: usize, X: Copy + 'static = ()> {
    cell: &'static BoardCell<O, N>,
    peripherals: X,
}

impl<O, const N: usize, X: Copy> Clone for SharedBoard<O, N, X> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<O, const N: usize, X: Copy> Copy for SharedBoard<O, N, X> {}

impl<O, const N: usize, X: Copy> SharedBoard<O, N, X> {
    /// The same board with peripherals `peripherals` (replacing any it had).
    pub fn with_peripherals<Y: Copy + 'static>(self, peripherals: Y) -> SharedBoard<O, N, Y> {
        SharedBoard { cell: self.cell, peripherals }
    }

    /// The board's peripherals handle.
    pub fn peripherals(&self) -> &X {
        &self.peripherals
    }

    /// The cell's input latch.
    pub fn latch(self) -> &'static InputLatch {
        &self.cell.latch
    }

    fn with<R>(self, f: impl FnOnce(&mut State<O, N>) -> R) -> Result<R, Errno> {
        critical_section::with(|cs| self.cell.state.borrow_ref_mut(cs).as_mut().map(f)).ok_or(Errno::Unsupported)
    }
}

impl<O: OutputPin + StatefulOutputPin + 'static, const N: usize> SharedBoard<O, N> {
    /// Sets the board up: the logical pin table (slot `n` is pin `n`;
    /// inputs from [`BoardCell::input`]), the clock and the console.
    pub fn init(
        cell: &'static BoardCell<O, N>,
        pins: [PinSlot<LatchedInput, O>; N],
        clock: Clock,
        console: Console,
    ) -> Result<Self, AlreadyInitialised> {
        critical_section::with(|cs| {
            let mut state = cell.state.borrow_ref_mut(cs);
            if state.is_some() {
                return Err(AlreadyInitialised);
            }
            *state = Some(State { pins: PinBank::new(pins), clock, console });
            Ok(SharedBoard { cell, peripherals: () })
        })
    }
}

impl<O: OutputPin + StatefulOutputPin + 'static, const N: usize, X: Copy + 'static> Board for SharedBoard<O, N, X> {
    fn now(&self) -> Instant {
        self.with(|s| (s.clock)()).unwrap_or(Instant::ZERO)
    }

    fn log(&mut self, app: &AppInfo, level: Level, message: &str) {
        if let Ok(console) = self.with(|s| s.console) {
            console(app, level, message);
        }
    }
}

impl<O: OutputPin + StatefulOutputPin + 'static, const N: usize, X: Copy + 'static> Gpio for SharedBoard<O, N, X> {
    fn configure(&mut self, pin: u32, mode: PinMode) -> Result<(), Errno> {
        self.with(|s| s.pins.configure(pin, mode))??;
        if mode == PinMode::Input {
            self.cell.latch.clear(pin);
        }
        Ok(())
    }

    fn read(&mut self, pin: u32) -> Result<bool, Errno> {
        self.with(|s| s.pins.read(pin))?
    }

    fn write(&mut self, pin: u32, high: bool) -> Result<(), Errno> {
        self.with(|s| s.pins.write(pin, high))?
    }

    fn toggle(&mut self, pin: u32) -> Result<bool, Errno> {
        self.with(|s| s.pins.toggle(pin))?
    }

    fn take_edge(&mut self, pin: u32, edges: Edges) -> Result<Option<Edge>, Errno> {
        let input = self.with(|s| matches!(s.pins.slot_mut(pin), Some(PinSlot::Input(_))))?;
        if input { Ok(self.cell.latch.take_edge(pin, edges)) } else { Err(Errno::Unsupported) }
    }
}

/// Implements a module trait on [`SharedBoard`] by handing every method,
/// defaulted ones included, to the board's peripherals.
macro_rules! forward_to_peripherals {
    ($trait:ident { $(fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)* }) => {
        impl<O: 'static, const N: usize, X: $trait + Copy + 'static> $trait for SharedBoard<O, N, X> {
            $(fn $name(&mut self $(, $arg: $ty)*) -> $ret {
                self.peripherals.$name($($arg),*)
            })*
        }
    };
}

/// Implements a module trait on `&'static Shared<T>` by running every
/// method, defaulted ones included, on the driver inside the cell.
macro_rules! forward_to_shared {
    ($trait:ident { $(fn $name:ident(&mut self $(, $arg:ident: $ty:ty)*) -> Result<$ok:ty, Errno>;)* }) => {
        impl<T: $trait> $trait for &'static Shared<T> {
            $(fn $name(&mut self $(, $arg: $ty)*) -> Result<$ok, Errno> {
                self.with(|driver| driver.$name($($arg),*))?
            })*
        }
    };
}

/// Both forwardings for traits whose methods all return `Result<_, Errno>`.
macro_rules! forward {
    ($trait:ident $methods:tt) => {
        forward_to_peripherals!($trait $methods);
        forward_to_shared!($trait $methods);
    };
}

forward!(Rng {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno>;
});
forward!(Pwm {
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno>;
    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno>;
    fn set_frequency(&mut self, channel: u32, hz: u32) -> Result<(), Errno>;
});
forward!(Adc {
    fn resolution(&mut self, channel: u32) -> Result<u8, Errno>;
    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno>;
    fn full_scale_mv(&mut self, channel: u32) -> Result<u32, Errno>;
    fn read_millivolts(&mut self, channel: u32) -> Result<u32, Errno>;
});
forward!(Sensors {
    fn kind(&mut self, channel: u32) -> Result<SensorKind, Errno>;
    fn read(&mut self, channel: u32) -> Result<Reading, Errno>;
});
forward!(Spi {
    fn transaction(&mut self, device: u32, ops: &mut [embedded_hal::spi::Operation<'_, u8>]) -> Result<(), Errno>;
});
forward!(I2c {
    fn transaction(&mut self, bus: u32, addr: u8, ops: &mut [embedded_hal::i2c::Operation<'_>]) -> Result<(), Errno>;
});
forward!(Uart {
    fn read(&mut self, port: u32, buf: &mut [u8]) -> Result<usize, Errno>;
    fn write(&mut self, port: u32, data: &[u8]) -> Result<usize, Errno>;
});
forward_to_peripherals!(KvStore {
    fn get(&mut self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno>;
    fn set(&mut self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno>;
    fn remove(&mut self, app: &str, key: &[u8]) -> Result<bool, Errno>;
    fn used(&mut self, app: &str) -> Result<u32, Errno>;
});
impl<O, const N: usize, X: Rf + Copy + 'static> Rf for SharedBoard<O, N, X> {
    fn configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno> {
        self.peripherals.configure(app, config)
    }

    fn config(&self, app: u16) -> Option<LoraConfig> {
        self.peripherals.config(app)
    }

    fn start(&mut self, app: u16, job: Job<'_>, deadline: Instant) -> Result<(), Errno> {
        self.peripherals.start(app, job, deadline)
    }

    fn poll(&mut self, app: u16, now: Instant, buf: &mut [u8]) -> Option<Result<Outcome, Errno>> {
        self.peripherals.poll(app, now, buf)
    }

    fn last_packet(&self, app: u16) -> Option<PacketInfo> {
        self.peripherals.last_packet(app)
    }

    fn release(&mut self, app: u16) {
        self.peripherals.release(app)
    }
}
forward_to_peripherals!(Ble {
    fn start(&mut self, app: u16, job: BleJob, deadline: Instant) -> Result<(), Errno>;
    fn poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>>;
    fn next_report(&mut self, app: u16, now: Instant) -> Result<Option<ScanReport>, Errno>;
    fn release(&mut self, app: u16) -> ();
    fn gatt_declare(&mut self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno>;
    fn gatt_start(&mut self, app: u16, job: GattJob, value: &[u8], deadline: Instant) -> Result<bool, Errno>;
    fn gatt_poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>>;
    fn gatt_next_event(&mut self, app: u16, now: Instant) -> Result<Option<GattEvent>, Errno>;
});
forward_to_peripherals!(AsyncI2c {
    fn start(&mut self, app: u16, bus: u32, addr: u8, write: [&[u8]; 2], read_len: usize) -> Result<(), Errno>;
    fn poll(&mut self, app: u16, bus: u32, read: &mut [u8]) -> Option<Result<(), Errno>>;
});
forward_to_peripherals!(AsyncSpi {
    fn start(&mut self, app: u16, device: u32, op: SpiOp, write: &[u8], read_len: usize) -> Result<(), Errno>;
    fn poll(&mut self, app: u16, device: u32, read: &mut [u8]) -> Option<Result<(), Errno>>;
});

/// A blocking driver in a `static`, shared by every copy of a board:
/// `&'static Shared<T>` implements each module trait `T` implements, by
/// running the call inside a critical section. Meant for calls that take
/// microseconds (RNG, PWM duty, one ADC conversion); bus transfers on an
/// async HAL go through a mailbox and a task instead
/// ([`I2cMailbox`], [`SpiMailbox`]).
pub struct Shared<T> {
    driver: Mutex<RefCell<Option<T>>>,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Shared<T> {
    /// An empty cell, for a `static`.
    pub const fn new() -> Self {
        Shared { driver: Mutex::new(RefCell::new(None)) }
    }

    /// Puts the driver in the cell (once).
    pub fn init(&'static self, driver: T) -> Result<&'static Self, AlreadyInitialised> {
        critical_section::with(|cs| {
            let mut cell = self.driver.borrow_ref_mut(cs);
            if cell.is_some() {
                return Err(AlreadyInitialised);
            }
            *cell = Some(driver);
            Ok(self)
        })
    }

    /// Runs `f` on the driver; [`Errno::Unsupported`] before [`Shared::init`].
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, Errno> {
        critical_section::with(|cs| self.driver.borrow_ref_mut(cs).as_mut().map(f)).ok_or(Errno::Unsupported)
    }
}

/// An I2C bus's transfer queue as the vendor adapters size it: one
/// transfer queued per app for up to [`I2C_APPS`] apps, up to
/// [`I2C_BUF`] bytes each way (`AKIRA_E2BIG` beyond).
pub type I2cBus = I2cMailbox<I2C_APPS, I2C_BUF>;
/// Apps that can each have a transfer queued on an [`I2cBus`].
pub const I2C_APPS: usize = 4;
/// Largest transfer on an [`I2cBus`], in bytes each way.
pub const I2C_BUF: usize = 64;
/// I2C buses [`Peripherals`] can hold (app bus `n` is `i2c[n]`).
pub const I2C_BUSES: usize = 4;

/// An SPI device's call queue as the vendor adapters size it: one call
/// queued per app for up to [`SPI_APPS`] apps, up to [`SPI_BUF`] bytes
/// each way (`AKIRA_E2BIG` beyond).
pub type SpiDev = SpiMailbox<SPI_APPS, SPI_BUF>;
/// Apps that can each have a call queued on an [`SpiDev`].
pub const SPI_APPS: usize = 4;
/// Largest call on an [`SpiDev`], in bytes each way: a 4-byte flash
/// command and address with 60 bytes of data, or a sensor's whole
/// register block.
pub const SPI_BUF: usize = 64;
/// SPI devices [`Peripherals`] can hold (app device `n` is `spi[n]`).
pub const SPI_DEVICES: usize = 4;

/// A serial port's buffers as the vendor adapters size them: a firmware
/// task fills the receive ring from the HAL's async UART
/// ([`SerialBuffer::pump_rx`]) and one drains the transmit ring into it
/// ([`SerialBuffer::pump_tx`]); apps take and queue bytes without waiting
/// on the hardware. Received bytes that do not fit while no app reads are
/// dropped and counted ([`SerialBuffer::dropped`]).
pub type UartPort = SerialBuffer<UART_RX, UART_TX>;
/// Bytes a [`UartPort`] holds received and not yet read by an app.
pub const UART_RX: usize = 256;
/// Bytes a [`UartPort`] holds queued by apps and not yet sent.
pub const UART_TX: usize = 256;
/// Serial ports [`Peripherals`] can hold (app port `n` is `uart[n]`).
pub const UART_PORTS: usize = 4;
/// A LoRa radio's job queue as the vendor adapters size it: one job
/// queued per app for up to [`RF_APPS`] apps, packets up to the LoRa
/// maximum; a firmware task serves it over the radio driver
/// ([`RfMailbox::serve`], e.g. akira-radio's `LoraPhyRadio`).
pub type LoraRadio = RfMailbox<RF_APPS, MAX_PACKET>;
/// Apps that can each have a job queued on a [`LoraRadio`].
pub const RF_APPS: usize = 4;
/// A BLE controller's job and report queues as the vendor adapters size
/// them: one job and [`BLE_REPORTS`] scan reports queued per app for up to
/// [`BLE_APPS`] apps; a firmware task serves it over the controller
/// ([`BleMailbox::serve`], e.g. akira-radio's `HciBle`).
pub type BleController = BleMailbox<BLE_APPS, BLE_REPORTS>;
/// Apps that can each use a [`BleController`].
pub const BLE_APPS: usize = 4;
/// Scan reports a [`BleController`] keeps per app until the app reads
/// them (older ones are dropped and counted beyond).
pub const BLE_REPORTS: usize = 8;
/// PWM channels [`Peripherals`] can hold (app channel `n` is `pwm[n]`).
pub const PWM_CHANNELS: usize = 8;
/// Analog inputs [`Peripherals`] can hold (app channel `n` is `adc[n]`).
pub const ADC_CHANNELS: usize = 8;

/// A PWM driver in a [`Shared`] cell, as [`Peripherals`] routes app
/// channels to it: the [`Pwm`] methods on `&self`, each run in a
/// critical section. Implemented for every `Shared<T>` with `T: Pwm`;
/// `channel` is the driver's own output number.
pub trait SharedPwm: Sync {
    /// [`Pwm::max_duty`] on the driver.
    fn max_duty(&self, channel: u32) -> Result<u16, Errno>;
    /// [`Pwm::set_duty`] on the driver.
    fn set_duty(&self, channel: u32, duty: u16) -> Result<(), Errno>;
    /// [`Pwm::set_frequency`] on the driver.
    fn set_frequency(&self, channel: u32, hz: u32) -> Result<(), Errno>;
}

impl<T: Pwm + Send> SharedPwm for Shared<T> {
    fn max_duty(&self, channel: u32) -> Result<u16, Errno> {
        self.with(|driver| driver.max_duty(channel))?
    }

    fn set_duty(&self, channel: u32, duty: u16) -> Result<(), Errno> {
        self.with(|driver| driver.set_duty(channel, duty))?
    }

    fn set_frequency(&self, channel: u32, hz: u32) -> Result<(), Errno> {
        self.with(|driver| driver.set_frequency(channel, hz))?
    }
}

/// An ADC driver in a [`Shared`] cell, as [`Peripherals`] routes app
/// channels to it: the [`Adc`] methods on `&self`, each run in a critical
/// section. Implemented for every `Shared<T>` with `T: Adc`; `channel` is
/// the driver's own input number.
pub trait SharedAdc: Sync {
    /// [`Adc::resolution`] on the driver.
    fn resolution(&self, channel: u32) -> Result<u8, Errno>;
    /// [`Adc::read_raw`] on the driver.
    fn read_raw(&self, channel: u32) -> Result<u16, Errno>;
    /// [`Adc::full_scale_mv`] on the driver.
    fn full_scale_mv(&self, channel: u32) -> Result<u32, Errno>;
    /// [`Adc::read_millivolts`] on the driver (its calibration, if any).
    fn read_millivolts(&self, channel: u32) -> Result<u32, Errno>;
}

impl<T: Adc + Send> SharedAdc for Shared<T> {
    fn resolution(&self, channel: u32) -> Result<u8, Errno> {
        self.with(|driver| driver.resolution(channel))?
    }

    fn read_raw(&self, channel: u32) -> Result<u16, Errno> {
        self.with(|driver| driver.read_raw(channel))?
    }

    fn full_scale_mv(&self, channel: u32) -> Result<u32, Errno> {
        self.with(|driver| driver.full_scale_mv(channel))?
    }

    fn read_millivolts(&self, channel: u32) -> Result<u32, Errno> {
        self.with(|driver| driver.read_millivolts(channel))?
    }
}

/// A key-value store in a [`Shared`] cell (a
/// [`FlashKv`](crate::FlashKv) on the chip's flash, usually): the
/// [`KvStore`] methods on `&self`, each run in a critical section (a write
/// that erases a flash page holds it for the erase).
pub trait SharedKv: Sync {
    /// [`KvStore::get`] on the store.
    fn get(&self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno>;
    /// [`KvStore::set`] on the store.
    fn set(&self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno>;
    /// [`KvStore::remove`] on the store.
    fn remove(&self, app: &str, key: &[u8]) -> Result<bool, Errno>;
    /// [`KvStore::used`] on the store.
    fn used(&self, app: &str) -> Result<u32, Errno>;
}

impl<T: KvStore + Send> SharedKv for Shared<T> {
    fn get(&self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        self.with(|store| store.get(app, key, buf))?
    }

    fn set(&self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno> {
        self.with(|store| store.set(app, key, value, quota))?
    }

    fn remove(&self, app: &str, key: &[u8]) -> Result<bool, Errno> {
        self.with(|store| store.remove(app, key))?
    }

    fn used(&self, app: &str) -> Result<u32, Errno> {
        self.with(|store| store.used(app))?
    }
}

/// Where an app channel goes: channel `channel` of driver `driver` (a
/// [`Shared`] PWM or ADC driver seen as [`SharedPwm`] or [`SharedAdc`]).
/// Several app channels may share a driver: a timer's four outputs are
/// four routes to one driver.
pub struct Route<D: ?Sized + 'static> {
    /// The driver.
    pub driver: &'static D,
    /// The driver's own channel number.
    pub channel: u32,
}

impl<D: ?Sized> Clone for Route<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: ?Sized> Copy for Route<D> {}

/// An app PWM channel's route.
pub type PwmRoute = Route<dyn SharedPwm>;
/// An app ADC channel's route.
pub type AdcRoute = Route<dyn SharedAdc>;

impl PwmRoute {
    /// Output `channel` of PWM driver `driver`.
    pub fn pwm(driver: &'static dyn SharedPwm, channel: u32) -> Self {
        Route { driver, channel }
    }
}

impl AdcRoute {
    /// Input `channel` of ADC driver `driver`.
    pub fn adc(driver: &'static dyn SharedAdc, channel: u32) -> Self {
        Route { driver, channel }
    }
}

/// A random number generator the board does not have (for
/// [`Peripherals`] on a chip without one).
#[derive(Clone, Copy, Debug)]
pub enum NoRng {}

impl Rng for NoRng {
    fn fill(&mut self, _: &mut [u8]) -> Result<(), Errno> {
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
/// - PWM outputs and analog inputs: each app channel is a [`Route`] to one
///   output or input of a chip driver in a [`Shared`] cell (the adapter
///   implements [`Pwm`] or [`Adc`] for the HAL's driver; several app
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
    /// I2C buses, by app bus number.
    pub i2c: [Option<&'static I2cBus>; I2C_BUSES],
    /// SPI devices, by app device id.
    pub spi: [Option<&'static SpiDev>; SPI_DEVICES],
    /// Serial ports, by app port number ([`UartModule`](crate::UartModule)).
    pub uart: [Option<&'static UartPort>; UART_PORTS],
    /// PWM outputs, by app channel number ([`PwmModule`](crate::PwmModule)).
    pub pwm: [Option<PwmRoute>; PWM_CHANNELS],
    /// Analog inputs, by app channel number ([`AdcModule`](crate::AdcModule)).
    pub adc: [Option<AdcRoute>; ADC_CHANNELS],
    /// The apps' key-value store ([`StorageModule`](crate::StorageModule)).
    pub storage: Option<&'static dyn SharedKv>,
    /// The LoRa radio ([`RfModule`](crate::RfModule)).
    pub rf: Option<&'static LoraRadio>,
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
            i2c: [None; I2C_BUSES],
            spi: [None; SPI_DEVICES],
            uart: [None; UART_PORTS],
            pwm: [None; PWM_CHANNELS],
            adc: [None; ADC_CHANNELS],
            storage: None,
            rf: None,
            ble: None,
            rng: None,
        }
    }
}

impl<R> Peripherals<R> {
    fn bus(&self, bus: u32) -> Option<&'static I2cBus> {
        self.i2c.get(bus as usize).copied().flatten()
    }

    fn device(&self, device: u32) -> Option<&'static SpiDev> {
        self.spi.get(device as usize).copied().flatten()
    }

    fn port(&self, port: u32) -> Result<&'static UartPort, Errno> {
        self.uart.get(port as usize).copied().flatten().ok_or(Errno::NoSuchResource)
    }

    fn pwm_route(&self, channel: u32) -> Result<PwmRoute, Errno> {
        self.pwm.get(channel as usize).copied().flatten().ok_or(Errno::NoSuchResource)
    }

    fn adc_route(&self, channel: u32) -> Result<AdcRoute, Errno> {
        self.adc.get(channel as usize).copied().flatten().ok_or(Errno::NoSuchResource)
    }

    fn kv(&self) -> Result<&'static dyn SharedKv, Errno> {
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
    fn counters(self, extra: Option<&'static Changes>) -> [Option<&'static Changes>; WATCHED] {
        let mut counters: [Option<&'static Changes>; WATCHED] = [None; WATCHED];
        let (i2c, rest) = counters.split_at_mut(I2C_BUSES);
        let (spi, rest) = rest.split_at_mut(SPI_DEVICES);
        let (uart, others) = rest.split_at_mut(UART_PORTS);
        others[0] = self.rf.map(|radio| radio.finished());
        others[1] = self.ble.map(|controller| controller.changes());
        others[2] = extra;
        for (counter, bus) in i2c.iter_mut().zip(self.i2c) {
            *counter = bus.map(|bus| bus.finished());
        }
        for (counter, device) in spi.iter_mut().zip(self.spi) {
            *counter = device.map(|device| device.finished());
        }
        for (counter, port) in uart.iter_mut().zip(self.uart) {
            *counter = port.map(|port| port.activity());
        }
        counters
    }
}

/// Event counters one [`Peripherals`] can have: every bus, device and
/// port, the radio, the BLE controller, and one more (the input latch).
const WATCHED: usize = I2C_BUSES + SPI_DEVICES + UART_PORTS + 3;

/// A vendor adapter's board in a `static`: the [`BoardCell`] (pins, clock,
/// console, input latch) and the [`Peripherals`] it was set up with, so
/// the scheduler's idle future waits on both ([`AdapterCell::changed`]).
/// Each adapter keeps one and wraps it in its `init`, `input`, `watch` and
/// `idle` functions.
pub struct AdapterCell<O: 'static, const N: usize, R: 'static> {
    board: BoardCell<O, N>,
    peripherals: Mutex<Cell<Option<Peripherals<R>>>>,
}

impl<O, const N: usize, R> Default for AdapterCell<O, N, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O, const N: usize, R> AdapterCell<O, N, R> {
    /// An empty cell, for a `static`.
    pub const fn new() -> Self {
        AdapterCell { board: BoardCell::new(), peripherals: Mutex::new(Cell::new(None)) }
    }

    /// The input latch, for the watcher tasks (`latch().watch(pin, input)`).
    pub fn latch(&'static self) -> &'static InputLatch {
        self.board.latch()
    }

    /// The input slot for logical pin `pin` (see [`BoardCell::input`]).
    pub fn input(&'static self, pin: u32) -> PinSlot<LatchedInput, O> {
        self.board.input(pin)
    }

    /// Resolves at the next input edge or peripheral event (a transfer
    /// done, serial bytes or room, a radio job done, a scan report): with
    /// the next deadline, what a scheduler awaits when no app can run.
    /// Before [`AdapterCell::init`], inputs only.
    pub async fn changed(&'static self) {
        let peripherals = critical_section::with(|cs| self.peripherals.borrow(cs).get()).unwrap_or_default();
        Changes::any(peripherals.counters(Some(self.board.latch.changes()))).await
    }
}

impl<O: OutputPin + StatefulOutputPin + 'static, const N: usize, R> AdapterCell<O, N, R> {
    /// Sets the board up (see [`SharedBoard::init`]) with `peripherals`,
    /// and returns the handle apps get.
    pub fn init(
        &'static self,
        pins: [PinSlot<LatchedInput, O>; N],
        clock: Clock,
        console: Console,
        peripherals: Peripherals<R>,
    ) -> Result<SharedBoard<O, N, Peripherals<R>>, AlreadyInitialised> {
        let board = SharedBoard::init(&self.board, pins, clock, console)?;
        critical_section::with(|cs| self.peripherals.borrow(cs).set(Some(peripherals)));
        Ok(board.with_peripherals(peripherals))
    }
}

impl<R> Ble for Peripherals<R> {
    fn start(&mut self, app: u16, job: BleJob, deadline: Instant) -> Result<(), Errno> {
        self.ble.ok_or(Errno::Unsupported)?.start(app, job, deadline)
    }

    fn poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>> {
        match self.ble {
            Some(mut controller) => controller.poll(app, now),
            None => Some(Err(Errno::Unsupported)),
        }
    }

    fn next_report(&mut self, app: u16, now: Instant) -> Result<Option<ScanReport>, Errno> {
        self.ble.ok_or(Errno::Unsupported)?.next_report(app, now)
    }

    fn release(&mut self, app: u16) {
        if let Some(mut controller) = self.ble {
            controller.release(app)
        }
    }

    fn gatt_declare(&mut self, app: u16, declaration: GattDeclaration) -> Result<u8, Errno> {
        self.ble.ok_or(Errno::Unsupported)?.gatt_declare(app, declaration)
    }

    fn gatt_start(&mut self, app: u16, job: GattJob, value: &[u8], deadline: Instant) -> Result<bool, Errno> {
        self.ble.ok_or(Errno::Unsupported)?.gatt_start(app, job, value, deadline)
    }

    fn gatt_poll(&mut self, app: u16, now: Instant) -> Option<Result<(), Errno>> {
        match self.ble {
            Some(mut controller) => controller.gatt_poll(app, now),
            None => Some(Err(Errno::Unsupported)),
        }
    }

    fn gatt_next_event(&mut self, app: u16, now: Instant) -> Result<Option<GattEvent>, Errno> {
        self.ble.ok_or(Errno::Unsupported)?.gatt_next_event(app, now)
    }
}

impl<R> Rf for Peripherals<R> {
    fn configure(&mut self, app: u16, config: &LoraConfig) -> Result<(), Errno> {
        self.rf.ok_or(Errno::Unsupported)?.configure(app, config)
    }

    fn config(&self, app: u16) -> Option<LoraConfig> {
        self.rf?.config(app)
    }

    fn start(&mut self, app: u16, job: Job<'_>, deadline: Instant) -> Result<(), Errno> {
        self.rf.ok_or(Errno::Unsupported)?.start(app, job, deadline)
    }

    fn poll(&mut self, app: u16, now: Instant, buf: &mut [u8]) -> Option<Result<Outcome, Errno>> {
        match self.rf {
            Some(mut radio) => radio.poll(app, now, buf),
            None => Some(Err(Errno::Unsupported)),
        }
    }

    fn last_packet(&self, app: u16) -> Option<PacketInfo> {
        self.rf?.last_packet(app)
    }

    fn release(&mut self, app: u16) {
        if let Some(mut radio) = self.rf {
            radio.release(app)
        }
    }
}

impl<R> AsyncI2c for Peripherals<R> {
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

impl<R> AsyncSpi for Peripherals<R> {
    fn start(&mut self, app: u16, device: u32, op: SpiOp, write: &[u8], read_len: usize) -> Result<(), Errno> {
        self.device(device).ok_or(Errno::NoSuchResource)?.start(app, op, write, read_len)
    }

    fn poll(&mut self, app: u16, device: u32, read: &mut [u8]) -> Option<Result<(), Errno>> {
        match self.device(device) {
            Some(mailbox) => mailbox.poll(app, read),
            None => Some(Err(Errno::NoSuchResource)),
        }
    }
}

impl<R> Uart for Peripherals<R> {
    fn read(&mut self, port: u32, buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(self.port(port)?.take(buf))
    }

    fn write(&mut self, port: u32, data: &[u8]) -> Result<usize, Errno> {
        Ok(self.port(port)?.queue(data))
    }
}

impl<R> Pwm for Peripherals<R> {
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno> {
        let route = self.pwm_route(channel)?;
        route.driver.max_duty(route.channel)
    }

    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno> {
        let route = self.pwm_route(channel)?;
        route.driver.set_duty(route.channel, duty)
    }

    fn set_frequency(&mut self, channel: u32, hz: u32) -> Result<(), Errno> {
        let route = self.pwm_route(channel)?;
        route.driver.set_frequency(route.channel, hz)
    }
}

impl<R> Adc for Peripherals<R> {
    fn resolution(&mut self, channel: u32) -> Result<u8, Errno> {
        let route = self.adc_route(channel)?;
        route.driver.resolution(route.channel)
    }

    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
        let route = self.adc_route(channel)?;
        route.driver.read_raw(route.channel)
    }

    fn full_scale_mv(&mut self, channel: u32) -> Result<u32, Errno> {
        let route = self.adc_route(channel)?;
        route.driver.full_scale_mv(route.channel)
    }

    fn read_millivolts(&mut self, channel: u32) -> Result<u32, Errno> {
        let route = self.adc_route(channel)?;
        route.driver.read_millivolts(route.channel)
    }
}

impl<R> KvStore for Peripherals<R> {
    fn get(&mut self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno> {
        self.kv()?.get(app, key, buf)
    }

    fn set(&mut self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno> {
        self.kv()?.set(app, key, value, quota)
    }

    fn remove(&mut self, app: &str, key: &[u8]) -> Result<bool, Errno> {
        self.kv()?.remove(app, key)
    }

    fn used(&mut self, app: &str) -> Result<u32, Errno> {
        self.kv()?.used(app)
    }
}

impl<R: Rng> Rng for Peripherals<R> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
        let mut rng = self.rng.ok_or(Errno::Unsupported)?;
        rng.fill(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::gpio::MemoryPin;

    static CELL: BoardCell<MemoryPin, 4> = BoardCell::new();

    fn clock() -> Instant {
        Instant::from_micros(42)
    }

    #[test]
    fn a_shared_board_drives_outputs_and_takes_latched_edges() {
        let pins = [CELL.input(0), PinSlot::Output(MemoryPin::new(false)), PinSlot::Unused, PinSlot::Unused];
        let mut board = SharedBoard::init(&CELL, pins, clock, |_, _, _| {}).unwrap();
        assert_eq!(
            SharedBoard::init(&CELL, core::array::from_fn(|_| PinSlot::Unused), clock, |_, _, _| {}).err(),
            Some(AlreadyInitialised)
        );
        assert_eq!(board.now(), Instant::from_micros(42));
        board.write(1, true).unwrap();
        assert_eq!(board.read(1), Ok(true));
        assert_eq!(board.write(0, true), Err(Errno::Unsupported), "inputs cannot be driven");
        CELL.latch().record(0, true);
        assert_eq!(board.read(0), Ok(true));
        assert_eq!(board.take_edge(0, Edges::RISING), Ok(Some(Edge::Rising)));
        assert_eq!(board.take_edge(1, Edges::ANY), Err(Errno::Unsupported));
        CELL.latch().record(0, false);
        board.configure(0, PinMode::Input).unwrap();
        assert_eq!(board.take_edge(0, Edges::ANY), Ok(None), "configure clears latched edges");
        let copy = board;
        assert!(core::ptr::eq(copy.latch(), board.latch()));
    }

    static ADAPTER: AdapterCell<MemoryPin, 2, NoRng> = AdapterCell::new();
    static ADAPTER_PORT: UartPort = UartPort::new();

    #[test]
    fn an_adapter_cell_sets_the_board_up_once_and_wakes_on_inputs_and_peripherals() {
        use core::future::Future;
        use core::pin::pin;
        use core::task::{Context, Waker};

        let mut cx = Context::from_waker(Waker::noop());
        let extra: Peripherals<NoRng> =
            Peripherals { uart: [Some(&ADAPTER_PORT), None, None, None], ..Default::default() };
        let board = ADAPTER.init([ADAPTER.input(0), PinSlot::Unused], clock, |_, _, _| {}, extra).unwrap();
        let again = ADAPTER.init([PinSlot::Unused, PinSlot::Unused], clock, |_, _, _| {}, Peripherals::default());
        assert_eq!(again.err(), Some(AlreadyInitialised));
        assert!(board.peripherals().uart[0].is_some(), "the handle carries the peripherals");

        let mut idle = pin!(ADAPTER.changed());
        assert!(idle.as_mut().poll(&mut cx).is_pending());
        ADAPTER.latch().record(0, true);
        assert!(idle.as_mut().poll(&mut cx).is_ready(), "an input edge wakes it");

        let mut idle = pin!(ADAPTER.changed());
        assert!(idle.as_mut().poll(&mut cx).is_pending());
        ADAPTER_PORT.receive(b"hi");
        assert!(idle.as_mut().poll(&mut cx).is_ready(), "bytes on a port the board was given wake it");
    }

    /// A counting "generator" for the forwarding test.
    struct Counter(u8);

    impl Rng for Counter {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), Errno> {
            for b in buf {
                self.0 += 1;
                *b = self.0;
            }
            Ok(())
        }
    }

    static PERIPHERALS_CELL: BoardCell<MemoryPin, 1> = BoardCell::new();
    static RNG: Shared<Counter> = Shared::new();

    #[test]
    fn peripherals_are_forwarded_and_shared_by_every_copy() {
        let board = SharedBoard::init(&PERIPHERALS_CELL, [PinSlot::Unused], clock, |_, _, _| {}).unwrap();
        let mut board = board.with_peripherals(&RNG);
        let mut buf = [0u8; 3];
        assert_eq!(board.fill(&mut buf), Err(Errno::Unsupported), "no driver in the cell yet");
        RNG.init(Counter(0)).unwrap();
        assert!(RNG.init(Counter(9)).is_err(), "a cell takes one driver");
        board.fill(&mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3]);
        let mut copy = board;
        copy.fill(&mut buf).unwrap();
        assert_eq!(buf, [4, 5, 6], "copies share the driver");
        assert_eq!(board.now(), Instant::from_micros(42), "the base board still works");
    }

    static BUS_2: I2cBus = I2cBus::new();
    static FLASH_1: SpiDev = SpiDev::new();
    static ADAPTER_CELL: BoardCell<MemoryPin, 1> = BoardCell::new();
    static PERIPHERALS_RNG: Shared<Counter> = Shared::new();

    #[test]
    fn adapter_peripherals_route_buses_and_devices_and_wake_the_idle_future() {
        use core::future::Future;
        use core::pin::pin;
        use core::task::{Context, Waker};
        use embedded_hal_mock::eh1::i2c::{Mock, Transaction};
        use embedded_hal_mock::eh1::spi::{Mock as SpiMock, Transaction as SpiTransaction};

        let mut extra = Peripherals { rng: Some(PERIPHERALS_RNG.init(Counter(0)).unwrap()), ..Default::default() };
        extra.i2c[2] = Some(&BUS_2);
        extra.spi[1] = Some(&FLASH_1);
        let mut cx = Context::from_waker(Waker::noop());
        let mut idle = pin!(extra.changed());
        assert!(idle.as_mut().poll(&mut cx).is_pending());

        // Through the board, as the modules see it.
        let board = SharedBoard::init(&ADAPTER_CELL, [PinSlot::Unused], clock, |_, _, _| {}).unwrap();
        let mut board = board.with_peripherals(extra);

        assert_eq!(
            AsyncI2c::start(&mut board, 1, 0, 0x48, [&[0], &[]], 2),
            Err(Errno::NoSuchResource),
            "bus 0 is not fitted"
        );
        assert_eq!(AsyncI2c::poll(&mut board, 1, 9, &mut []), Some(Err(Errno::NoSuchResource)));
        AsyncI2c::start(&mut board, 1, 2, 0x48, [&[0], &[]], 2).unwrap();
        let mut bus = Mock::new(&[Transaction::write_read(0x48, vec![0], vec![0x19, 0x40])]);
        assert!(pin!(BUS_2.serve(&mut bus)).poll(&mut cx).is_pending(), "served, then waiting for more");
        assert!(idle.as_mut().poll(&mut cx).is_ready(), "the finished transfer on bus 2 wakes the board");
        let mut read = [0u8; 2];
        assert_eq!(AsyncI2c::poll(&mut board, 1, 2, &mut read), Some(Ok(())));
        assert_eq!(read, [0x19, 0x40]);
        bus.done();

        // SPI device 1 only; the JEDEC id of a W25Q80, as one transaction.
        let mut idle = pin!(extra.changed());
        assert!(idle.as_mut().poll(&mut cx).is_pending(), "the I2C transfer is old news");
        let jedec = [0x9f];
        assert_eq!(
            AsyncSpi::start(&mut board, 1, 0, SpiOp::WriteThenRead, &jedec, 3),
            Err(Errno::NoSuchResource),
            "device 0 is not fitted"
        );
        assert_eq!(AsyncSpi::start(&mut board, 1, 4, SpiOp::Write, &jedec, 0), Err(Errno::NoSuchResource));
        assert_eq!(AsyncSpi::poll(&mut board, 1, 4, &mut []), Some(Err(Errno::NoSuchResource)));
        assert_eq!(
            AsyncSpi::start(&mut board, 1, 1, SpiOp::Write, &[0; SPI_BUF + 1], 0),
            Err(Errno::TooLarge),
            "beyond the adapters' buffers"
        );
        AsyncSpi::start(&mut board, 1, 1, SpiOp::WriteThenRead, &jedec, 3).unwrap();
        let mut read = [0u8; 3];
        assert_eq!(AsyncSpi::poll(&mut board, 1, 1, &mut read), None, "not served yet");
        let mut device = SpiMock::new(&[
            SpiTransaction::transaction_start(),
            SpiTransaction::write_vec(vec![0x9f]),
            SpiTransaction::read_vec(vec![0xef, 0x40, 0x14]),
            SpiTransaction::transaction_end(),
        ]);
        assert!(idle.as_mut().poll(&mut cx).is_pending());
        assert!(pin!(FLASH_1.serve(&mut device)).poll(&mut cx).is_pending(), "served, then waiting for more");
        assert!(idle.as_mut().poll(&mut cx).is_ready(), "the finished call on SPI device 1 wakes the board");
        assert_eq!(AsyncSpi::poll(&mut board, 1, 1, &mut read), Some(Ok(())));
        assert_eq!(read, [0xef, 0x40, 0x14]);
        device.done();

        let mut buf = [0u8; 2];
        extra.fill(&mut buf).unwrap();
        assert_eq!(buf, [1, 2]);
        let mut none: Peripherals<NoRng> = Peripherals::default();
        assert_eq!(none.fill(&mut buf), Err(Errno::Unsupported));
        assert_eq!(AsyncSpi::start(&mut none, 1, 0, SpiOp::Write, &jedec, 0), Err(Errno::NoSuchResource));
        let mut nothing = pin!(none.changed());
        assert!(nothing.as_mut().poll(&mut cx).is_pending(), "no bus or device: idle waits on the rest");
    }

    /// A PWM driver with four outputs (max duty 1000) recording each call.
    struct RecordingPwm(Vec<String>);

    impl Pwm for RecordingPwm {
        fn max_duty(&mut self, channel: u32) -> Result<u16, Errno> {
            if channel < 4 { Ok(1000) } else { Err(Errno::NoSuchResource) }
        }
        fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno> {
            self.0.push(format!("output {channel} duty {duty}"));
            Ok(())
        }
        fn set_frequency(&mut self, channel: u32, hz: u32) -> Result<(), Errno> {
            self.0.push(format!("output {channel} {hz} Hz"));
            Ok(())
        }
    }

    /// A 12-bit converter over 3.3 V whose inputs read fixed codes.
    struct FixedAdc([u16; 2]);

    impl Adc for FixedAdc {
        fn resolution(&mut self, _: u32) -> Result<u8, Errno> {
            Ok(12)
        }
        fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
            self.0.get(channel as usize).copied().ok_or(Errno::NoSuchResource)
        }
        fn full_scale_mv(&mut self, _: u32) -> Result<u32, Errno> {
            Ok(3300)
        }
    }

    static TIMER_A: Shared<RecordingPwm> = Shared::new();
    static TIMER_B: Shared<RecordingPwm> = Shared::new();
    static CONVERTER: Shared<FixedAdc> = Shared::new();
    static UNSET_CONVERTER: Shared<FixedAdc> = Shared::new();

    #[test]
    fn pwm_and_adc_channels_are_routed_to_their_driver_outputs() {
        TIMER_A.init(RecordingPwm(Vec::new())).unwrap();
        TIMER_B.init(RecordingPwm(Vec::new())).unwrap();
        CONVERTER.init(FixedAdc([0, 2048])).unwrap();
        let mut extra: Peripherals<NoRng> = Peripherals::default();
        // App channels 0-1 are outputs 2-3 of timer A, channel 5 output 0 of timer B.
        extra.pwm[0] = Some(PwmRoute::pwm(&TIMER_A, 2));
        extra.pwm[1] = Some(PwmRoute::pwm(&TIMER_A, 3));
        extra.pwm[5] = Some(PwmRoute::pwm(&TIMER_B, 0));
        extra.pwm[7] = Some(PwmRoute::pwm(&TIMER_B, 4));
        extra.adc[0] = Some(AdcRoute::adc(&CONVERTER, 1));
        extra.adc[1] = Some(AdcRoute::adc(&UNSET_CONVERTER, 0));

        assert_eq!(extra.max_duty(0), Ok(1000));
        extra.set_duty(0, 250).unwrap();
        extra.set_duty(1, 1000).unwrap();
        extra.set_duty(5, 0).unwrap();
        extra.set_frequency(5, 440).unwrap();
        assert_eq!(extra.set_duty(2, 1), Err(Errno::NoSuchResource), "channel 2 is not fitted");
        assert_eq!(extra.set_frequency(PWM_CHANNELS as u32, 1), Err(Errno::NoSuchResource));
        assert_eq!(extra.max_duty(u32::MAX), Err(Errno::NoSuchResource));
        assert_eq!(extra.max_duty(7), Err(Errno::NoSuchResource), "the driver's own refusal comes through");
        assert_eq!(TIMER_A.with(|t| t.0.clone()).unwrap(), ["output 2 duty 250", "output 3 duty 1000"]);
        assert_eq!(TIMER_B.with(|t| t.0.clone()).unwrap(), ["output 0 duty 0", "output 0 440 Hz"]);

        // Through the board, as the modules see it.
        static ADC_CELL: BoardCell<MemoryPin, 1> = BoardCell::new();
        let board = SharedBoard::init(&ADC_CELL, [PinSlot::Unused], clock, |_, _, _| {}).unwrap();
        let mut board = board.with_peripherals(extra);
        assert_eq!(Adc::resolution(&mut board, 0), Ok(12));
        assert_eq!(Adc::full_scale_mv(&mut board, 0), Ok(3300));
        assert_eq!(Adc::read_raw(&mut board, 0), Ok(2048), "app channel 0 is input 1");
        assert_eq!(Adc::read_millivolts(&mut board, 0), Ok(1650));
        assert_eq!(Adc::read_raw(&mut board, 1), Err(Errno::Unsupported), "a driver cell never filled");
        assert_eq!(Adc::read_raw(&mut board, 2), Err(Errno::NoSuchResource));
        Pwm::set_duty(&mut board, 1, 500).unwrap();
        assert_eq!(TIMER_A.with(|t| t.0.last().cloned()).unwrap().as_deref(), Some("output 3 duty 500"));
    }

    static PORT_0: UartPort = UartPort::new();
    static PORT_2: UartPort = UartPort::new();

    /// A UART transmitter that keeps what it was given.
    struct Sent(Vec<u8>);

    impl embedded_io_async::ErrorType for Sent {
        type Error = core::convert::Infallible;
    }

    impl embedded_io_async::Write for Sent {
        async fn write(&mut self, data: &[u8]) -> Result<usize, Self::Error> {
            self.0.extend_from_slice(data);
            Ok(data.len())
        }
        async fn flush(&mut self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    /// A UART receiver that has `bytes` and then nothing more.
    struct Incoming(&'static [u8]);

    impl embedded_io_async::ErrorType for Incoming {
        type Error = core::convert::Infallible;
    }

    impl embedded_io_async::Read for Incoming {
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
            if self.0.is_empty() {
                return core::future::pending().await;
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn uart_ports_move_bytes_between_apps_and_the_pump_tasks_and_wake_the_idle_future() {
        use core::future::Future;
        use core::pin::pin;
        use core::task::{Context, Waker};

        let mut extra: Peripherals<NoRng> = Peripherals::default();
        extra.uart[0] = Some(&PORT_0);
        extra.uart[2] = Some(&PORT_2);
        let mut cx = Context::from_waker(Waker::noop());
        let mut idle = pin!(extra.changed());
        assert!(idle.as_mut().poll(&mut cx).is_pending());

        let mut buf = [0u8; 8];
        assert_eq!(Uart::read(&mut extra, 2, &mut buf), Ok(0), "nothing received yet");
        assert_eq!(Uart::read(&mut extra, 1, &mut buf), Err(Errno::NoSuchResource), "port 1 is not fitted");
        assert_eq!(Uart::write(&mut extra, UART_PORTS as u32, b"x"), Err(Errno::NoSuchResource));

        // The receive task reads "hello" off the wire into port 2.
        assert!(pin!(PORT_2.pump_rx(Incoming(b"hello"))).poll(&mut cx).is_pending());
        assert!(idle.as_mut().poll(&mut cx).is_ready(), "bytes on port 2 wake the board");
        assert_eq!(Uart::read(&mut extra, 2, &mut buf[..3]), Ok(3));
        assert_eq!(&buf[..3], b"hel");
        assert_eq!(Uart::read(&mut extra, 2, &mut buf), Ok(2));
        assert_eq!(&buf[..2], b"lo");
        assert_eq!(Uart::read(&mut extra, 0, &mut buf), Ok(0), "ports are apart");

        // An app queues more than the transmit ring holds: it takes what fits.
        let long = [0x55u8; UART_TX + 10];
        assert_eq!(Uart::write(&mut extra, 0, &long), Ok(UART_TX));
        assert_eq!(Uart::write(&mut extra, 0, b"!"), Ok(0), "full until the task sends");
        let mut idle = pin!(extra.changed());
        assert!(idle.as_mut().poll(&mut cx).is_pending());
        let mut wire = Sent(Vec::new());
        assert!(pin!(PORT_0.pump_tx(&mut wire)).poll(&mut cx).is_pending());
        assert_eq!(wire.0, [0x55; UART_TX], "the task sent the queued bytes in order");
        assert!(idle.as_mut().poll(&mut cx).is_ready(), "room on port 0 wakes the board");
        assert_eq!(Uart::write(&mut extra, 0, b"!"), Ok(1));
    }

    type Flash = akira_ota::testing::SimFlash<4, 1024>;
    static KV: Shared<crate::FlashKv<Flash>> = Shared::new();

    #[test]
    fn the_key_value_store_is_shared_by_every_copy_and_absent_without_one() {
        let mut none: Peripherals<NoRng> = Peripherals::default();
        let mut buf = [0u8; 8];
        assert_eq!(KvStore::get(&mut none, "a", b"k", &mut buf), Err(Errno::Unsupported));
        assert_eq!(KvStore::set(&mut none, "a", b"k", b"v", 64), Err(Errno::Unsupported));

        let kv = KV.init(crate::FlashKv::new(Flash::new(4), 0..4096).unwrap()).unwrap();
        let mut extra: Peripherals<NoRng> = Peripherals { storage: Some(kv), ..Default::default() };
        let mut copy = extra;
        KvStore::set(&mut extra, "weather", b"unit", b"C", 64).unwrap();
        assert_eq!(KvStore::get(&mut copy, "weather", b"unit", &mut buf), Ok(Some(1)));
        assert_eq!(&buf[..1], b"C");
        assert_eq!(KvStore::get(&mut copy, "other", b"unit", &mut buf), Ok(None), "apps are apart");
        assert_eq!(KvStore::set(&mut copy, "weather", b"log", &[0; 100], 64), Err(Errno::NoSpace), "past the quota");
        assert_eq!(KvStore::used(&mut copy, "weather"), Ok(5));
        assert_eq!(KvStore::remove(&mut extra, "weather", b"unit"), Ok(true));
        assert_eq!(KvStore::get(&mut copy, "weather", b"unit", &mut buf), Ok(None));
    }

    static RADIO: LoraRadio = LoraRadio::new();
    static RF_CELL: BoardCell<MemoryPin, 1> = BoardCell::new();

    /// A radio that "sends" by recording the bytes and "receives" a fixed
    /// packet.
    struct Loopback(std::rc::Rc<core::cell::RefCell<std::vec::Vec<std::vec::Vec<u8>>>>);

    impl crate::Radio for Loopback {
        async fn transmit(&mut self, _: &LoraConfig, data: &[u8]) -> Result<(), Errno> {
            self.0.borrow_mut().push(data.to_vec());
            Ok(())
        }

        async fn receive(&mut self, _: &LoraConfig, buf: &mut [u8]) -> Result<(usize, PacketInfo), Errno> {
            let n = buf.len().min(3);
            buf[..n].copy_from_slice(&b"pong"[..n]);
            Ok((n, PacketInfo { rssi_dbm: -70, snr_db: 9 }))
        }

        async fn standby(&mut self) -> Result<(), Errno> {
            Ok(())
        }
    }

    #[test]
    fn the_lora_radio_is_routed_through_the_board_and_wakes_the_idle_future() {
        use core::future::Future;
        use core::pin::pin;
        use core::task::{Context, Waker};

        let config = LoraConfig {
            frequency_hz: 868_100_000,
            spreading_factor: 7,
            bandwidth_hz: 125_000,
            coding_rate: 5,
            power_dbm: 14,
        };
        let deadline = Instant::from_micros(1_000_000);
        let mut none: Peripherals<NoRng> = Peripherals::default();
        assert_eq!(Rf::configure(&mut none, 1, &config), Err(Errno::Unsupported), "no radio fitted");
        assert_eq!(Rf::poll(&mut none, 1, Instant::ZERO, &mut []), Some(Err(Errno::Unsupported)));
        assert_eq!(none.config(1), None);

        let extra: Peripherals<NoRng> = Peripherals { rf: Some(&RADIO), ..Default::default() };
        let board = SharedBoard::init(&RF_CELL, [PinSlot::Unused], clock, |_, _, _| {}).unwrap();
        let mut board = board.with_peripherals(extra);
        let mut cx = Context::from_waker(Waker::noop());
        let mut idle = pin!(extra.changed());
        assert!(idle.as_mut().poll(&mut cx).is_pending());

        Rf::configure(&mut board, 1, &config).unwrap();
        assert_eq!(board.config(1), Some(config));
        Rf::start(&mut board, 1, Job::Send(b"ping"), deadline).unwrap();
        assert_eq!(Rf::start(&mut board, 1, Job::Send(b"again"), deadline), Err(Errno::Busy), "one job per app");
        let mut buf = [0u8; 8];
        assert_eq!(Rf::poll(&mut board, 1, Instant::ZERO, &mut buf), None, "not served yet");

        let sent = std::rc::Rc::new(core::cell::RefCell::new(std::vec::Vec::new()));
        {
            let mut task = pin!(RADIO.serve(Loopback(sent.clone())));
            assert!(task.as_mut().poll(&mut cx).is_pending(), "served, then waiting for more");
            assert!(idle.as_mut().poll(&mut cx).is_ready(), "the finished send wakes the board");
            assert_eq!(Rf::poll(&mut board, 1, Instant::ZERO, &mut buf), Some(Ok(Outcome::Sent)));

            Rf::start(&mut board, 1, Job::Receive { max_len: 8 }, deadline).unwrap();
            assert!(task.as_mut().poll(&mut cx).is_pending());
            let got = Rf::poll(&mut board, 1, Instant::ZERO, &mut buf);
            let packet = PacketInfo { rssi_dbm: -70, snr_db: 9 };
            assert_eq!(got, Some(Ok(Outcome::Received { len: 3, packet })));
            assert_eq!(&buf[..3], b"pon");
            assert_eq!(board.last_packet(1), Some(packet));
        }
        assert_eq!(*sent.borrow(), [b"ping".to_vec()], "the app's bytes went to the radio");
    }

    static CONTROLLER: BleController = BleController::new();
    static BLE_CELL: BoardCell<MemoryPin, 1> = BoardCell::new();

    /// A controller that records the advertising data it is given (an
    /// empty entry for a stop) and never reports.
    struct Recorder(std::rc::Rc<core::cell::RefCell<std::vec::Vec<std::vec::Vec<u8>>>>);

    impl crate::BleRadio for Recorder {
        async fn advertise(&self, config: &crate::AdvConfig) -> Result<(), Errno> {
            self.0.borrow_mut().push(config.data.as_bytes().to_vec());
            Ok(())
        }

        async fn stop_advertising(&self) -> Result<(), Errno> {
            self.0.borrow_mut().push(std::vec::Vec::new());
            Ok(())
        }

        async fn scan(&self, _: &crate::ScanConfig) -> Result<(), Errno> {
            Ok(())
        }

        async fn stop_scanning(&self) -> Result<(), Errno> {
            Ok(())
        }

        async fn read_reports(&self, _: &mut dyn FnMut(&ScanReport)) -> Result<(), Errno> {
            core::future::pending().await
        }
    }

    #[test]
    fn the_ble_controller_is_routed_through_the_board_and_wakes_the_idle_future() {
        use core::future::Future;
        use core::pin::pin;
        use core::task::{Context, Waker};

        let config =
            crate::AdvConfig { interval_ms: 100, data: crate::AdvData::new(&[2, 1, 6]).unwrap(), scan_response: None };
        let deadline = Instant::from_micros(1_000_000);
        let mut none: Peripherals<NoRng> = Peripherals::default();
        assert_eq!(Ble::start(&mut none, 1, BleJob::Advertise(config), deadline), Err(Errno::Unsupported));
        assert_eq!(Ble::poll(&mut none, 1, Instant::ZERO), Some(Err(Errno::Unsupported)));
        assert_eq!(none.next_report(1, Instant::ZERO), Err(Errno::Unsupported));

        let extra: Peripherals<NoRng> = Peripherals { ble: Some(&CONTROLLER), ..Default::default() };
        let board = SharedBoard::init(&BLE_CELL, [PinSlot::Unused], clock, |_, _, _| {}).unwrap();
        let mut board = board.with_peripherals(extra);
        let mut cx = Context::from_waker(Waker::noop());
        let mut idle = pin!(extra.changed());
        assert!(idle.as_mut().poll(&mut cx).is_pending());

        Ble::start(&mut board, 1, BleJob::Advertise(config), deadline).unwrap();
        assert_eq!(Ble::poll(&mut board, 1, Instant::ZERO), None, "not served yet");
        let advertised = std::rc::Rc::new(core::cell::RefCell::new(std::vec::Vec::new()));
        let mut task = pin!(CONTROLLER.serve(Recorder(advertised.clone())));
        assert!(task.as_mut().poll(&mut cx).is_pending(), "served, then waiting for more");
        assert!(idle.as_mut().poll(&mut cx).is_ready(), "the finished job wakes the board");
        assert_eq!(Ble::poll(&mut board, 1, Instant::ZERO), Some(Ok(())));
        assert_eq!(*advertised.borrow(), [std::vec![2, 1, 6]], "the app's data went to the controller");

        // The board hands the app's clean-up to the controller too.
        Ble::release(&mut board, 1);
        assert!(task.as_mut().poll(&mut cx).is_pending());
        assert_eq!(*advertised.borrow(), [std::vec![2, 1, 6], std::vec![]], "the app stopped: advertising stops");
        let table = crate::modules::gatt::GattDeclaration::Service(crate::modules::gatt::Uuid::Short(0x180f));
        assert_eq!(none.gatt_declare(1, table), Err(Errno::Unsupported), "no controller, no GATT");
    }
}
