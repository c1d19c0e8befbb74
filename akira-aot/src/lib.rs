#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]

pub mod format;
pub mod link;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
mod run;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
pub mod task;
#[cfg(feature = "ota")]
pub mod trust;

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
pub use run::{AotError, Limits, Module, Trap};
