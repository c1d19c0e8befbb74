//! AkiraOS apps, unchanged: their `env` imports become shims over Akira
//! imports, their `main` becomes `akira_main`, their JSON manifest an
//! Akira manifest through a board profile (see `docs/abi.md`, "The AkiraOS
//! env ABI", generated from [`akira_abi::akiraos`]).

use std::collections::BTreeMap;
use std::fmt;

use akira_abi::akiraos::{self, Support};
use akira_caps::scope::{DisplayScope, GpioScope, I2cScope, StorageScope};
use akira_caps::{CapabilitySet, Manifest};
use wasm_encoder::ValType;
use wasmparser::{Operator, Parser, Payload, TypeRef};

use crate::{BuildError, MemoryReport, shrink_memory};

mod profile;
mod rewrite;
mod shims;

pub use profile::Profile;
use rewrite::{AppFacts, plain, rewrite};
use shims::{Need, Spec, State};

/// The custom section AkiraOS keeps its JSON manifest in.
pub const AKIRAOS_MANIFEST: &str = ".akira.manifest";
/// What [`ORIGIN_SECTION`](crate::ORIGIN_SECTION) says of a translated app.
pub const AKIRAOS_ORIGIN: &str = "AkiraOS env";

/// Why an AkiraOS app could not be translated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TranslateError {
    /// The module could not be read or rewritten.
    Build(BuildError),
    /// It imports an `env` function Akira does not translate.
    Import {
        /// The import's name.
        name: String,
        /// Why (missing, refused, unknown, or a wrong signature).
        why: String,
    },
    /// It has no `main` (or `_start`) to run.
    NoMain,
    /// Its `.akira.manifest` is missing or not AkiraOS's JSON.
    Manifest(String),
    /// A capability name this board cannot translate.
    Capability(String),
    /// A wildcard capability on a board whose profile does not allow them.
    Wildcard {
        /// The capability (`gpio.*`).
        capability: String,
        /// The board profile's name.
        board: String,
    },
    /// The board profile is malformed.
    Profile(String),
    /// A shim needs the app's shadow stack and the app has none.
    NoStack(String),
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranslateError::Build(e) => e.fmt(f),
            TranslateError::Import { name, why } => write!(f, "import `env.{name}`: {why}"),
            TranslateError::NoMain => f.write_str("the app exports no `main` or `_start` function"),
            TranslateError::Manifest(m) => write!(f, "AkiraOS manifest: {m}"),
            TranslateError::Capability(c) => {
                write!(f, "AkiraOS capability `{c}` has no Akira translation (see docs/abi.md)")
            }
            TranslateError::Wildcard { capability, board } => {
                write!(f, "capability `{capability}`: the board profile `{board}` does not allow wildcards")
            }
            TranslateError::Profile(m) => write!(f, "board profile: {m}"),
            TranslateError::NoStack(name) => {
                write!(f, "import `env.{name}` needs the app's shadow stack (`__stack_pointer`), which it lacks")
            }
        }
    }
}

impl std::error::Error for TranslateError {}

impl From<BuildError> for TranslateError {
    fn from(e: BuildError) -> Self {
        TranslateError::Build(e)
    }
}

impl From<wasmparser::BinaryReaderError> for TranslateError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        TranslateError::Build(e.into())
    }
}

/// An AkiraOS app made into an Akira app.
#[derive(Clone, Debug)]
pub struct Translated {
    /// The module: shims in, `akira_main` exported, memory shrunk; the
    /// manifest is not embedded yet (`embed_manifest`).
    pub wasm: Vec<u8>,
    /// The Akira manifest, from the JSON one and the board profile.
    pub manifest: Manifest,
    /// What the memory rewrite did.
    pub memory: MemoryReport,
    /// The `env` imports replaced by shims.
    pub shims: Vec<String>,
}

