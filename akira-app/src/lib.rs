#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
// Bridge modules reuse function names (`akira:log.write`, `akira:gpio.write`);
// on wasm32 each declaration keeps its own import module, so they do not
// clash (the examples' import lists are checked in CI).
#![allow(clashing_extern_declarations)]

/// The bridge's functions, declared from the ABI's one definition
/// (`akira-abi`) by the build script.
mod imports {
    include!(concat!(env!("OUT_DIR"), "/imports.rs"));
}

pub mod adc;
pub mod app;
pub mod ble;
pub mod crypto;
pub mod display;
mod error;
pub mod gpio;
#[cfg(feature = "embedded-hal")]
pub mod hal;
pub mod hid;
pub mod i2c;
pub mod ipc;
pub mod log;
pub mod net;
pub mod ota;
pub mod pwm;
pub mod rf;
pub mod rng;
pub mod sensor;
pub mod spi;
pub mod storage;
pub mod sys;
pub mod timer;
pub mod uart;

pub use error::{Error, Result};

/// Declares the app's entry point: `akira_app::main!(run);` exports
/// `akira_main`, which the runtime calls. `run` takes no arguments and
/// returns `()`, an `i32` exit code, or [`Result<()>`] (an error exits with
/// its negative code).
#[macro_export]
macro_rules! main {
    ($entry:path) => {
        #[unsafe(no_mangle)]
        pub extern "C" fn akira_main() -> i32 {
            $crate::ExitCode::code($entry())
        }
    };
}

/// What an app's entry function may return.
pub trait ExitCode {
    /// The exit code the runtime reports.
    fn code(self) -> i32;
}

impl ExitCode for () {
    fn code(self) -> i32 {
        0
    }
}

impl ExitCode for i32 {
    fn code(self) -> i32 {
        self
    }
}

impl ExitCode for Result<()> {
    fn code(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(e) => e.code(),
        }
    }
}

impl ExitCode for core::convert::Infallible {
    fn code(self) -> i32 {
        match self {}
    }
}

#[cfg(all(target_arch = "wasm32", feature = "panic-handler"))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    #[cfg(feature = "panic-log")]
    log::write_fmt(log::Level::Error, format_args!("panic: {}", info.message()));
    #[cfg(not(feature = "panic-log"))]
    let _ = info;
    core::arch::wasm32::unreachable()
}
