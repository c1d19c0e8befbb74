//! The rewrite of an AkiraOS module: its `env` imports replaced by the
//! shims, the Akira imports and helpers they call added, and `main`
//! wrapped as `akira_main`.

use std::collections::BTreeMap;

use wasm_encoder::reencode::{Error as ReencodeError, Reencode, utils};
use wasm_encoder::{ConstExpr, ExportKind, Function, GlobalType, Instruction as I, ValType};
use wasmparser::{Parser, TypeRef};

use super::shims::{self, Cx, Gen, Helper, Spec, State};
use super::{AKIRAOS_ORIGIN, Facts, Profile, TranslateError, import_type, profile};
use crate::{BuildError, ORIGIN_SECTION};

/// A number type as wasm-encoder writes it (any other type compares as a
/// mismatch: AkiraOS imports take numbers only).
pub(super) fn plain(t: wasmparser::ValType) -> ValType {
    match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        _ => ValType::V128,
    }
}

/// What the shims know of the app beyond its module.
pub(super) struct AppFacts {
    /// Where its heap starts (for the allocator).
    pub(super) heap_start: u32,
    /// The IPC topics it is granted, in its grant's order (publish and
    /// subscribe list the same).
    pub(super) topics: Vec<String>,
    /// The apps it may control, in its grant's order.
    pub(super) apps: Vec<String>,
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

pub(super) fn rewrite(
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
