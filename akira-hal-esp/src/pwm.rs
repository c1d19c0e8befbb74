//! PWM outputs for apps on the LEDC peripheral.

use core::sync::atomic::{AtomicU16, AtomicU32, Ordering};

use akira_bridge::{Errno, SharedPwm};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use embedded_hal::pwm::SetDutyCycle;
use esp_hal::ledc::LowSpeed;
use esp_hal::ledc::channel::Channel;

/// A duty an app set and the serving task has not applied yet.
const PENDING: u32 = 1 << 16;

/// `N` LEDC channels as app PWM outputs (driver channel `n` is the `n`th
/// channel given to [`LedcPwm::serve`]).
///
/// An esp-hal LEDC `Channel` borrows its timer and cannot move between
/// contexts, so a firmware task owns the channels ([`LedcPwm::serve`])
/// and apps' duties reach it through atomics: `pwm.set_duty` returns at
/// once and the task writes the duty register right after (within the
/// executor's next turn, well inside one PWM period at the usual
/// frequencies). The frequency is the LEDC timer's, set by the firmware:
/// `pwm.set_frequency` is `AKIRA_ENOTSUP`.
pub struct LedcPwm<const N: usize> {
    /// Each channel's next duty, with [`PENDING`] set until applied.
    duty: [AtomicU32; N],
    /// Each channel's full-scale duty (the timer's `2^bits`).
    max: [AtomicU16; N],
    wake: Signal<CriticalSectionRawMutex, ()>,
}

impl<const N: usize> LedcPwm<N> {
    /// `N` channels whose full-scale duty is `max_duty` (`1 << bits` of
    /// the LEDC timer's duty resolution; [`LedcPwm::serve`] reads it from
    /// the channels again), all at 0 %.
    pub const fn new(max_duty: u16) -> Self {
        LedcPwm { duty: [const { AtomicU32::new(0) }; N], max: [const { AtomicU16::new(0) }; N], wake: Signal::new() }
            .with_max(max_duty)
    }

    const fn with_max(mut self, max_duty: u16) -> Self {
        let mut i = 0;
        while i < N {
            self.max[i] = AtomicU16::new(max_duty);
            i += 1;
        }
        self
    }

    /// Owns the configured LEDC channels and applies the apps' duties
    /// forever: run it as a firmware task.
    pub async fn serve(&self, mut channels: [Channel<'static, LowSpeed>; N]) -> ! {
        for (max, channel) in self.max.iter().zip(&channels) {
            max.store(channel.max_duty_cycle(), Ordering::Relaxed);
        }
        loop {
            for (duty, channel) in self.duty.iter().zip(&mut channels) {
                let d = duty.fetch_and(!PENDING, Ordering::Relaxed);
                if d & PENDING != 0 {
                    // Infallible in esp-hal (the duty is clamped).
                    let _ = channel.set_duty_cycle(d as u16);
                }
            }
            self.wake.wait().await;
        }
    }

    fn max_of(&self, channel: u32) -> Result<u16, Errno> {
        let max = self.max.get(channel as usize).ok_or(Errno::NoSuchResource)?.load(Ordering::Relaxed);
        if max == 0 { Err(Errno::Unsupported) } else { Ok(max) }
    }
}

impl<const N: usize> SharedPwm for LedcPwm<N> {
    fn max_duty(&self, channel: u32) -> Result<u16, Errno> {
        self.max_of(channel)
    }

    fn set_duty(&self, channel: u32, duty: u16) -> Result<(), Errno> {
        let max = self.max_of(channel)?;
        self.duty[channel as usize].store(u32::from(duty.min(max)) | PENDING, Ordering::Relaxed);
        self.wake.signal(());
        Ok(())
    }

    fn set_frequency(&self, channel: u32, _hz: u32) -> Result<(), Errno> {
        self.max_of(channel)?;
        Err(Errno::Unsupported)
    }
}
