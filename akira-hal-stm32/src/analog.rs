//! PWM and ADC drivers for apps: the bridge's [`Pwm`] and [`Adc`] over
//! embassy-stm32's `SimplePwm` (a timer's four channels) and ADC1. Put
//! each in a [`Shared`](akira_bridge::Shared) cell and route app channels
//! to its outputs or inputs with [`PwmRoute`](akira_bridge::PwmRoute) and
//! [`AdcRoute`](akira_bridge::AdcRoute) in [`Peripherals`](crate::Peripherals).

use akira_bridge::{Adc, Errno, Pwm};
use embassy_stm32::adc::{self, AnyAdcChannel, SampleTime};
use embassy_stm32::peripherals::ADC1;
use embassy_stm32::time::Hertz;
use embassy_stm32::timer::simple_pwm::SimplePwm;
use embassy_stm32::timer::{Channel, GeneralInstance4Channel};

/// One timer's four PWM channels, outputs `0..4` (CH1–CH4), sharing one
/// frequency: [`Pwm::set_frequency`] on any output sets all four (and
/// [`Pwm::max_duty`] with it: duties already set keep their raw value, so
/// set them again). A duty of `d` out of `max_duty` drives the pin active
/// for `d / max_duty` of each period. Outputs without a pin given to
/// `SimplePwm::new` drive nothing. When the timer's period is longer than
/// 65 535 counts (low frequencies on a fast timer clock), `max_duty` is
/// 65 535 and duties are scaled to the period, full scale being one count
/// short of always on.
pub struct Stm32Pwm<T: GeneralInstance4Channel>(SimplePwm<'static, T>);

impl<T: GeneralInstance4Channel> Stm32Pwm<T> {
    /// The timer's channels, all enabled (at their current duty, 0 after
    /// `SimplePwm::new`).
    pub fn new(mut pwm: SimplePwm<'static, T>) -> Self {
        for channel in [Channel::Ch1, Channel::Ch2, Channel::Ch3, Channel::Ch4] {
            pwm.channel(channel).enable();
        }
        Stm32Pwm(pwm)
    }

    fn output(channel: u32) -> Result<Channel, Errno> {
        match channel {
            0 => Ok(Channel::Ch1),
            1 => Ok(Channel::Ch2),
            2 => Ok(Channel::Ch3),
            3 => Ok(Channel::Ch4),
            _ => Err(Errno::NoSuchResource),
        }
    }
}

impl<T: GeneralInstance4Channel> Pwm for Stm32Pwm<T> {
    fn max_duty(&mut self, channel: u32) -> Result<u16, Errno> {
        Self::output(channel)?;
        Ok(u16::try_from(self.0.max_duty_cycle()).unwrap_or(u16::MAX))
    }

    fn set_duty(&mut self, channel: u32, duty: u16) -> Result<(), Errno> {
        let output = Self::output(channel)?;
        let max = self.0.max_duty_cycle();
        let duty = u32::from(duty);
        // Exact when the period fits 16 bits; scaled to it otherwise (to
        // at most `max - 1`: a 16-bit compare register cannot hold 65 536).
        let compare = if max <= u32::from(u16::MAX) {
            duty.min(max)
        } else {
            (u64::from(duty) * u64::from(max - 1) / u64::from(u16::MAX)) as u32
        };
        self.0.channel(output).set_duty_cycle(compare);
        Ok(())
    }

    fn set_frequency(&mut self, channel: u32, hz: u32) -> Result<(), Errno> {
        Self::output(channel)?;
        // At least two timer clocks per period (the driver's floor); the
        // slowest (1 Hz) fits its 16-bit prescaler and counter.
        let clock = embassy_stm32::rcc::frequency::<T>().0;
        if hz == 0 || hz > clock / 2 {
            return Err(Errno::Invalid);
        }
        self.0.set_frequency(Hertz(hz));
        Ok(())
    }
}

/// ADC1 with `N` inputs; input `n` is `channels[n]`. One read is one
/// blocking conversion (microseconds at the sample time given).
/// Resolution and full scale are the caller's: 12 bits and the board's
/// VDDA in millivolts (3300 on the NUCLEO boards) by default in
/// embassy-stm32.
pub struct Stm32Adc<const N: usize> {
    adc: adc::Adc<'static, ADC1>,
    channels: [AnyAdcChannel<'static, ADC1>; N],
    sample_time: SampleTime,
    bits: u8,
    full_scale_mv: u32,
}

impl<const N: usize> Stm32Adc<N> {
    /// ADC1 at 12 bits (embassy-stm32's default) over `vdda_mv`, sampling
    /// each input for `sample_time`.
    pub fn new(
        adc: adc::Adc<'static, ADC1>,
        channels: [AnyAdcChannel<'static, ADC1>; N],
        sample_time: SampleTime,
        vdda_mv: u32,
    ) -> Self {
        Stm32Adc { adc, channels, sample_time, bits: 12, full_scale_mv: vdda_mv }
    }

    fn input(&mut self, channel: u32) -> Result<&mut AnyAdcChannel<'static, ADC1>, Errno> {
        self.channels.get_mut(channel as usize).ok_or(Errno::NoSuchResource)
    }
}

impl<const N: usize> Adc for Stm32Adc<N> {
    fn resolution(&mut self, channel: u32) -> Result<u8, Errno> {
        self.input(channel)?;
        Ok(self.bits)
    }

    fn read_raw(&mut self, channel: u32) -> Result<u16, Errno> {
        let sample_time = self.sample_time;
        let input = self.channels.get_mut(channel as usize).ok_or(Errno::NoSuchResource)?;
        Ok(self.adc.blocking_read(input, sample_time))
    }

    fn full_scale_mv(&mut self, channel: u32) -> Result<u32, Errno> {
        self.input(channel)?;
        Ok(self.full_scale_mv)
    }
}
