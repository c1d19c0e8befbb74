#![doc = include_str!("../README.md")]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod frame;
pub mod package;
pub mod protocol;
pub mod server;
pub mod store;
#[cfg(feature = "std")]
pub mod testing;

pub use store::block_on;
