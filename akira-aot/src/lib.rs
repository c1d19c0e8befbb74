#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]

// Running code: on Cortex-M4F/M7 and RISC-V rv32imac (the assembly per
// instruction set is in `arch`).
#[cfg(any(all(target_arch = "arm", target_abi = "eabihf"), target_arch = "riscv32"))]
mod arch;
pub mod format;
pub mod link;
#[cfg(any(all(target_arch = "arm", target_abi = "eabihf"), target_arch = "riscv32"))]
mod run;
#[cfg(any(all(target_arch = "arm", target_abi = "eabihf"), target_arch = "riscv32"))]
pub mod task;
#[cfg(feature = "ota")]
pub mod trust;

#[cfg(any(all(target_arch = "arm", target_abi = "eabihf"), target_arch = "riscv32"))]
pub use run::{AotError, Limits, Module, Trap};
