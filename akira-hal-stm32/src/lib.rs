#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// The adapter exists only on the microcontroller; host builds of the
// workspace see an empty crate.
#![cfg(target_os = "none")]

#[cfg(not(any(feature = "stm32f405rg", feature = "stm32f411re", feature = "stm32f446re", feature = "stm32f429zi")))]
compile_error!(
    "akira-hal-stm32: choose the chip with a feature: `stm32f405rg`, `stm32f411re`, `stm32f446re` or `stm32f429zi`"
);

/// How many chip features are on: exactly one may be.
const CHIPS: usize = cfg!(feature = "stm32f405rg") as usize
    + cfg!(feature = "stm32f411re") as usize
    + cfg!(feature = "stm32f446re") as usize
    + cfg!(feature = "stm32f429zi") as usize;
const _: () = assert!(CHIPS <= 1, "akira-hal-stm32: choose one chip feature, not several");

pub use akira_bridge;
#[cfg(any(feature = "stm32f405rg", feature = "stm32f411re", feature = "stm32f446re", feature = "stm32f429zi"))]
pub use embassy_stm32;

// Without a chip the HAL is not a dependency at all, so the error above is
// the only one the user sees.
#[cfg(any(feature = "stm32f405rg", feature = "stm32f411re", feature = "stm32f446re", feature = "stm32f429zi"))]
mod board;
#[cfg(any(feature = "stm32f405rg", feature = "stm32f411re", feature = "stm32f446re", feature = "stm32f429zi"))]
pub use board::*;
#[cfg(any(feature = "stm32f405rg", feature = "stm32f411re", feature = "stm32f446re", feature = "stm32f429zi"))]
mod peripherals;
#[cfg(any(feature = "stm32f405rg", feature = "stm32f411re", feature = "stm32f446re", feature = "stm32f429zi"))]
pub use peripherals::*;
#[cfg(any(feature = "stm32f405rg", feature = "stm32f411re", feature = "stm32f446re", feature = "stm32f429zi"))]
mod analog;
#[cfg(any(feature = "stm32f405rg", feature = "stm32f411re", feature = "stm32f446re", feature = "stm32f429zi"))]
pub use analog::*;
