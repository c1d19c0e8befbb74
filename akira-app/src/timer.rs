//! `akira:timer`: monotonic time and sleeping. Needs the `timer`
//! capability.
//!
//! A sleep suspends only this app; the firmware keeps running its own tasks
//! and the other apps.

use core::time::Duration;

use crate::imports::timer as ffi;

/// A point on the board's monotonic clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// Now.
    pub fn now() -> Instant {
        // SAFETY: a plain import without pointers.
        Instant(unsafe { ffi::now_us() }.max(0) as u64)
    }

    /// Microseconds since boot.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time elapsed since `self`.
    pub fn elapsed(self) -> Duration {
        Instant::now().duration_since(self)
    }

    /// Time from `earlier` to `self` (zero if `earlier` is later).
    pub fn duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`.
    pub fn after(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.as_micros().min(u128::from(u64::MAX)) as u64))
    }
}

/// Suspends the app for `d`.
pub fn sleep(d: Duration) {
    let us = d.as_micros().min(i64::MAX as u128) as i64;
    // SAFETY: a plain import without pointers.
    unsafe { ffi::sleep_us(us) };
}

/// Suspends the app for `ms` milliseconds.
pub fn sleep_ms(ms: u32) {
    sleep(Duration::from_millis(u64::from(ms)));
}

/// Suspends the app until `t`; returns at once if `t` has passed.
pub fn sleep_until(t: Instant) {
    // SAFETY: a plain import without pointers.
    unsafe { ffi::sleep_until_us(t.0.min(i64::MAX as u64) as i64) };
}
