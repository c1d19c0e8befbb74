use core::fmt;

/// A bridge call failed: one of the negative codes of the ABI's error
/// table (`docs/abi.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Error(i32);

/// A result whose error is a bridge [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// The guard refused the call: the resource is not in the app's grant.
    pub const DENIED: Error = Error(-1);
    /// The board has no such resource.
    pub const NO_SUCH_RESOURCE: Error = Error(-2);
    /// An argument is out of range or malformed.
    pub const INVALID: Error = Error(-3);
    /// A pointer or length points outside the app's memory.
    pub const FAULT: Error = Error(-4);
    /// The hardware reported an error.
    pub const IO: Error = Error(-5);
    /// The resource is in use.
    pub const BUSY: Error = Error(-6);
    /// A wait ended at its timeout.
    pub const TIMED_OUT: Error = Error(-7);
    /// A quota or buffer is full.
    pub const NO_SPACE: Error = Error(-8);
    /// The board does not support this operation.
    pub const UNSUPPORTED: Error = Error(-9);
    /// The data is larger than the call accepts.
    pub const TOO_LARGE: Error = Error(-10);

    /// The code the bridge returned.
    pub const fn code(self) -> i32 {
        self.0
    }

    /// Turns a bridge return value into a result: negative values are
    /// errors.
    pub fn check(ret: i32) -> Result<i32> {
        if ret < 0 { Err(Error(ret)) } else { Ok(ret) }
    }

    /// Same for calls that return an `i64`.
    pub fn check64(ret: i64) -> Result<i64> {
        if ret < 0 { Err(Error(ret.max(i64::from(i32::MIN)) as i32)) } else { Ok(ret) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match *self {
            Error::DENIED => "not granted to this app",
            Error::NO_SUCH_RESOURCE => "no such resource on this board",
            Error::INVALID => "invalid argument",
            Error::FAULT => "bad pointer or length",
            Error::IO => "hardware error",
            Error::BUSY => "resource busy",
            Error::TIMED_OUT => "timed out",
            Error::NO_SPACE => "no space left",
            Error::UNSUPPORTED => "not supported by this board",
            Error::TOO_LARGE => "too large",
            _ => "unknown error",
        };
        write!(f, "{what} ({})", self.0)
    }
}

impl core::error::Error for Error {}