/// Whether `wasm` imports from module `env` (an AkiraOS app).
///
/// # Errors
///
/// [`BuildError::Malformed`] if the module cannot be read.
pub fn is_akiraos(wasm: &[u8]) -> Result<bool, BuildError> {
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::ImportSection(reader) = payload? {
            for import in reader {
                if import?.module == "env" {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// What one pass over the app learns.
#[derive(Default)]
struct Facts {
    types: Vec<(Vec<wasmparser::ValType>, Vec<wasmparser::ValType>)>,
    /// Function imports: (module, name, type index).
    func_imports: Vec<(String, String, u32)>,
    globals: u32,
    stack_pointer: Option<u32>,
    defined_funcs: u32,
    /// Exported functions by name.
    exports: BTreeMap<String, u32>,
    /// Type index of each function (imports first).
    func_types: Vec<u32>,
    json: Option<Vec<u8>>,
    page_log2: u32,
}

fn gather(wasm: &[u8]) -> Result<Facts, TranslateError> {
    let mut f = Facts { page_log2: 16, ..Facts::default() };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty?;
                    f.types.push((ty.params().to_vec(), ty.results().to_vec()));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import?;
                    match import.ty {
                        TypeRef::Func(t) => {
                            f.func_imports.push((import.module.into(), import.name.into(), t));
                            f.func_types.push(t);
                        }
                        TypeRef::Global(_) => f.globals += 1,
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    f.func_types.push(t?);
                    f.defined_funcs += 1;
                }
            }
            Payload::MemorySection(reader) => {
                if let Some(m) = reader.into_iter().next() {
                    f.page_log2 = m?.page_size_log2.unwrap_or(16);
                }
            }
            Payload::GlobalSection(reader) => {
                for g in reader {
                    let g = g?;
                    let mut ops = g.init_expr.get_operators_reader();
                    let plain = matches!(ops.read()?, Operator::I32Const { .. });
                    if f.stack_pointer.is_none()
                        && plain
                        && g.ty.mutable
                        && g.ty.content_type == wasmparser::ValType::I32
                    {
                        f.stack_pointer = Some(f.globals);
                    }
                    f.globals += 1;
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e?;
                    if e.kind == wasmparser::ExternalKind::Func {
                        f.exports.insert(e.name.into(), e.index);
                    }
                }
            }
            Payload::CustomSection(s) if s.name() == AKIRAOS_MANIFEST => f.json = Some(s.data().to_vec()),
            _ => {}
        }
    }
    Ok(f)
}

fn val(t: akira_abi::ValType) -> ValType {
    match t {
        akira_abi::ValType::I32 => ValType::I32,
        akira_abi::ValType::I64 => ValType::I64,
        akira_abi::ValType::F32 => ValType::F32,
        akira_abi::ValType::F64 => ValType::F64,
    }
}

/// The wasm type of an Akira (or WASI) import.
fn import_type(module: &str, name: &str) -> (Vec<ValType>, Vec<ValType>) {
    let m = if module == akira_abi::WASI.import { Some(&akira_abi::WASI) } else { akira_abi::module(module) };
    let f = m.and_then(|m| m.function(name)).unwrap_or_else(|| panic!("shims use {module}.{name}, not in the ABI"));
    (f.wasm_params().map(val).collect(), f.result.wasm().iter().map(|t| val(*t)).collect())
}

/// Grants what the shims call into: with an empty scope where the app's
/// manifest grants nothing of it (its calls are then denied, counted, and
/// answered `-EPERM`, as AkiraOS answers a call without its capability).
fn grant_needs<'a>(caps: &mut CapabilitySet, needs: impl Iterator<Item = &'a Need>) {
    for need in needs {
        match need {
            Need::Log => caps.log = true,
            Need::Timer => caps.timer = true,
            Need::Sys => caps.sys = true,
            Need::Gpio => {
                caps.gpio.get_or_insert_with(GpioScope::default);
            }
            Need::Display => {
                caps.display.get_or_insert(DisplayScope { x: 0, y: 0, width: 0, height: 0 });
            }
            Need::Storage => {
                caps.storage.get_or_insert(StorageScope::with_quota(0));
            }
            Need::Files => {
                caps.storage.get_or_insert(StorageScope::with_quota(0));
                caps.wasi.get_or_insert_with(|| profile::wasi_parts(&[]));
            }
            Need::Clock => {
                caps.wasi.get_or_insert_with(|| profile::wasi_parts(&[]));
            }
            Need::Uart => {
                caps.uart.get_or_insert_with(Default::default);
            }
            Need::I2c => {
                caps.i2c.get_or_insert_with(I2cScope::default);
            }
            Need::Pwm => {
                caps.pwm.get_or_insert_with(Default::default);
            }
            Need::Adc => {
                caps.adc.get_or_insert_with(Default::default);
            }
            Need::Sensor => {
                caps.sensor.get_or_insert_with(Default::default);
            }
            Need::Rf => {
                caps.rf.get_or_insert_with(Default::default);
            }
            Need::Rng => caps.rng = true,
            Need::Hid => {
                caps.hid.get_or_insert_with(Default::default);
            }
            Need::Ble => {
                caps.ble.get_or_insert_with(Default::default);
            }
            Need::Ipc => {
                caps.ipc.get_or_insert_with(Default::default);
            }
            Need::App => {
                caps.app.get_or_insert_with(Default::default);
            }
        }
    }
}

