//! The bridge modules of this crate: the core four (`akira:log`,
//! `akira:timer`, `akira:gpio`, `akira:sys`) and the peripheral modules
//! (`akira:i2c`, `akira:spi`, `akira:uart`, `akira:pwm`, `akira:display`,
//! `akira:hid`, ...). Each module's functions (names, signatures,
//! stability, docs) are `akira-abi`'s, the one definition the guest SDK,
//! `include/akira.h` and `docs/abi.md` come from; each `SPEC` pairs them
//! with the capability the guard checks.

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
#[cfg(feature = "wasi")]
pub mod wasi;
