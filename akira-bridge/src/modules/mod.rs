//! The bridge modules of this crate: the core four (`akira:log`,
//! `akira:timer`, `akira:gpio`, `akira:sys`) and the peripheral modules
//! (`akira:i2c`, `akira:spi`, `akira:uart`, `akira:pwm`, `akira:display`, `akira:hid`, ...). Each is documented function by function in `docs/abi.md`;
//! the specs here are the source that document is checked against.

pub mod adc;
pub mod app;
pub mod ble;
#[cfg(feature = "crypto")]
pub mod crypto;
pub mod display;
pub mod gatt;
pub mod gpio;
pub mod hid;
pub mod i2c;
pub mod i2c_async;
pub mod ipc;
pub mod log;
pub mod net;
pub mod ota;
pub mod pwm;
pub mod rf;
pub mod rng;
pub mod sensor;
pub mod spi;
pub mod spi_async;
pub mod storage;
pub mod sys;
pub mod timer;
pub mod uart;

use akira_caps::ValType::{I32, I64};
use akira_caps::{FnSpec, Stability, ValType};

/// A stable function spec (all built-in functions of ABI 1 are stable).
pub(crate) const fn stable(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
    summary: &'static str,
) -> FnSpec {
    FnSpec { name, params, results, stability: Stability::Stable, summary }
}

/// An experimental function spec: the modules added after the core four
/// may still change in a minor release.
pub(crate) const fn experimental(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
    summary: &'static str,
) -> FnSpec {
    FnSpec { name, params, results, stability: Stability::Experimental, summary }
}

/// Common signatures.
pub(crate) mod sig {
    use super::*;
    pub const NONE: &[ValType] = &[];
    pub const I: &[ValType] = &[I32];
    pub const II: &[ValType] = &[I32, I32];
    pub const III: &[ValType] = &[I32, I32, I32];
    pub const IIL: &[ValType] = &[I32, I32, I64];
    pub const IIII: &[ValType] = &[I32, I32, I32, I32];
    pub const IIIL: &[ValType] = &[I32, I32, I32, I64];
    pub const IIIII: &[ValType] = &[I32, I32, I32, I32, I32];
    pub const IIIIII: &[ValType] = &[I32, I32, I32, I32, I32, I32];
    pub const L: &[ValType] = &[I64];
}
