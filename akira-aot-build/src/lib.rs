#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

#[cfg(test)]
mod bounds_tests;
mod cgen;
mod error;
pub mod fuel;
mod link;
mod stack;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use error::AotBuildError;
pub use link::{LinkReport, RUNTIME_IMPORTS};
pub use stack::StackBoundMethod;

/// The freestanding headers and the runtime compiled into every blob.
const RT_FILES: [(&str, &str); 8] = [
    ("akira_rt.c", include_str!("../rt/akira_rt.c")),
    ("akira_bounds.h", include_str!("../rt/akira_bounds.h")),
    ("assert.h", include_str!("../rt/include/assert.h")),
    ("alloca.h", include_str!("../rt/include/alloca.h")),
    ("math.h", include_str!("../rt/include/math.h")),
    ("setjmp.h", include_str!("../rt/include/setjmp.h")),
    ("stdlib.h", include_str!("../rt/include/stdlib.h")),
    ("string.h", include_str!("../rt/include/string.h")),
];

/// The clang flags for Cortex-M4F code (Thumb-2, hard-float ABI).
///
/// `-munaligned-access`: clang assumes strict alignment for bare-metal
/// ARM, so each wasm load and store (a `memcpy` from a byte address) became
/// four byte accesses and three ORs. ARMv7-M does unaligned `LDR`/`STR`/
/// `LDRH`/`STRH` in hardware (as Rust's `thumbv7em` targets assume);
/// clang still keeps `LDRD`, `LDM` and `VLDR`, which fault on unaligned
/// addresses, to accesses it knows aligned. A device must leave
/// `CCR.UNALIGN_TRP` clear (its reset value).
pub const THUMBV7EM_FLAGS: [&str; 6] = [
    "--target=thumbv7em-none-eabihf",
    "-mcpu=cortex-m4",
    "-mfloat-abi=hard",
    "-mfpu=fpv4-sp-d16",
    "-mthumb",
    "-munaligned-access",
];

/// The clang flags for RISC-V RV32IMAC code (ilp32, soft float).
///
/// `-mcmodel=medany`: every reference inside the image is PC-relative
/// (`auipc` pairs), so the link resolves it at build time and only data
/// words holding addresses stay for the device. `-mno-relax`: the linker
/// never shrinks code, so the object's offsets are final.
/// `-msmall-data-limit=0`: no small-data sections, nothing reached through
/// `gp` (the firmware owns that register).
pub const RISCV32IMAC_FLAGS: [&str; 6] = [
    "--target=riscv32-unknown-elf",
    "-march=rv32imac",
    "-mabi=ilp32",
    "-mcmodel=medany",
    "-mno-relax",
    "-msmall-data-limit=0",
];

/// The instruction set a blob is compiled for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// Cortex-M4F/M7: Thumb-2, hard-float AAPCS ([`THUMBV7EM_FLAGS`]).
    #[default]
    Thumbv7em,
    /// RISC-V RV32IMAC, ilp32 ([`RISCV32IMAC_FLAGS`]).
    Riscv32imac,
}

impl Target {
    /// Every target, in the order `akira pack --aot` lists them.
    pub const ALL: [Target; 2] = [Target::Thumbv7em, Target::Riscv32imac];

