//! Why an app was not loaded, and why a running app stopped.

use alloc::boxed::Box;
use alloc::string::String;
#[cfg(feature = "wasmi")]
use alloc::string::ToString;
use core::fmt;

use akira_caps::{Denial, GrantError, ImportError, ManifestError};

/// Why an app could not be loaded or instantiated. Nothing of the app is
/// kept when this is returned; other apps are not affected.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LoadError {
    /// The module is larger than [`crate::RuntimeConfig::max_module_bytes`].
    TooLarge {
        /// Size of the module.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a valid WebAssembly module (or uses a feature the runtime does
    /// not enable). The text is wasmi's explanation.
    InvalidWasm(String),
    /// The `akira.manifest` section could not be read.
    Manifest(ManifestError),
    /// The module has more than one `akira.manifest` section.
    DuplicateManifest,
    /// The manifest asks for more than the device policy allows.
    Grant(Box<GrantError>),
    /// An import is unknown, ungranted or mistyped.
    Import(Box<ImportError>),
    /// The module's initial memory exceeds its manifest's limit.
    MemoryLimit {
        /// Bytes the module's memory starts with.
        declared: u64,
        /// The manifest's limit.
        limit: u32,
    },
    /// No exported function `akira_main` of type `() -> ()` or `() -> i32`.
    NoEntry,
    /// Instantiation failed (for example, the memory or table limit). The
    /// text is wasmi's explanation.
    Instantiate(String),
    /// The bridge could not link a module (a bug in a bridge module).
    Link(String),
    /// The app was loaded by another [`crate::Runtime`] (each runtime has
    /// its own engine).
    WrongRuntime,
    /// The app's storage quota does not fit beside the other apps' in the
    /// key-value store's capacity ([`crate::Scheduler::set_storage_capacity`]).
    StorageQuota {
        /// The app's quota, in bytes.
        asked: u32,
        /// What the other apps' quotas leave of the capacity.
        free: u32,
    },
    /// [`crate::Runtime::load_vouched`]: the proof is not for these bytes.
    NotVouched,
    /// A firmware without the interpreter (no `wasmi` feature) runs apps
    /// only as native code: this one carries none, or none from a signer
    /// trusted with native code (`LoadedApp::with_native_code`, feature `aot`).
    NeedsNativeCode,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::TooLarge { bytes, limit } => {
                write!(f, "module is {bytes} bytes, the limit is {limit}")
            }
            LoadError::InvalidWasm(m) => write!(f, "invalid wasm: {m}"),
            LoadError::Manifest(e) => write!(f, "manifest: {e}"),
            LoadError::DuplicateManifest => f.write_str("more than one akira.manifest section"),
            LoadError::Grant(e) => write!(f, "not granted: {e}"),
            LoadError::Import(e) => write!(f, "refused {e}"),
            LoadError::MemoryLimit { declared, limit } => {
                write!(f, "memory starts at {declared} bytes, beyond the manifest's limit of {limit} bytes")
            }
            LoadError::NoEntry => f.write_str("no exported function `akira_main` of type () -> () or () -> i32"),
            LoadError::Instantiate(m) => write!(f, "instantiation failed: {m}"),
            LoadError::Link(m) => write!(f, "link failed: {m}"),
            LoadError::WrongRuntime => f.write_str("app was loaded by another runtime"),
            LoadError::StorageQuota { asked, free } => write!(
                f,
                "storage quota of {asked} bytes does not fit: the other apps' quotas leave {free} bytes of the store"
            ),
            LoadError::NotVouched => f.write_str("the trusted signer's proof is not for these bytes"),
            LoadError::NeedsNativeCode => f.write_str(
                "this firmware has no interpreter: the app needs native code from a signer trusted with it (akira pack --aot)",
            ),
        }
    }
}

impl core::error::Error for LoadError {}

impl From<ManifestError> for LoadError {
    fn from(e: ManifestError) -> Self {
        LoadError::Manifest(e)
    }
}

