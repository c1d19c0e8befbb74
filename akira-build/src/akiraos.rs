//! AkiraOS apps, unchanged: their `env` imports become shims over Akira
//! imports, their `main` becomes `akira_main`, their JSON manifest an
//! Akira manifest through a board profile (see `docs/abi.md`, "The AkiraOS
//! env ABI", generated from [`akira_abi::akiraos`]).

use std::collections::BTreeMap;
use std::fmt;

use akira_abi::akiraos::{self, Support};
use akira_caps::scope::{DisplayScope, GpioScope, I2cScope, StorageScope};
use akira_caps::{CapabilitySet, Manifest};
use wasm_encoder::reencode::{Error as ReencodeError, Reencode, utils};
use wasm_encoder::{ConstExpr, ExportKind, Function, GlobalType, Instruction as I, ValType};
use wasmparser::{Operator, Parser, Payload, TypeRef};

use crate::{BuildError, MemoryReport, ORIGIN_SECTION, shrink_memory};

mod profile;
mod shims;

pub use profile::Profile;
use shims::{Cx, Gen, Helper, Need, Spec, State};

/// The custom section AkiraOS keeps its JSON manifest in.
pub const AKIRAOS_MANIFEST: &str = ".akira.manifest";
/// What [`ORIGIN_SECTION`] says of a translated app.
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

/// A number type as wasm-encoder writes it (any other type compares as a
/// mismatch: AkiraOS imports take numbers only).
fn plain(t: wasmparser::ValType) -> ValType {
    match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        _ => ValType::V128,
    }
}

/// What the shims know of the app beyond its module.
struct AppFacts {
    /// Where its heap starts (for the allocator).
    heap_start: u32,
    /// The IPC topics it is granted, in its grant's order (publish and
    /// subscribe list the same).
    topics: Vec<String>,
    /// The apps it may control, in its grant's order.
    apps: Vec<String>,
}

/// Where everything lands in the rewritten module.
struct Layout<'a> {
    facts: &'a Facts,
    profile: &'a Profile,
    /// Old function index of each env import -> shim number.
    shim_of: BTreeMap<u32, u32>,
    /// Old function index of each kept import -> new index.
    kept: BTreeMap<u32, u32>,
    /// Akira imports: (module, name) -> new index.
    akira: BTreeMap<(String, String), u32>,
    helpers: BTreeMap<Helper, u32>,
    /// New function count before the shims: imports and old defined.
    imports: u32,
    shims: u32,
    wrapper: u32,
    /// The first global of each state the shims keep.
    states: BTreeMap<State, u32>,
    /// What the shims need to know of the app beyond its module.
    app: AppFacts,
    /// Type indices of the new akira imports, helpers and wrapper, in
    /// append order, with their types.
    new_types: Vec<(Vec<ValType>, Vec<ValType>)>,
}

impl Layout<'_> {
    fn map(&self, old: u32) -> u32 {
        let n_imports = self.facts.func_imports.len() as u32;
        if old < n_imports {
            match self.shim_of.get(&old) {
                Some(s) => self.imports + self.facts.defined_funcs + s,
                None => self.kept[&old],
            }
        } else {
            self.imports + (old - n_imports)
        }
    }
}

impl Cx for Layout<'_> {
    fn import(&self, module: &str, name: &str) -> u32 {
        self.akira[&(module.to_string(), name.to_string())]
    }
    fn helper(&self, h: Helper) -> u32 {
        self.helpers[&h]
    }
    fn stack_pointer(&self) -> u32 {
        self.facts.stack_pointer.unwrap_or(0)
    }
    fn state(&self, state: State) -> u32 {
        self.states[&state]
    }
    fn buttons(&self) -> Vec<(u32, u32)> {
        self.profile.buttons().collect()
    }
    fn sensors(&self) -> Vec<(u32, u32)> {
        // Checked when the profile was read.
        self.profile.sensors().unwrap_or_default()
    }
    fn radio(&self) -> profile::Radio {
        self.profile.rf.clone().unwrap_or(profile::Radio::NONE)
    }
    fn uart_port(&self, n: u32) -> Option<u32> {
        self.profile.uart.ports.get(n as usize).copied()
    }
    fn topics(&self) -> Vec<String> {
        self.app.topics.clone()
    }
    fn apps(&self) -> Vec<String> {
        self.app.apps.clone()
    }
    fn heap_start(&self) -> u32 {
        self.app.heap_start
    }
    fn page_log2(&self) -> u32 {
        self.facts.page_log2
    }
}

