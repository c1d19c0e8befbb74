//! Analog inputs for apps on a SAR ADC unit.

use akira_bridge::Errno;
use esp_hal::Blocking;
use esp_hal::analog::adc::{Adc, AdcCalScheme, AdcChannel, AdcPin, RegisterAccess};

/// Bits per one-shot conversion (esp-hal's default, 12 on the C6 and S3).
pub const ADC_BITS: u8 = 12;

/// The pins of one ADC unit that apps read: one [`AdcPin`], or a pair
/// `(A, B)` of inputs (nest pairs for more); driver channel `n` is the
/// `n`th pin, left to right.
pub trait AdcInputs<A> {
    /// How many pins.
    const COUNT: u32;
    /// One conversion on pin `channel`.
    fn read(&mut self, adc: &mut Adc<'static, A, Blocking>, channel: u32) -> Result<u16, Errno>;
}

impl<A: RegisterAccess + 'static, P: AdcChannel, C: AdcCalScheme<A>> AdcInputs<A> for AdcPin<P, A, C> {
    const COUNT: u32 = 1;

    fn read(&mut self, adc: &mut Adc<'static, A, Blocking>, channel: u32) -> Result<u16, Errno> {
        if channel != 0 {
            return Err(Errno::NoSuchResource);
        }
        // A conversion takes microseconds; the error type is `()`.
        nb::block!(adc.read_oneshot(self)).map_err(|()| Errno::Io)
    }
}

impl<A, X: AdcInputs<A>, Y: AdcInputs<A>> AdcInputs<A> for (X, Y) {
    const COUNT: u32 = X::COUNT + Y::COUNT;

    fn read(&mut self, adc: &mut Adc<'static, A, Blocking>, channel: u32) -> Result<u16, Errno> {
        match channel.checked_sub(X::COUNT) {
            None => self.0.read(adc, channel),
            Some(rest) => self.1.read(adc, rest),
        }
    }
}

/// One ADC unit and the pins apps read, for a
/// [`Shared`](akira_bridge::Shared) cell routed with
/// [`AdcRoute`](akira_bridge::AdcRoute)s. Conversions are one-shot and
/// take microseconds (inside the cell's critical section).
///
/// Readings are raw codes without eFuse calibration; millivolts scale
/// them linearly to `full_scale_mv`, the top of the attenuation's range
/// from the chip's datasheet (ESP32-C6 at 11 dB: about 3 300 mV), so
/// they are approximate.
pub struct EspAdc<A: 'static, P> {
    adc: Adc<'static, A, Blocking>,
    pins: P,
    full_scale_mv: u32,
}

impl<A, P: AdcInputs<A>> EspAdc<A, P> {
    /// The unit with its enabled pins (from `AdcConfig::enable_pin`, the
    /// same config the unit was made from) and the input in millivolts
    /// that reads full scale.
    pub fn new(adc: Adc<'static, A, Blocking>, pins: P, full_scale_mv: u32) -> Self {
        EspAdc { adc, pins, full_scale_mv }
    }

    fn check(&self, channel: u32) -> Result<(), Errno> {
        if channel < P::COUNT { Ok(()) } else { Err(Errno::NoSuchResource) }
    }
}

impl<A, P: AdcInputs<A>> akira_bridge::Adc for EspAdc<A, P> {
    fn resolution(&mut self, channel: u32) -> Result<u8, Errno> {
        self.check(channel)?;
        Ok(ADC_BITS)
    }

    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
        self.check(channel)?;
        self.pins.read(&mut self.adc, channel)
    }

    fn full_scale_mv(&mut self, channel: u32) -> Result<u32, Errno> {
        self.check(channel)?;
        Ok(self.full_scale_mv)
    }
}
