//! The bridge modules of this crate: the core four (`akira:log`,
//! `akira:timer`, `akira:gpio`, `akira:sys`) and the peripheral modules
//! (`akira:i2c`, `akira:spi`, `akira:uart`, `akira:pwm`, `akira:display`, `akira:hid`, ...). Each is documented function by function in `docs/abi.md`;
//! the specs here are the source that document is checked against.

// The core four, in every firmware.
pub mod gpio;
pub mod log;
pub mod sys;
pub mod timer;

// One cargo feature per module family (see the crate's feature table).
#[cfg(feature = "adc")]
pub mod adc;
#[cfg(feature = "app")]
pub mod app;
#[cfg(feature = "ble")]
pub mod ble;
#[cfg(feature = "crypto")]
pub mod crypto;
#[cfg(feature = "display")]
pub mod display;
#[cfg(feature = "ble")]
pub mod gatt;
#[cfg(feature = "hid")]
pub mod hid;
#[cfg(feature = "i2c")]
pub mod i2c;
#[cfg(feature = "i2c")]
pub mod i2c_async;
#[cfg(feature = "ipc")]
pub mod ipc;
#[cfg(feature = "net")]
pub mod net;
#[cfg(feature = "ota")]
pub mod ota;
#[cfg(feature = "pwm")]
pub mod pwm;
#[cfg(feature = "rf")]
pub mod rf;
#[cfg(feature = "rng")]
pub mod rng;
#[cfg(feature = "sensor")]
pub mod sensor;
#[cfg(feature = "spi")]
pub mod spi;
#[cfg(feature = "spi")]
pub mod spi_async;
#[cfg(feature = "storage")]
pub mod storage;
#[cfg(feature = "uart")]
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

/// Common signatures (which ones are used depends on the features).
#[allow(dead_code)]
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