fn rewrite(
    wasm: &[u8],
    facts: &Facts,
    specs: &[(String, Spec)],
    profile: &Profile,
    app: AppFacts,
) -> Result<Vec<u8>, TranslateError> {
    let mut layout = Layout {
        facts,
        profile,
        shim_of: BTreeMap::new(),
        kept: BTreeMap::new(),
        akira: BTreeMap::new(),
        helpers: BTreeMap::new(),
        imports: 0,
        shims: specs.len() as u32,
        wrapper: 0,
        states: BTreeMap::new(),
        new_types: Vec::new(),
        app,
    };
    let mut next = 0;
    for (old, (module, _, _)) in facts.func_imports.iter().enumerate() {
        if module != "env" {
            layout.kept.insert(old as u32, next);
            next += 1;
        }
    }
    for (s, (name, spec)) in specs.iter().enumerate() {
        let old = facts.func_imports.iter().position(|(m, n, _)| m == "env" && n == name).unwrap_or(0);
        layout.shim_of.insert(old as u32, s as u32);
        for (m, f) in spec.imports() {
            if let std::collections::btree_map::Entry::Vacant(slot) = layout.akira.entry((m.to_string(), f.to_string()))
            {
                slot.insert(next);
                next += 1;
            }
        }
    }
    // Akira imports come in index order; their types are appended.
    let mut akira: Vec<_> = layout.akira.iter().map(|(k, v)| (*v, k.clone())).collect();
    akira.sort();
    for (_, (m, f)) in &akira {
        layout.new_types.push(import_type(m, f));
    }
    layout.imports = next;
    let mut helpers: Vec<Helper> = specs.iter().flat_map(|(_, s)| s.helpers.iter().copied()).collect();
    helpers.sort();
    helpers.dedup();
    let first_helper = layout.imports + facts.defined_funcs + layout.shims;
    for (i, h) in helpers.iter().enumerate() {
        layout.helpers.insert(*h, first_helper + i as u32);
        let (p, r) = shims::helper_type(*h);
        layout.new_types.push((p.to_vec(), r.to_vec()));
    }
    layout.wrapper = first_helper + helpers.len() as u32;
    layout.new_types.push((Vec::new(), vec![ValType::I32]));
    let mut added = facts.globals;
    for state in specs.iter().flat_map(|(_, s)| s.states.iter().copied()) {
        if let std::collections::btree_map::Entry::Vacant(slot) = layout.states.entry(state) {
            slot.insert(added);
            added += state.globals().len() as u32;
        }
    }
    let main = wrapper_body(facts, &layout)?;
    let pins: Vec<(u32, u32)> =
        profile.gpio.pins.iter().filter_map(|(raw, pin)| Some((raw.parse().ok()?, *pin))).collect();
    let mut bodies = Vec::new();
    for (name, spec) in specs {
        let ty = facts.func_imports.iter().find(|(m, n, _)| m == "env" && n == name).map_or(0, |i| i.2);
        let mut g = Gen::new(facts.types[ty as usize].0.len() as u32, &layout);
        spec.body(&mut g);
        g.ins.push(I::End);
        bodies.push((g.locals, g.ins));
    }
    for h in &helpers {
        bodies.push(shims::helper_body(*h, facts.page_log2, &pins));
    }
    bodies.push((Vec::new(), main));
    let old_types = facts.types.len() as u32;
    let shim_types: Vec<u32> = specs
        .iter()
        .map(|(name, _)| facts.func_imports.iter().find(|(m, n, _)| m == "env" && n == name).map_or(0, |i| i.2))
        .collect();
    let mut rw = Rewriter { layout: &layout, akira, helpers, old_types, shim_types, bodies, error: None };
    let mut module = wasm_encoder::Module::new();
    rw.parse_core_module(&mut module, Parser::new(0), wasm).map_err(|e| match e {
        ReencodeError::UserError(e) => e,
        other => TranslateError::Build(BuildError::Encode(other.to_string())),
    })?;
    if let Some(e) = rw.error {
        return Err(e);
    }
    module
        .section(&wasm_encoder::CustomSection { name: ORIGIN_SECTION.into(), data: AKIRAOS_ORIGIN.as_bytes().into() });
    let out = module.finish();
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&out)
        .map_err(|e| TranslateError::Build(BuildError::Encode(format!("the translated module is invalid: {e}"))))?;
    Ok(out)
}

