//! PWM and SAADC drivers for apps: the bridge's [`Pwm`] and [`Adc`] over
//! embassy-nrf's `SimplePwm` and `Saadc`. Put each in a
//! [`Shared`](akira_bridge::Shared) cell and route app channels to its
//! outputs or inputs with [`PwmRoute`](akira_bridge::PwmRoute) and
//! [`AdcRoute`](akira_bridge::AdcRoute) in [`Peripherals`](crate::Peripherals).

use akira_bridge::{Adc, Errno, Pwm};
use embassy_nrf::pwm::{DutyCycle, Prescaler, SimplePwm};
use embassy_nrf::saadc::Saadc;

/// The PWM peripheral's clock before its prescaler.
const PWM_CLOCK_HZ: u32 = 16_000_000;
/// The largest COUNTERTOP (15 bits).
const MAX_TOP: u32 = 32_767;
/// The smallest COUNTERTOP the peripheral accepts.
const MIN_TOP: u32 = 3;

/// One PWM peripheral (PWM0–PWM3) and its four outputs, `0..4`, sharing
/// one frequency: [`Pwm::set_frequency`] on any output sets all four (and
/// [`Pwm::max_duty`] with it: duties already set keep their raw value, so
/// set them again). A duty of `d` out of `max_duty` drives the pin high
/// for `d / max_duty` of each period.
pub struct NrfPwm(pub SimplePwm<'static>);

impl NrfPwm {
    fn output(channel: u32) -> Result<usize, Errno> {
        if channel < 4 { Ok(channel as usize) } else { Err(Errno::NoSuchResource) }
    }
}

impl Pwm for NrfPwm {
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno> {
        Self::output(channel)?;
        Ok(self.0.max_duty())
    }

    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno> {
        let output = Self::output(channel)?;
        // "Inverted" polarity is high while the counter is below the duty
        // value: high for duty / COUNTERTOP of the period.
        self.0.set_duty(output, DutyCycle::inverted(duty.min(self.0.max_duty())));
        Ok(())
    }

    fn set_frequency(&mut self, channel: u32, hz: u32) -> Result<(), Errno> {
        Self::output(channel)?;
        let (prescaler, top) = prescaler_and_top(hz).ok_or(Errno::Invalid)?;
        self.0.set_prescaler(prescaler);
        self.0.set_max_duty(top);
        Ok(())
    }
}

/// The finest prescaler whose counter top for `hz` fits 15 bits, and that
/// top; `None` outside about 4 Hz to 5.3 MHz.
fn prescaler_and_top(hz: u32) -> Option<(Prescaler, u16)> {
    const PRESCALERS: [Prescaler; 8] = [
        Prescaler::Div1,
        Prescaler::Div2,
        Prescaler::Div4,
        Prescaler::Div8,
        Prescaler::Div16,
        Prescaler::Div32,
        Prescaler::Div64,
        Prescaler::Div128,
    ];
    if hz == 0 {
        return None;
    }
    PRESCALERS.into_iter().enumerate().find_map(|(shift, prescaler)| {
        let top = (PWM_CLOCK_HZ >> shift) / hz;
        (MIN_TOP..=MAX_TOP).contains(&top).then_some((prescaler, top as u16))
    })
}

/// The SAADC with `N` configured channels; input `n` is channel `n` of
/// the driver. One read samples all `N` (the SAADC converts its channel
/// list at once, microseconds per channel) and busy-waits for the end
/// event; negative single-ended results (noise around 0 V) read 0.
///
/// [`NrfAdc::new`] assumes embassy-nrf's defaults: `Config::default()`
/// (12 bits) and `ChannelConfig::single_ended` (gain 1/6 on the internal
/// 0.6 V reference: 3.6 V full scale, capped by VDD at the pin).
pub struct NrfAdc<const N: usize> {
    saadc: Saadc<'static, N>,
    bits: u8,
    full_scale_mv: u32,
}

impl<const N: usize> NrfAdc<N> {
    /// The SAADC at its defaults: 12 bits, 3600 mV full scale.
    pub fn new(saadc: Saadc<'static, N>) -> Self {
        Self::with_scale(saadc, 12, 3600)
    }

    /// The SAADC configured otherwise: `bits` per result and the input in
    /// millivolts that reads full scale (0.6 V / gain, or VDD / 4 / gain
    /// on the VDD reference).
    pub fn with_scale(saadc: Saadc<'static, N>, bits: u8, full_scale_mv: u32) -> Self {
        NrfAdc { saadc, bits, full_scale_mv }
    }

    fn input(channel: u32) -> Result<usize, Errno> {
        if (channel as usize) < N { Ok(channel as usize) } else { Err(Errno::NoSuchResource) }
    }
}

impl<const N: usize> Adc for NrfAdc<N> {
    fn resolution(&mut self, channel: u32) -> Result<u8, Errno> {
        Self::input(channel)?;
        Ok(self.bits)
    }

    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
        let input = Self::input(channel)?;
        let mut samples = [0i16; N];
        // The driver's future checks the END event each time it is
        // polled, so busy-polling it is a blocking conversion.
        embassy_futures::block_on(self.saadc.sample(&mut samples));
        let max = (1u32 << self.bits.clamp(1, 16)) - 1;
        Ok(samples[input].max(0).unsigned_abs().min(max as u16))
    }

    fn full_scale_mv(&mut self, channel: u32) -> Result<u32, Errno> {
        Self::input(channel)?;
        Ok(self.full_scale_mv)
    }
}
