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
//! [`Sensors`], [`Uart`]), usually `&'static` references to firmware
//! statics — [`I2cMailbox`]es and [`SpiMailbox`]es served by bus tasks, or
//! blocking drivers in a [`Shared`] cell. The board forwards each trait
//! its peripherals implement, so a firmware registers the matching modules
//! and nothing else changes.

use core::cell::RefCell;

use critical_section::Mutex;
use embedded_hal::digital::{OutputPin, StatefulOutputPin};

use crate::board::{AppInfo, Board, Level};
use crate::errno::Errno;
use crate::latch::{InputLatch, LatchedInput};
use crate::modules::adc::Adc;
use crate::modules::gpio::{Edge, Edges, Gpio, PinBank, PinMode, PinSlot};
use crate::modules::i2c::I2c;
use crate::modules::i2c_async::{AsyncI2c, I2cMailbox};
use crate::modules::pwm::Pwm;
use crate::modules::rng::Rng;
use crate::modules::sensor::{Reading, SensorKind, Sensors};
use crate::modules::spi::{Spi, SpiOp};
use crate::modules::spi_async::{AsyncSpi, SpiMailbox};
use crate::modules::uart::Uart;
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

/// A random number generator the board does not have (for
/// [`Peripherals`] on a chip without one).
#[derive(Clone, Copy, Debug)]
pub enum NoRng {}

impl Rng for NoRng {
    fn fill(&mut self, _: &mut [u8]) -> Result<(), Errno> {
        match *self {}
    }
}

/// The peripherals the vendor adapters offer beside pins: I2C buses and
/// SPI devices served by firmware tasks over the HAL's async drivers (apps
/// suspended during a transfer, [`AsyncI2cModule`](crate::AsyncI2cModule),
/// [`AsyncSpiModule`](crate::AsyncSpiModule)) and the
/// chip's random number generator `R` in a [`Shared`] cell
/// ([`RngModule`](crate::RngModule)). A `None` is a peripheral the board
/// lacks: apps asking for it get `AKIRA_ENORES` or `AKIRA_ENOTSUP`.
///
/// ```rust,ignore
/// static I2C0: I2cBus = I2cBus::new();
/// static FLASH: SpiDev = SpiDev::new();
/// static RNG: Shared<HwRng> = Shared::new();
/// // A task owning the HAL's async I2C driver: I2C0.serve(driver).await
/// // A task owning an async SpiDevice (bus + chip select): FLASH.serve(device).await
/// let mut extra = Peripherals { rng: Some(RNG.init(HwRng(driver))?), ..Peripherals::default() };
/// extra.i2c[0] = Some(&I2C0);
/// extra.spi[0] = Some(&FLASH);
/// let board = board.with_peripherals(extra);
/// ```
pub struct Peripherals<R: 'static> {
    /// I2C buses, by app bus number.
    pub i2c: [Option<&'static I2cBus>; I2C_BUSES],
    /// SPI devices, by app device id.
    pub spi: [Option<&'static SpiDev>; SPI_DEVICES],
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
        Peripherals { i2c: [None; I2C_BUSES], spi: [None; SPI_DEVICES], rng: None }
    }
}

impl<R> Peripherals<R> {
    fn bus(&self, bus: u32) -> Option<&'static I2cBus> {
        self.i2c.get(bus as usize).copied().flatten()
    }

    fn device(&self, device: u32) -> Option<&'static SpiDev> {
        self.spi.get(device as usize).copied().flatten()
    }

    /// Resolves when a transfer on any I2C bus or SPI device finishes: part
    /// of a board's idle future, so a suspended app resumes as soon as its
    /// bytes are in.
    pub async fn changed(self) {
        let mut counters: [Option<&'static Changes>; I2C_BUSES + SPI_DEVICES] = [None; I2C_BUSES + SPI_DEVICES];
        let (i2c, spi) = counters.split_at_mut(I2C_BUSES);
        for (counter, bus) in i2c.iter_mut().zip(self.i2c) {
            *counter = bus.map(|bus| bus.finished());
        }
        for (counter, device) in spi.iter_mut().zip(self.spi) {
            *counter = device.map(|device| device.finished());
        }
        Changes::any(counters).await
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
}