/// `akira_main`: calls `main(0, 0)`, `main()` or `_start` and returns its
/// code (0 for none).
fn wrapper_body(facts: &Facts, layout: &Layout<'_>) -> Result<Vec<I<'static>>, TranslateError> {
    let (entry, name) = match (facts.exports.get("main"), facts.exports.get("_start")) {
        (Some(f), _) => (*f, "main"),
        (None, Some(f)) => (*f, "_start"),
        _ => return Err(TranslateError::NoMain),
    };
    let (params, results) = &facts.types[facts.func_types[entry as usize] as usize];
    let mut ins = Vec::new();
    if !params.iter().all(|t| *t == wasmparser::ValType::I32) || params.len() > 2 || results.len() > 1 {
        return Err(TranslateError::Manifest(format!("`{name}` has a signature AkiraOS does not use")));
    }
    for _ in params {
        ins.push(I::I32Const(0));
    }
    ins.push(I::Call(layout.map(entry)));
    match results.first() {
        Some(wasmparser::ValType::I32) => {}
        Some(_) => return Err(TranslateError::Manifest(format!("`{name}` returns something else than an int"))),
        None => ins.push(I::I32Const(0)),
    }
    ins.push(I::End);
    Ok(ins)
}

struct Rewriter<'a> {
    layout: &'a Layout<'a>,
    akira: Vec<(u32, (String, String))>,
    helpers: Vec<Helper>,
    old_types: u32,
    shim_types: Vec<u32>,
    bodies: Vec<(Vec<ValType>, Vec<I<'static>>)>,
    error: Option<TranslateError>,
}

impl Reencode for Rewriter<'_> {
    type Error = TranslateError;

    fn function_index(&mut self, func: u32) -> u32 {
        self.layout.map(func)
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        utils::parse_type_section(self, types, section)?;
        for (p, r) in &self.layout.new_types {
            types.ty().function(p.iter().copied(), r.iter().copied());
        }
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        for import in section {
            let import = import?;
            if import.module == "env" && matches!(import.ty, TypeRef::Func(_)) {
                continue;
            }
            if import.module == "env" {
                self.error = Some(TranslateError::Import {
                    name: import.name.into(),
                    why: "AkiraOS apps import functions only".into(),
                });
            }
            self.parse_import(imports, import)?;
        }
        for (i, (_, (m, f))) in self.akira.iter().enumerate() {
            imports.import(m, f, wasm_encoder::EntityType::Function(self.old_types + i as u32));
        }
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        utils::parse_function_section(self, functions, section)?;
        for t in &self.shim_types {
            functions.function(*t);
        }
        let first = self.old_types + self.akira.len() as u32;
        for i in 0..=self.helpers.len() as u32 {
            functions.function(first + i);
        }
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        utils::parse_global_section(self, globals, section)?;
        // In the order `rewrite` numbered them.
        let mut states: Vec<_> = self.layout.states.iter().map(|(state, at)| (*at, *state)).collect();
        states.sort();
        for (_, state) in states {
            for (val_type, init) in state.globals() {
                let init = match val_type {
                    ValType::I64 => ConstExpr::i64_const(init),
                    _ => ConstExpr::i32_const(init as i32),
                };
                globals.global(GlobalType { val_type, mutable: true, shared: false }, &init);
            }
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        utils::parse_export_section(self, exports, section)?;
        exports.export(crate::ENTRY_POINT, ExportKind::Func, self.layout.wrapper);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        utils::parse_code_section(self, code, section)?;
        for (locals, body) in &self.bodies {
            let mut f = Function::new(locals.iter().map(|t| (1, *t)));
            for i in body {
                f.instruction(i);
            }
            code.function(&f);
        }
        Ok(())
    }

    /// Function names would point at the wrong functions: the name
    /// section is dropped; other custom sections are copied.
    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        if section.name() != "name" {
            module.section(&self.custom_section(section));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_translated_import_has_a_shim_and_no_other_does() {
        for i in akiraos::IMPORTS {
            assert_eq!(shims::shim(i.name).is_some(), i.support.translated(), "{}", i.name);
        }
    }

    #[test]
    fn every_shim_uses_only_abi_functions() {
        for i in akiraos::IMPORTS.iter().filter(|i| i.support.translated()) {
            for (m, f) in shims::shim(i.name).iter().flat_map(|s| s.imports()) {
                let _ = import_type(m, f);
            }
        }
    }

    /// Reads of inputs and clocks yield first, and the table says so.
    #[test]
    fn polling_shims_yield_and_the_table_says_which() {
        let polling: Vec<&str> =
            akiraos::IMPORTS.iter().filter(|i| shims::shim(i.name).is_some_and(|s| s.polls)).map(|i| i.name).collect();
        assert_eq!(
            polling,
            [
                "gpio_read",
                "sensor_read",
                "msg_try_recv",
                "msg_pending",
                "rf_get_rssi",
                "timer_elapsed",
                "uart_read",
                "i2c_read_reg",
                "adc_read",
                "adc_read_mv",
                "input_get_buttons",
                "input_poll_event",
                "ble_scan_pop",
                "rf_recv_pop"
            ]
        );
        for i in akiraos::IMPORTS {
            let says = matches!(i.support, Support::Shim(d) | Support::Partly(d) if d.contains("yield_now"));
            assert_eq!(says, polling.contains(&i.name), "{}: the table's text", i.name);
        }
        for name in polling {
            let spec = shims::shim(name).unwrap();
            assert!(spec.imports().any(|i| *i == shims::YIELD), "{name}");
            assert!(spec.capabilities().any(|n| *n == Need::Sys), "{name}");
        }
    }

    #[test]
    fn sensor_maps_with_bad_numbers_are_refused() {
        let profile = |sensor: &str| Profile::from_toml(&format!("[board]\nname = \"b\"\n[sensor]\n{sensor}"));
        assert!(profile("channels = { 13 = 0 }").is_ok());
        for bad in ["channels = { temp = 0 }", "channels = { 13 = 32 }"] {
            let e = profile(bad).unwrap_err().to_string();
            assert!(e.contains("sensor.channels"), "{bad}: {e}");
        }
    }

    #[test]
    fn profile_app_and_topic_names_are_checked() {
        let profile = |t: &str| Profile::from_toml(&format!("[board]\nname = \"b\"\n{t}"));
        assert!(profile("[ipc]\nnames = [\"ping\"]\n[app]\nnames = [\"blinky\"]").is_ok());
        let nine = "[ipc]\nnames = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\"]";
        for bad in ["[ipc]\nnames = [\"\"]", "[app]\nnames = [\"Not An App\"]", nine] {
            let e = profile(bad).unwrap_err().to_string();
            assert!(e.contains(".names: "), "{bad}: {e}");
        }
    }

    #[test]
    fn the_simulator_profile_reads() {
        let p = Profile::simulator();
        assert_eq!(p.pin(2), Some(2));
        assert_eq!(p.buttons().collect::<Vec<_>>(), [(6, 0), (7, 1)]);
    }
}
