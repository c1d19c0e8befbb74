//! A board whose state lives in one `static`, shared by every app's store:
//! the shape of a board on an async HAL, where outputs are driven directly
//! and inputs are owned by watcher tasks ([`InputLatch`](crate::InputLatch)).
//!
//! A vendor adapter declares the cell and a type alias, and gets
//! [`Board`](crate::Board) and [`Gpio`](crate::Gpio) for free:
//!
//! ```rust,ignore
//! pub static CELL: BoardCell<Output<'static>, 16> = BoardCell::new();
//! pub type MyBoard = SharedBoard<Output<'static>, 16>;
//! let board = MyBoard::init(&CELL, pins, clock, console)?;
//! ```
//!
//! Other peripherals ride along as a `Copy` handle
//! ([`SharedBoard::with_peripherals`]): anything implementing the module
//! traits ([`AsyncI2c`](crate::AsyncI2c), [`AsyncSpi`](crate::AsyncSpi), [`Rng`](crate::Rng), [`Pwm`](crate::Pwm), [`Adc`](crate::Adc), [`Spi`](crate::Spi), [`I2c`](crate::I2c),
//! [`Sensors`](crate::Sensors), [`Uart`](crate::Uart), [`KvStore`](crate::KvStore)), usually `&'static` references to
//! firmware statics — [`I2cMailbox`](crate::I2cMailbox)es and [`SpiMailbox`](crate::SpiMailbox)es served by bus
//! tasks, serial buffers pumped by UART tasks, or blocking drivers in a
//! [`Shared`] cell — gathered in a [`Peripherals`]. The board forwards each trait
//! its peripherals implement, so a firmware registers the matching modules
//! and nothing else changes.

mod adapter;
mod board;
mod cell;
mod forward;
mod peripherals;
mod routes;
#[cfg(test)]
mod tests;

pub use adapter::AdapterCell;
pub use board::{BoardCell, Clock, Console, SharedBoard};
pub use cell::{AlreadyInitialised, Shared};
#[cfg(feature = "adc")]
pub use peripherals::ADC_CHANNELS;
#[cfg(feature = "pwm")]
pub use peripherals::PWM_CHANNELS;
#[cfg(feature = "ble")]
pub use peripherals::{BLE_APPS, BLE_REPORTS, BleController};
#[cfg(feature = "i2c")]
pub use peripherals::{I2C_APPS, I2C_BUF, I2C_BUSES, I2cBus};
#[cfg(feature = "rf")]
pub use peripherals::{LoraRadio, RF_APPS};
pub use peripherals::{NoRng, Peripherals};
#[cfg(feature = "spi")]
pub use peripherals::{SPI_APPS, SPI_BUF, SPI_DEVICES, SpiDev};
#[cfg(feature = "uart")]
pub use peripherals::{UART_PORTS, UART_RX, UART_TX, UartPort};
pub use routes::Route;
#[cfg(feature = "storage")]
pub use routes::SharedKv;
#[cfg(feature = "adc")]
pub use routes::{AdcRoute, SharedAdc};
#[cfg(feature = "pwm")]
pub use routes::{PwmRoute, SharedPwm};