    /// The name tools use for it (`thumbv7em`, `riscv32imac`).
    pub fn name(self) -> &'static str {
        match self {
            Target::Thumbv7em => "thumbv7em",
            Target::Riscv32imac => "riscv32imac",
        }
    }

    /// clang's flags for it.
    pub fn clang_flags(self) -> &'static [&'static str] {
        match self {
            Target::Thumbv7em => &THUMBV7EM_FLAGS,
            Target::Riscv32imac => &RISCV32IMAC_FLAGS,
        }
    }

    /// The blob's architecture byte.
    pub fn arch(self) -> akira_aot::format::Arch {
        match self {
            Target::Thumbv7em => akira_aot::format::Arch::ThumbV7em,
            Target::Riscv32imac => akira_aot::format::Arch::Riscv32imac,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Target {
    type Err = AotBuildError;

    fn from_str(s: &str) -> Result<Target, AotBuildError> {
        Target::ALL.into_iter().find(|t| t.name() == s).ok_or_else(|| AotBuildError::UnknownTarget(s.to_string()))
    }
}

/// How to compile. [`Options::default`] finds the tools on `PATH` (Debian:
/// `apt-get install wabt clang`) or in `AKIRA_WASM2C`, `AKIRA_CLANG` and
/// `AKIRA_WASM_RT_H`.
#[derive(Clone, Debug)]
pub struct Options {
    /// The `wasm2c` executable (wabt 1.0.32 or later).
    pub wasm2c: PathBuf,
    /// The `clang` executable (any with the ARM backend).
    pub clang: PathBuf,
    /// wabt's `wasm-rt.h`, the runtime interface wasm2c's output includes.
    pub wasm_rt_h: PathBuf,
    /// Optimisation flag for clang (`-Os` by default; `-O2` is faster and larger).
    pub opt_level: String,
    /// Nested wasm calls before a call traps (bounds the native stack).
    pub max_call_depth: u32,
    /// The instruction set to compile for ([`Target::Thumbv7em`] by default).
    pub target: Target,
}

impl Default for Options {
    fn default() -> Self {
        let env =
            |name: &str, default: &str| PathBuf::from(std::env::var(name).unwrap_or_else(|_| default.to_string()));
        Options {
            wasm2c: env("AKIRA_WASM2C", "wasm2c"),
            clang: env("AKIRA_CLANG", "clang"),
            wasm_rt_h: env("AKIRA_WASM_RT_H", "/usr/include/wasm-rt.h"),
            opt_level: "-Os".to_string(),
            max_call_depth: 64,
            target: Target::default(),
        }
    }
}

/// A compiled app.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The blob (`akira_aot::format`), for the package and the device.
    pub blob: Vec<u8>,
    /// Sizes and relocations.
    pub report: LinkReport,
    /// The native stack one call may use at most, in bytes (beyond what
    /// the device's switch to the host takes: `akira_aot::task::SWITCH_BYTES`).
    pub stack_bound: u32,
    /// How [`Compiled::stack_bound`] was found.
    pub stack_bound_method: StackBoundMethod,
    /// The largest stack frame of any compiled function, in bytes.
    pub max_frame: u32,
}

pub(crate) fn run_tool(mut cmd: Command) -> Result<(), AotBuildError> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let output = cmd.output().map_err(|e| AotBuildError::Tool { program: program.clone(), message: e.to_string() })?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr).into_owned();
        return Err(AotBuildError::Tool { program, message });
    }
    Ok(())
}

/// The C of the blob in `dir`: instruments `wasm`, translates it with
/// wasm2c, writes the runtime and `glue.c` (the translation unit to
/// compile, with [`runtime_defines`]).
fn translate(wasm: &[u8], options: &Options, dir: &Path) -> Result<(cgen::Interface, cgen::CNames), AotBuildError> {
    let fuel::Instrumented { wasm: instrumented, custom_pages, memory_bytes, memories } =
        fuel::instrument_for_wasm2c(wasm)?;
    if memories > 1 {
        return Err(AotBuildError::UnsupportedMemory("more than one memory"));
    }
    if memory_bytes.is_some_and(|b| b > 0x7fff_0000) || custom_pages.is_some_and(|p| p.maximum > u64::from(u32::MAX)) {
        return Err(AotBuildError::UnsupportedMemory("larger than 2 GiB"));
    }
    let iface = cgen::interface(&instrumented)?;
    cgen::wasm2c(&options.wasm2c, &instrumented, dir)?;
    let header = std::fs::read_to_string(dir.join("app.h"))?;
    let names = cgen::c_names(&header, &iface)?;
    for (name, text) in RT_FILES {
        std::fs::write(dir.join(name), text)?;
    }
    let wasm_rt_h = std::fs::read(&options.wasm_rt_h).map_err(|e| AotBuildError::Tool {
        program: options.wasm_rt_h.display().to_string(),
        message: e.to_string(),
    })?;
    std::fs::write(dir.join("wasm-rt.h"), wasm_rt_h)?;
    std::fs::write(dir.join("glue.c"), cgen::glue(&iface, &names, custom_pages, memory_bytes.unwrap_or(0)))?;
    Ok((iface, names))
}

/// The preprocessor settings of wasm2c's runtime: bounds checks in the
/// code (no guard pages), calls counted up to the depth bound.
fn runtime_defines(options: &Options) -> [String; 3] {
    [
        "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0".into(),
        "-DWASM_RT_USE_STACK_DEPTH_COUNT=1".into(),
        format!("-DWASM_RT_MAX_CALL_STACK_DEPTH={}", options.max_call_depth),
    ]
}