/// Translates an AkiraOS app (its `.wasm` as AkiraOS's SDK builds it)
/// into an Akira app for the board `profile` describes.
///
/// # Errors
///
/// A [`TranslateError`] naming the import, capability or section that
/// stops it.
pub fn translate(wasm: &[u8], profile: &Profile) -> Result<Translated, TranslateError> {
    let before = gather(wasm)?;
    // Which shims, and what they need.
    let mut specs: Vec<(String, Spec)> = Vec::new();
    for (module, name, ty) in &before.func_imports {
        if module != "env" {
            continue;
        }
        let Some(entry) = akiraos::import(name) else {
            return Err(TranslateError::Import {
                name: name.clone(),
                why: "not an import of the AkiraOS SDK this build knows".into(),
            });
        };
        let refuse = |why: &str| TranslateError::Import { name: name.clone(), why: why.into() };
        match entry.support {
            Support::Missing(why) => return Err(refuse(&format!("missing in Akira: {why}"))),
            Support::Refused(why) => return Err(refuse(&format!("refused by design: {why}"))),
            Support::Shim(_) | Support::Partly(_) => {}
        }
        let (params, results) = &before.types[*ty as usize];
        let got: Vec<ValType> = params.iter().map(|t| plain(*t)).collect();
        let got_results: Vec<ValType> = results.iter().map(|t| plain(*t)).collect();
        let sdk = |sig| {
            let want: Vec<_> = akiraos::params(sig).map(val).collect();
            let want_results: Vec<_> = akiraos::results(sig).map(val).collect();
            got == want && got_results == want_results
        };
        if !entry.signatures().any(sdk) {
            return Err(refuse("its signature is not the AkiraOS SDK's"));
        }
        let spec = shims::shim(name).ok_or_else(|| refuse("translated in the table but without a shim (a bug)"))?;
        if spec.scratch && before.stack_pointer.is_none() {
            return Err(TranslateError::NoStack(name.clone()));
        }
        specs.push((name.clone(), spec));
    }
    let json = before.json.as_deref().ok_or_else(|| {
        TranslateError::Manifest(format!("the app has no `{AKIRAOS_MANIFEST}` custom section (its JSON manifest)"))
    })?;
    let mut needs = CapabilitySet::default();
    for (_, spec) in &specs {
        grant_needs(&mut needs, spec.capabilities());
    }
    let mut manifest = profile::manifest(json, profile, &needs)?;
    // WASI only where a shim uses its files or clocks (`settings.*` is
    // the key-value store itself, without WASI).
    if !specs.iter().any(|(_, s)| s.needs.iter().any(|n| matches!(n, Need::Files | Need::Clock))) {
        manifest.capabilities.wasi = None;
    }
    // Memory first: the shims bound their scans by its final size.
    let (shrunk, memory) = shrink_memory(wasm, manifest.heap_size)?;
    let facts = gather(&shrunk)?;
    let caps = &manifest.capabilities;
    let app = AppFacts {
        // The allocator's heap starts past what the app lays out itself.
        heap_start: u32::try_from(memory.static_bytes).unwrap_or(u32::MAX),
        topics: caps.ipc.iter().flat_map(|i| i.subscribe.iter().map(|t| t.to_string())).collect(),
        apps: caps.app.iter().flat_map(|a| a.apps.iter().map(|a| a.to_string())).collect(),
    };
    if let Some((name, _)) = specs.iter().find(|(_, s)| s.states.contains(&State::Heap))
        && memory.static_bytes == 0
    {
        let why = memory.reason.clone().unwrap_or_default();
        return Err(TranslateError::Import {
            name: name.clone(),
            why: format!("the allocator needs the app's memory layout, which could not be read: {why}"),
        });
    }
    let out = rewrite(&shrunk, &facts, &specs, profile, app)?;
    // After the rewrite, so the shims are covered too.
    let (out, _) = crate::fix_select_conditions(&out)?;
    Ok(Translated { wasm: out, manifest, memory, shims: specs.into_iter().map(|(n, _)| n).collect() })
}

#[cfg(test)]
mod tests;
