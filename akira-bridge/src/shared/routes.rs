//! Drivers in [`Shared`] cells as [`Peripherals`](super::Peripherals)
//! sees them: [`SharedPwm`], [`SharedAdc`], [`SharedKv`], and the
//! [`Route`] from an app channel to one of a driver's channels.

#[allow(unused_imports)] // which drivers can be shared depends on the features
use super::cell::Shared;
#[allow(unused_imports)]
use crate::errno::Errno;
#[cfg(feature = "adc")]
use crate::modules::adc::Adc;
#[cfg(feature = "pwm")]
use crate::modules::pwm::Pwm;
#[cfg(feature = "storage")]
use crate::modules::storage::KvStore;

/// A PWM driver in a [`Shared`] cell, as [`Peripherals`](crate::Peripherals) routes app
/// channels to it: the [`Pwm`] methods on `&self`, each run in a
/// critical section. Implemented for every `Shared<T>` with `T: Pwm`;
/// `channel` is the driver's own output number.
#[cfg(feature = "pwm")]
pub trait SharedPwm: Sync {
    /// [`Pwm::max_duty`] on the driver.
    fn max_duty(&self, channel: u32) -> Result<u16, Errno>;
    /// [`Pwm::set_duty`] on the driver.
    fn set_duty(&self, channel: u32, duty: u16) -> Result<(), Errno>;
    /// [`Pwm::set_frequency`] on the driver.
    fn set_frequency(&self, channel: u32, hz: u32) -> Result<(), Errno>;
}

#[cfg(feature = "pwm")]
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

/// An ADC driver in a [`Shared`] cell, as [`Peripherals`](crate::Peripherals) routes app
/// channels to it: the [`Adc`] methods on `&self`, each run in a critical
/// section. Implemented for every `Shared<T>` with `T: Adc`; `channel` is
/// the driver's own input number.
#[cfg(feature = "adc")]
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

#[cfg(feature = "adc")]
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
#[cfg(feature = "storage")]
pub trait SharedKv: Sync {
    /// [`KvStore::get`] on the store.
    fn get(&self, app: &str, key: &[u8], buf: &mut [u8]) -> Result<Option<usize>, Errno>;
    /// [`KvStore::set`] on the store.
    fn set(&self, app: &str, key: &[u8], value: &[u8], quota: u32) -> Result<(), Errno>;
    /// [`KvStore::remove`] on the store.
    fn remove(&self, app: &str, key: &[u8]) -> Result<bool, Errno>;
    /// [`KvStore::used`] on the store.
    fn used(&self, app: &str) -> Result<u32, Errno>;
    /// [`KvStore::capacity`] of the store.
    fn capacity(&self) -> Result<u32, Errno>;
}

#[cfg(feature = "storage")]
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

    fn capacity(&self) -> Result<u32, Errno> {
        self.with(|store| store.capacity())?
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
#[cfg(feature = "pwm")]
pub type PwmRoute = Route<dyn SharedPwm>;
/// An app ADC channel's route.
#[cfg(feature = "adc")]
pub type AdcRoute = Route<dyn SharedAdc>;

#[cfg(feature = "pwm")]
impl PwmRoute {
    /// Output `channel` of PWM driver `driver`.
    pub fn pwm(driver: &'static dyn SharedPwm, channel: u32) -> Self {
        Route { driver, channel }
    }
}

#[cfg(feature = "adc")]
impl AdcRoute {
    /// Input `channel` of ADC driver `driver`.
    pub fn adc(driver: &'static dyn SharedAdc, channel: u32) -> Self {
        Route { driver, channel }
    }
}