impl From<GrantError> for LoadError {
    fn from(e: GrantError) -> Self {
        LoadError::Grant(Box::new(e))
    }
}

impl From<ImportError> for LoadError {
    fn from(e: ImportError) -> Self {
        LoadError::Import(Box::new(e))
    }
}

/// A WebAssembly trap, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Trap {
    /// `unreachable` executed (Rust panics and C `abort` end here).
    Unreachable,
    /// Load or store outside the app's memory.
    MemoryOutOfBounds,
    /// Table access out of bounds.
    TableOutOfBounds,
    /// Indirect call to a null table entry.
    IndirectCallToNull,
    /// Integer division by zero.
    DivisionByZero,
    /// Integer overflow (`i32::MIN / -1`).
    IntegerOverflow,
    /// Float to integer conversion out of range.
    BadConversion,
    /// Recursion beyond the stack limit.
    StackOverflow,
    /// Indirect call with the wrong signature.
    BadSignature,
    /// A memory or table grow the limits refused, when configured to trap.
    GrowthLimited,
    /// The host ran out of memory for the app.
    OutOfSystemMemory,
}

impl Trap {
    #[cfg(feature = "wasmi")]
    pub(crate) fn from_code(code: wasmi::TrapCode) -> Option<Trap> {
        use wasmi::TrapCode as C;
        Some(match code {
            C::UnreachableCodeReached => Trap::Unreachable,
            C::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
            C::TableOutOfBounds => Trap::TableOutOfBounds,
            C::IndirectCallToNull => Trap::IndirectCallToNull,
            C::IntegerDivisionByZero => Trap::DivisionByZero,
            C::IntegerOverflow => Trap::IntegerOverflow,
            C::BadConversionToInteger => Trap::BadConversion,
            C::StackOverflow => Trap::StackOverflow,
            C::BadSignature => Trap::BadSignature,
            C::GrowthOperationLimited => Trap::GrowthLimited,
            C::OutOfSystemMemory => Trap::OutOfSystemMemory,
            // Out of fuel is never a trap here: the sandbox meters with
            // resumable calls and turns budget overruns into a fault.
            C::OutOfFuel => return None,
        })
    }

    /// What happened, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Trap::Unreachable => "unreachable executed (panic or abort)",
            Trap::MemoryOutOfBounds => "memory access out of bounds",
            Trap::TableOutOfBounds => "table access out of bounds",
            Trap::IndirectCallToNull => "indirect call to null",
            Trap::DivisionByZero => "integer division by zero",
            Trap::IntegerOverflow => "integer overflow",
            Trap::BadConversion => "invalid float to integer conversion",
            Trap::StackOverflow => "stack overflow",
            Trap::BadSignature => "indirect call with a bad signature",
            Trap::GrowthLimited => "memory or table growth refused",
            Trap::OutOfSystemMemory => "host out of memory",
        }
    }
}

/// Why a running app was stopped. A fault stops that app alone.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Fault {
    /// The app trapped.
    Trap(Trap),
    /// The app ran more than its CPU budget without waiting.
    CpuBudget {
        /// The budget, in fuel.
        budget: u64,
    },
    /// A denied call, in strict mode.
    Denied(Denial),
    /// A host function failed in a way the app cannot handle (a bridge
    /// module bug, or a wasm error wasmi reports without a trap code).
    Host(String),
}

#[cfg(feature = "wasmi")]
impl Fault {
    pub(crate) fn from_error(error: &wasmi::Error) -> Fault {
        match error.as_trap_code().and_then(Trap::from_code) {
            Some(trap) => Fault::Trap(trap),
            None => Fault::Host(error.to_string()),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Trap(t) => write!(f, "trap: {}", t.describe()),
            Fault::CpuBudget { budget } => {
                write!(f, "cpu budget exceeded: ran {budget} fuel without waiting")
            }
            Fault::Denied(d) => write!(f, "denied: {d}"),
            Fault::Host(m) => write!(f, "host error: {m}"),
        }
    }
}

impl core::error::Error for Fault {}
