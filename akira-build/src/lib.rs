#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod error;
mod manifest;
mod memory;

pub use error::BuildError;
pub use manifest::{embed_manifest, read_manifest};
pub use memory::{HEAP_BASE_EXPORT, MEMORY_ALIGN, MemoryReport, shrink_memory};
