//! `akira:gpio`: digital pins by logical number. Needs the `gpio`
//! capability, with each pin listed for the direction it is used in:
//!
//! ```toml
//! [capabilities]
//! gpio = { output = [2], edge = [0] }
//! ```
//!
//! ```ignore
//! use akira_app::gpio::{Edges, Input, Output};
//! # fn run() -> akira_app::Result<()> {
//! let mut led = Output::new(2)?;
//! let button = Input::new(0)?;
//! loop {
//!     button.wait_for_edge(Edges::Falling, None)?;
//!     led.toggle()?;
//! }
//! # }
//! ```

use core::time::Duration;

use crate::{Error, Result};

use crate::imports::gpio as ffi;

/// Which edges to wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Edges {
    /// Low to high.
    Rising = 1,
    /// High to low.
    Falling = 2,
    /// Either.
    Any = 3,
}

/// An edge that happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// Low to high.
    Rising,
    /// High to low.
    Falling,
}

/// Configures `pin` as an input (`output = false`) or output.
pub fn configure(pin: u32, output: bool) -> Result<()> {
    // SAFETY: plain imports without pointers (this and the calls below).
    Error::check(unsafe { ffi::configure(pin as i32, i32::from(output)) }).map(|_| ())
}

/// Reads a pin's level.
pub fn read(pin: u32) -> Result<bool> {
    Error::check(unsafe { ffi::read(pin as i32) }).map(|v| v != 0)
}

/// Drives an output pin.
pub fn write(pin: u32, high: bool) -> Result<()> {
    Error::check(unsafe { ffi::write(pin as i32, i32::from(high)) }).map(|_| ())
}

/// Inverts an output pin; returns the new level.
pub fn toggle(pin: u32) -> Result<bool> {
    Error::check(unsafe { ffi::toggle(pin as i32) }).map(|v| v != 0)
}

/// Suspends the app until an edge of the kinds in `edges` on `pin` (or one
/// latched since the last wait), or until `timeout` ([`Error::TIMED_OUT`]).
pub fn wait_edge(pin: u32, edges: Edges, timeout: Option<Duration>) -> Result<Edge> {
    let timeout_us = timeout.map_or(-1, |t| t.as_micros().min(i64::MAX as u128) as i64);
    match Error::check(unsafe { ffi::wait_edge(pin as i32, edges as i32, timeout_us) })? {
        1 => Ok(Edge::Rising),
        _ => Ok(Edge::Falling),
    }
}

/// An output pin.
#[derive(Debug)]
pub struct Output {
    pin: u32,
}

impl Output {
    /// Configures `pin` as an output.
    pub fn new(pin: u32) -> Result<Output> {
        configure(pin, true)?;
        Ok(Output { pin })
    }

    /// The logical pin number.
    pub fn pin(&self) -> u32 {
        self.pin
    }

    /// Drives the pin high or low.
    pub fn set(&mut self, high: bool) -> Result<()> {
        write(self.pin, high)
    }

    /// Drives the pin high.
    pub fn set_high(&mut self) -> Result<()> {
        self.set(true)
    }

    /// Drives the pin low.
    pub fn set_low(&mut self) -> Result<()> {
        self.set(false)
    }

    /// Inverts the pin; returns the new level.
    pub fn toggle(&mut self) -> Result<bool> {
        toggle(self.pin)
    }

    /// The level the pin drives.
    pub fn is_set_high(&self) -> Result<bool> {
        read(self.pin)
    }
}

/// An input pin.
#[derive(Debug)]
pub struct Input {
    pin: u32,
}

impl Input {
    /// Configures `pin` as an input (clearing latched edges).
    pub fn new(pin: u32) -> Result<Input> {
        configure(pin, false)?;
        Ok(Input { pin })
    }

    /// The logical pin number.
    pub fn pin(&self) -> u32 {
        self.pin
    }

    /// Whether the pin reads high.
    pub fn is_high(&self) -> Result<bool> {
        read(self.pin)
    }

    /// Suspends the app until an edge (see [`wait_edge`]).
    pub fn wait_for_edge(&self, edges: Edges, timeout: Option<Duration>) -> Result<Edge> {
        wait_edge(self.pin, edges, timeout)
    }
}
