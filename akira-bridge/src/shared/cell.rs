//! [`Shared`]: a blocking driver in a `static`, run in a critical section.

use core::cell::RefCell;

use critical_section::Mutex;

use crate::errno::Errno;

/// The board was set up twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AlreadyInitialised;

/// A blocking driver in a `static`, shared by every copy of a board:
/// `&'static Shared<T>` implements each module trait `T` implements, by
/// running the call inside a critical section. Meant for calls that take
/// microseconds (RNG, PWM duty, one ADC conversion); bus transfers on an
/// async HAL go through a mailbox and a task instead
/// ([`I2cMailbox`](crate::I2cMailbox), [`SpiMailbox`](crate::SpiMailbox)).
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
