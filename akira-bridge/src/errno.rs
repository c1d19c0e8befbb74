//! The error codes every bridge function returns to apps.

use core::fmt;

/// What a bridge call returns when it fails: a negative `i32`.
///
/// Every bridge function returns an `i32` (or `i64`) that is `>= 0` on
/// success and one of these codes on failure; the table is part of the ABI
/// (`docs/abi.md`) and never renumbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(i32)]
#[non_exhaustive]
pub enum Errno {
    /// The guard refused the call: the resource is not in the app's grant.
    Denied = -1,
    /// The board has no such resource (pin, bus, channel).
    NoSuchResource = -2,
    /// An argument is out of range or malformed.
    Invalid = -3,
    /// A pointer or length points outside the app's memory.
    Fault = -4,
    /// The hardware reported an error.
    Io = -5,
    /// The resource is in use.
    Busy = -6,
    /// A wait ended at its timeout.
    TimedOut = -7,
    /// A quota or buffer is full.
    NoSpace = -8,
    /// The board does not support this operation on this resource.
    Unsupported = -9,
    /// The data is larger than the call accepts.
    TooLarge = -10,
}

impl Errno {
    /// Every code, in table order.
    pub const ALL: [Errno; 10] = [
        Errno::Denied,
        Errno::NoSuchResource,
        Errno::Invalid,
        Errno::Fault,
        Errno::Io,
        Errno::Busy,
        Errno::TimedOut,
        Errno::NoSpace,
        Errno::Unsupported,
        Errno::TooLarge,
    ];

    /// The value an app sees.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The code for an app-visible value, if it is one.
    pub fn from_code(code: i32) -> Option<Errno> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }

    /// The symbolic name used in `docs/abi.md` and `akira.h`.
    pub const fn name(self) -> &'static str {
        match self {
            Errno::Denied => "AKIRA_EDENIED",
            Errno::NoSuchResource => "AKIRA_ENORES",
            Errno::Invalid => "AKIRA_EINVAL",
            Errno::Fault => "AKIRA_EFAULT",
            Errno::Io => "AKIRA_EIO",
            Errno::Busy => "AKIRA_EBUSY",
            Errno::TimedOut => "AKIRA_ETIMEDOUT",
            Errno::NoSpace => "AKIRA_ENOSPC",
            Errno::Unsupported => "AKIRA_ENOTSUP",
            Errno::TooLarge => "AKIRA_E2BIG",
        }
    }

    /// A short description.
    pub const fn describe(self) -> &'static str {
        match self {
            Errno::Denied => "not granted to this app",
            Errno::NoSuchResource => "no such resource on this board",
            Errno::Invalid => "invalid argument",
            Errno::Fault => "pointer or length outside the app's memory",
            Errno::Io => "hardware error",
            Errno::Busy => "resource busy",
            Errno::TimedOut => "timed out",
            Errno::NoSpace => "no space left",
            Errno::Unsupported => "not supported by this board",
            Errno::TooLarge => "too large",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.describe(), self.code())
    }
}

impl core::error::Error for Errno {}

/// Turns a bridge result into the `i32` an app sees.
pub fn to_code(result: Result<i32, Errno>) -> i32 {
    match result {
        Ok(v) => v,
        Err(e) => e.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_negative_distinct_and_round_trip() {
        for (i, e) in Errno::ALL.iter().enumerate() {
            assert_eq!(e.code(), -(i as i32) - 1);
            assert_eq!(Errno::from_code(e.code()), Some(*e));
        }
        assert_eq!(Errno::from_code(0), None);
    }
}
