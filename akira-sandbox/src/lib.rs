#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(not(any(feature = "wasmi", feature = "aot")))]
compile_error!(
    "akira-sandbox needs an engine: the feature `wasmi` (the interpreter; `validate` and the dispatch \
     features turn it on) or `aot` (apps run as native code only)"
);

mod config;
mod error;
mod instance;
#[cfg(all(feature = "aot", native_code))]
mod native;
mod restart;
mod runtime;
mod scheduler;

pub use config::RuntimeConfig;
pub use error::{Fault, LoadError, Trap};
pub use instance::{AppInstance, Step, Usage};
pub use restart::{Decision, Restart, RestartPolicy, Supervisor};
#[cfg(feature = "wasmi")]
pub use runtime::bridge_types;
pub use runtime::{ENTRY_POINT, LoadedApp, Runtime, UNNAMED_APP};
pub use scheduler::{AppId, Event, Round, Scheduler, Status};

pub use akira_bridge;
pub use akira_caps;
