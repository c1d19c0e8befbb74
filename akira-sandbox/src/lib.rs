#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

extern crate alloc;

mod config;
mod error;
mod instance;
#[cfg(all(feature = "aot", target_arch = "arm", target_abi = "eabihf"))]
mod native;
mod restart;
mod runtime;
mod scheduler;

pub use config::RuntimeConfig;
pub use error::{Fault, LoadError, Trap};
pub use instance::{AppInstance, Step, Usage};
pub use restart::{Decision, Restart, RestartPolicy, Supervisor};
pub use runtime::{ENTRY_POINT, LoadedApp, Runtime, UNNAMED_APP, bridge_types};
pub use scheduler::{AppId, Event, Round, Scheduler, Status};

pub use akira_bridge;
pub use akira_caps;
