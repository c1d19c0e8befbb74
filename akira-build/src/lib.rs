#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

pub mod akiraos;
mod entry;
mod error;
mod manifest;
mod memory;
mod select;

pub use entry::{ENTRY_POINT, ORIGIN_SECTION, WASI_START, export_wasi_entry, origin};
pub use error::BuildError;
pub use manifest::{embed_manifest, read_manifest};
pub use memory::{HEAP_BASE_EXPORT, MEMORY_ALIGN, MemoryReport, shrink_memory};
pub use select::fix_select_conditions;
