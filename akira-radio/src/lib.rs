#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "bt-hci")]
pub mod ble;
#[cfg(feature = "lora-phy")]
pub mod lora;
#[cfg(feature = "trouble")]
pub mod trouble;
