//! Why an app could not be compiled ahead of time.

use std::fmt;

/// Why an app could not be compiled ahead of time.
#[derive(Debug)]
#[non_exhaustive]
pub enum AotBuildError {
    /// The wasm module is malformed.
    Wasm(wasmparser::BinaryReaderError),
    /// Re-encoding the instrumented module failed.
    Reencode(String),
    /// The module already exports the fuel counter's name.
    ReservedExport(&'static str),
    /// The module imports from a module name the AOT tier reserves (its
    /// out-of-fuel call).
    ReservedImport(&'static str),
    /// The module already carries an AOT blob section.
    AlreadyCarriesBlob,
    /// Phase 1 runs only function imports (no imported memory, table or global).
    UnsupportedImport(String),
    /// A memory phase 1 cannot give (more than one memory, more than
    /// 2 GiB).
    UnsupportedMemory(&'static str),
    /// A function takes or returns f32, f64, a reference or several values.
    UnsupportedSignature(String),
    /// The compiled code calls a function the device runtime does not
    /// provide (a libm call for a float operation, for example).
    UnsupportedRuntimeCall(String),
    /// The object has an ELF relocation type the linker does not handle:
    /// the target's name and the type's number.
    UnsupportedRelocation(&'static str, u32),
    /// A target name no compiler target has (`thumbv7em`, `riscv32imac`).
    UnknownTarget(String),
    /// A function's stack frame has no bound (alloca).
    UnboundedStack(String),
    /// wasm2c's output was not as expected.
    Wasm2cOutput(String),
    /// The object could not be linked.
    Link(String),
    /// A tool (wasm2c, clang) could not run or failed.
    Tool {
        /// The program.
        program: String,
        /// What it said.
        message: String,
    },
    /// Reading or writing the temporary files failed.
    Io(std::io::Error),
}

impl fmt::Display for AotBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AotBuildError::Wasm(e) => write!(f, "malformed wasm: {e}"),
            AotBuildError::Reencode(e) => write!(f, "re-encoding the instrumented wasm: {e}"),
            AotBuildError::ReservedExport(name) => {
                write!(f, "the module exports `{name}`, which the AOT tier reserves")
            }
            AotBuildError::ReservedImport(module) => {
                write!(f, "the module imports from `{module}`, which the AOT tier reserves")
            }
            AotBuildError::AlreadyCarriesBlob => {
                write!(f, "the module already carries an `{}` section", akira_aot::format::SECTION_NAME)
            }
            AotBuildError::UnsupportedMemory(what) => write!(f, "unsupported memory: {what}"),
            AotBuildError::UnsupportedImport(name) => {
                write!(f, "import `{name}` is not a function (the AOT tier imports only functions)")
            }
            AotBuildError::UnsupportedSignature(name) => {
                write!(f, "function `{name}` takes or returns something other than i32/i64 (at most one result)")
            }
            AotBuildError::UnsupportedRuntimeCall(name) => {
                write!(f, "the compiled code calls `{name}`, which the device runtime does not provide")
            }
            AotBuildError::UnsupportedRelocation(target, t) => match relocation_name(target, *t) {
                Some(name) => write!(f, "unsupported {target} ELF relocation {name} (type {t})"),
                None => write!(f, "unsupported {target} ELF relocation type {t}"),
            },
            AotBuildError::UnknownTarget(name) => {
                write!(f, "unknown AOT target `{name}` (known: thumbv7em, riscv32imac)")
            }
            AotBuildError::UnboundedStack(line) => write!(f, "a stack frame has no bound: {line}"),
            AotBuildError::Wasm2cOutput(e) => write!(f, "unexpected wasm2c output: {e}"),
            AotBuildError::Link(e) => write!(f, "linking the object: {e}"),
            AotBuildError::Tool { program, message } => write!(f, "{program} failed: {message}"),
            AotBuildError::Io(e) => write!(f, "temporary files: {e}"),
        }
    }
}

/// The name of a relocation type clang may emit that the linker refuses
/// (the ones a wrong code model or PIC setting bring).
fn relocation_name(target: &str, r_type: u32) -> Option<&'static str> {
    use object::elf;
    Some(match (target, r_type) {
        ("RISC-V", elf::R_RISCV_HI20) => "R_RISCV_HI20",
        ("RISC-V", elf::R_RISCV_LO12_I) => "R_RISCV_LO12_I",
        ("RISC-V", elf::R_RISCV_LO12_S) => "R_RISCV_LO12_S",
        ("RISC-V", elf::R_RISCV_GOT_HI20) => "R_RISCV_GOT_HI20",
        ("RISC-V", elf::R_RISCV_TLS_GOT_HI20) => "R_RISCV_TLS_GOT_HI20",
        ("RISC-V", elf::R_RISCV_TLS_GD_HI20) => "R_RISCV_TLS_GD_HI20",
        ("RISC-V", elf::R_RISCV_TPREL_HI20) => "R_RISCV_TPREL_HI20",
        ("RISC-V", elf::R_RISCV_64) => "R_RISCV_64",
        ("RISC-V", elf::R_RISCV_ADD32) => "R_RISCV_ADD32",
        ("RISC-V", elf::R_RISCV_SUB32) => "R_RISCV_SUB32",
        ("RISC-V", elf::R_RISCV_32_PCREL) => "R_RISCV_32_PCREL",
        ("RISC-V", elf::R_RISCV_GPREL_I) => "R_RISCV_GPREL_I",
        ("RISC-V", elf::R_RISCV_GPREL_S) => "R_RISCV_GPREL_S",
        ("ARM", elf::R_ARM_TARGET1) => "R_ARM_TARGET1",
        ("ARM", elf::R_ARM_PREL31) => "R_ARM_PREL31",
        _ => return None,
    })
}

impl std::error::Error for AotBuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AotBuildError::Wasm(e) => Some(e),
            AotBuildError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<wasmparser::BinaryReaderError> for AotBuildError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        AotBuildError::Wasm(e)
    }
}

impl From<std::io::Error> for AotBuildError {
    fn from(e: std::io::Error) -> Self {
        AotBuildError::Io(e)
    }
}
