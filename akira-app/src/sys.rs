//! `akira:sys`: the app's identity, yielding, exiting, and the device's
//! power state (uptime, reset reason, low-power hint). Needs the `sys`
//! capability.

use crate::imports::sys as ffi;

/// Ends the app with `code`.
pub fn exit(code: i32) -> ! {
    // SAFETY: a plain import; the host never returns from it.
    unsafe { ffi::exit(code) }
}

/// Lets other apps and firmware tasks run, then continues.
pub fn yield_now() {
    // SAFETY: a plain import without pointers.
    unsafe { ffi::yield_now() };
}

/// Copies the app's name into `buf` and returns it (cut to `buf`'s size).
pub fn app_name(buf: &mut [u8]) -> &str {
    // SAFETY: the host writes at most `buf.len()` bytes at `buf`, which the
    // slice owns; it checks the range against the app's memory.
    let len = unsafe { ffi::app_name(buf.as_mut_ptr(), buf.len() as i32) };
    let n = (len.max(0) as usize).min(buf.len());
    // App names are ASCII, so any cut is on a character boundary.
    core::str::from_utf8(&buf[..n]).unwrap_or("")
}

/// The app's version from its manifest: `(major, minor, patch)`.
pub fn app_version() -> (u16, u16, u16) {
    // SAFETY: a plain import without pointers.
    let v = unsafe { ffi::app_version() };
    ((v >> 32) as u16, (v >> 16) as u16, v as u16)
}

/// The app ABI the firmware provides.
pub fn abi_version() -> u32 {
    // SAFETY: a plain import without pointers.
    unsafe { ffi::abi_version() as u32 }
}

/// How many of this app's calls the guard refused so far.
pub fn denials() -> u32 {
    // SAFETY: a plain import without pointers.
    unsafe { ffi::denials() as u32 }
}

/// Time since the device started.
pub fn uptime() -> core::time::Duration {
    // SAFETY: a plain import without pointers.
    core::time::Duration::from_micros(unsafe { ffi::uptime_us() }.max(0) as u64)
}

/// Why the device last reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetReason {
    /// The board cannot tell.
    Unknown,
    /// Power was applied.
    PowerOn,
    /// The reset pin.
    Pin,
    /// The firmware asked for it.
    Software,
    /// A watchdog expired.
    Watchdog,
    /// The supply dropped too low.
    Brownout,
    /// A CPU fault.
    Fault,
    /// Woken from deep sleep.
    Wakeup,
}

/// Why the device last reset.
pub fn reset_reason() -> ResetReason {
    // SAFETY: a plain import without pointers.
    match unsafe { ffi::reset_reason() } {
        1 => ResetReason::PowerOn,
        2 => ResetReason::Pin,
        3 => ResetReason::Software,
        4 => ResetReason::Watchdog,
        5 => ResetReason::Brownout,
        6 => ResetReason::Fault,
        7 => ResetReason::Wakeup,
        _ => ResetReason::Unknown,
    }
}

/// How deeply the device may sleep while this app waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepHint {
    /// Stay ready for fast wake-ups (the default).
    Active = 0,
    /// Light sleep is fine.
    Light = 1,
    /// Deep sleep is fine between the app's deadlines.
    Deep = 2,
}

/// Tells the firmware how deeply the device may sleep while this app
/// waits (the firmware combines every app's hint; the shallowest wins).
pub fn sleep_hint(hint: SleepHint) {
    // SAFETY: a plain import without pointers; every `SleepHint` is valid.
    unsafe { ffi::sleep_hint(hint as i32) };
}
