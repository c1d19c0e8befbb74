#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
// One `unsafe trait` (`VouchedWasm`) and no unsafe code.
#![deny(unsafe_code)]
// Errors carry the culprit's name inline; they are returned at install
// time, never on the call path.
#![allow(clippy::result_large_err)]

// The capability sets keep their rarely used, name-bearing scopes (network
// endpoints, IPC topics, app names, vendor capabilities) on the heap; the
// call-time checks never allocate.
extern crate alloc;

pub mod capability;
pub mod guard;
pub mod imports;
pub mod manifest;
pub mod policy;
pub mod scope;
pub mod sets;
#[cfg(feature = "toml")]
pub mod toml_source;
pub mod vouch;

pub use capability::{Capability, CapabilityMask};
pub use guard::{
    AirtimeExhausted, Denial, Denied, Grants, Guard, PinAccess, Resource, Table, TooManyAdvChanges, VendorSlot,
};
pub use imports::{
    FnSpec, ImportError, ImportKind, ModuleCapability, ModuleSpec, Param, Ret, Stability, Type, ValType,
};
pub use manifest::{ABI_VERSION, Manifest, ManifestError, SECTION_NAME, Version};
pub use policy::{GrantError, Policy, grant};
pub use scope::CapabilitySet;
pub use vouch::VouchedWasm;