/// Compiles `wasm` for [`Options::target`] (Cortex-M4F by default, or
/// RISC-V RV32IMAC): instruments it
/// with fuel ([`fuel`]), translates it with wasm2c (bounds checks in the
/// code, no guard pages), compiles it with clang freestanding, and links it
/// into a blob.
pub fn compile(wasm: &[u8], options: &Options) -> Result<Compiled, AotBuildError> {
    let dir = tempfile::tempdir()?;
    let dir = dir.path();
    let (iface, names) = translate(wasm, options, dir)?;
    let mut cmd = Command::new(&options.clang);
    cmd.current_dir(dir)
        .args(options.target.clang_flags())
        .arg(&options.opt_level)
        .args(["-ffreestanding", "-nostdlibinc", "-I.", "-fno-common", "-fstack-usage", "-ffunction-sections"])
        .args(["-fno-unwind-tables", "-fno-asynchronous-unwind-tables", "-w"])
        .args(runtime_defines(options))
        .args(["-c", "glue.c", "-o", "glue.o"]);
    run_tool(cmd)?;
    let frames = stack::frames(&std::fs::read_to_string(dir.join("glue.su"))?)?;
    let object = std::fs::read(dir.join("glue.o"))?;
    let max_frame = frames.values().copied().max().unwrap_or(0);
    let (stack_bound, stack_bound_method) = stack_bound(wasm, dir, &object, &frames, max_frame, options)?;
    let (spec, report) =
        link::link(&object, options.target, &iface, &names.imports, stack_bound, options.max_call_depth)?;
    Ok(Compiled { blob: spec.to_bytes(), report, stack_bound, stack_bound_method, max_frame })
}

/// C frames beside the wasm functions' at the call-depth bound: the
/// entry, an export wrapper clang kept, the function whose prologue finds
/// the depth exhausted, a bulk-memory helper and `wasm_rt_trap` below it.
const FRAMES_BESIDE_WASM: u32 = 5;

/// The blob's stack bound and how it was found: the deepest path of
/// frames through the object's call graph ([`stack`]) when the module
/// cannot recurse and the graph, with every possible indirect call, has
/// no cycle; otherwise the `largest` frame times the number of C frames
/// the stack can hold at the call-depth bound (the bound plus
/// [`FRAMES_BESIDE_WASM`]).
fn stack_bound(
    wasm: &[u8],
    dir: &Path,
    object: &[u8],
    frames: &std::collections::BTreeMap<String, u32>,
    largest: u32,
    options: &Options,
) -> Result<(u32, StackBoundMethod), AotBuildError> {
    let fallback = |reason: String| {
        let bound = largest.saturating_mul(options.max_call_depth.saturating_add(FRAMES_BESIDE_WASM));
        Ok((bound, StackBoundMethod::LargestFrameTimesDepth(reason)))
    };
    let wasm_calls = stack::wasm_calls(wasm)?;
    if let Some(recursion) = wasm_calls.recursion {
        return fallback(recursion);
    }
    let graph = match link::call_graph(object, options.target) {
        Ok(graph) => graph,
        Err(reason) => return fallback(reason),
    };
    let mut sizes = Vec::with_capacity(graph.functions.len());
    for function in &graph.functions {
        match frames.get(&function.name) {
            Some(&bytes) => sizes.push(bytes),
            None => return fallback(format!("no stack usage for function {}", function.name)),
        }
    }
    // Who may call indirectly, from the C (inlining moves wasm2c's
    // `CALL_INDIRECT` into callers): a function the C does not define by
    // that name is taken to.
    let callers = if wasm_calls.indirect {
        let mut sources = Vec::new();
        for file in ["app.c", "akira_rt.c", "glue.c"] {
            sources.push(std::fs::read_to_string(dir.join(file))?);
        }
        let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
        match stack::indirect_callers(&sources) {
            Some(found) if !found.callers.is_empty() => Some(found),
            _ => return fallback("indirect calls not found where wasm2c 1.0.32 writes them".into()),
        }
    } else {
        None
    };
    let edges: Vec<Vec<u32>> = graph
        .functions
        .iter()
        .zip(&graph.calls)
        .map(|(function, calls)| {
            let mut callees = calls.clone();
            // An indirect call may reach any function whose address is
            // taken: a superset of the targets of the called type.
            if callers.as_ref().is_some_and(|c| c.may_call(&function.name)) {
                callees.extend(&graph.address_taken);
            }
            callees.into_iter().collect()
        })
        .collect();
    match stack::deepest_path(&edges, &sizes) {
        Some(bound) => Ok((bound, StackBoundMethod::CallGraph)),
        None => fallback(
            "a cycle through indirect calls (any function holding wasm code may call any function whose \
             address is taken)"
                .into(),
        ),
    }
}

/// `wasm` with `blob` appended as its [`akira_aot::format::SECTION_NAME`]
/// custom section, ready for `akira_ota::package::build`: the package's
/// hash chain and signature then cover the native code. A module that
/// already carries a blob is refused.
pub fn embed(wasm: &[u8], blob: &[u8]) -> Result<Vec<u8>, AotBuildError> {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all()).validate_all(wasm)?;
    match akira_aot::format::find_in_wasm(wasm) {
        Ok(None) => {}
        _ => return Err(AotBuildError::AlreadyCarriesBlob),
    }
    let mut out = wasm.to_vec();
    let section = wasm_encoder::CustomSection { name: akira_aot::format::SECTION_NAME.into(), data: blob.into() };
    out.push(wasm_encoder::Section::id(&section));
    wasm_encoder::Encode::encode(&section, &mut out);
    Ok(out)
}
