//! The error type of this crate.

use core::fmt;

use akira_caps::{ManifestError, SECTION_NAME};

/// Why a build step refused a module.
///
/// A module that is well formed but cannot be shrunk is not an error:
/// [`shrink_memory`](crate::shrink_memory) returns it unchanged and says why
/// in [`MemoryReport::reason`](crate::MemoryReport::reason).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The bytes are not a well-formed (or, for
    /// [`shrink_memory`](crate::shrink_memory), valid) wasm module.
    Malformed {
        /// Byte offset in the input where the problem was found.
        offset: usize,
        /// wasmparser's description of the problem.
        message: String,
    },
    /// The bytes are a wasm component, not a core module.
    Component,
    /// The module holds more than one [`SECTION_NAME`] custom section, so
    /// which manifest applies is ambiguous.
    SeveralManifests {
        /// How many manifest sections were found.
        count: usize,
    },
    /// The [`SECTION_NAME`] custom section does not hold a manifest this
    /// crate can read.
    Manifest(ManifestError),
    /// An active data segment ends past the memory's initial size, so the
    /// module could never be instantiated.
    DataBeyondMemory {
        /// Index of the data segment.
        segment: u32,
        /// First byte after the segment.
        end: u64,
        /// The memory's initial size in bytes.
        memory_bytes: u64,
    },
    /// Writing the rewritten module failed, or the result did not validate
    /// (a bug in this crate).
    Encode(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Malformed { offset, message } => {
                write!(f, "malformed wasm module at byte {offset}: {message}")
            }
            BuildError::Component => f.write_str("input is a wasm component; only core modules are supported"),
            BuildError::SeveralManifests { count } => {
                write!(f, "module has {count} `{SECTION_NAME}` custom sections; expected at most one")
            }
            BuildError::Manifest(err) => write!(f, "cannot read embedded manifest: {err}"),
            BuildError::DataBeyondMemory { segment, end, memory_bytes } => write!(
                f,
                "data segment {segment} ends at byte {end}, past the memory's initial size of {memory_bytes} bytes"
            ),
            BuildError::Encode(message) => {
                write!(f, "cannot write the rewritten module: {message}")
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Manifest(err) => Some(err),
            _ => None,
        }
    }
}

impl From<wasmparser::BinaryReaderError> for BuildError {
    fn from(err: wasmparser::BinaryReaderError) -> Self {
        BuildError::Malformed { offset: err.offset(), message: err.message().to_string() }
    }
}

impl From<ManifestError> for BuildError {
    fn from(err: ManifestError) -> Self {
        BuildError::Manifest(err)
    }
}

impl From<wasm_encoder::reencode::Error> for BuildError {
    fn from(err: wasm_encoder::reencode::Error) -> Self {
        match err {
            wasm_encoder::reencode::Error::ParseError(err) => err.into(),
            wasm_encoder::reencode::Error::UnexpectedNonCoreModuleSection => BuildError::Component,
            other => BuildError::Encode(other.to_string()),
        }
    }
}

impl From<wasm_encoder::reencode::Error<BuildError>> for BuildError {
    fn from(err: wasm_encoder::reencode::Error<BuildError>) -> Self {
        match err {
            wasm_encoder::reencode::Error::UserError(err) => err,
            wasm_encoder::reencode::Error::ParseError(err) => err.into(),
            wasm_encoder::reencode::Error::UnexpectedNonCoreModuleSection => BuildError::Component,
            other => BuildError::Encode(other.to_string()),
        }
    }
}
