// The guide's example uses the `std` flash model; without `std` the crate
// doc is a pointer to it (docs.rs builds with all features).
#![cfg_attr(feature = "std", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "std"),
    doc = "Over-the-air app updates for Akira: signed packages, a power-loss-safe app store, a framed protocol. Build the docs with feature `std` for the guide."
)]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(missing_docs)]
// One `unsafe impl` (`akira_caps::VouchedWasm` for `package::Vouched`) and no
// unsafe code.
#![deny(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod command;
pub mod frame;
pub mod package;
pub mod protocol;
pub mod ram_flash;
pub mod server;
pub mod store;
#[cfg(feature = "std")]
pub mod testing;
pub mod trust;
mod vouch;

pub use store::block_on;
