//! Fuel instrumentation: a counter the compiled code decrements at every
//! function entry and loop head, calling out to the device when it goes
//! below zero.
//!
//! The counter is a new mutable `i32` global, exported as [`FUEL_EXPORT`]
//! so that the generated glue can set it before a call and read it after.
//! A check is
//!
//! ```wat
//! global.get $fuel  i32.const 1  i32.sub  global.set $fuel
//! global.get $fuel  i32.const 0  i32.lt_s  if  call $out_of_fuel  end
//! ```
//!
//! where `$out_of_fuel` is a new function import, [`OUT_OF_FUEL_IMPORT`]
//! (the module's own functions move up one index). The generated glue
//! binds it to the device's `akira_aot_out_of_fuel`, with the counter's
//! address, which either ends the call (a compute call: the fuel ran out,
//! a trap) or, for a whole app running as a task, ends the app's time
//! slice, and gives the counter the next slice's fuel when the app runs
//! again. So a module given `n`
//! units of fuel makes at most `n` calls and loop iterations before the
//! device decides.

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    BlockType, ConstExpr, EntityType, ExportKind, ExportSection, Function, GlobalSection, GlobalType, ImportSection,
    Instruction, Module, SectionId, TypeSection, ValType,
};
use wasmparser::{Operator, Parser, Payload};

use crate::AotBuildError;

/// The export name of the fuel counter the instrumentation adds.
pub const FUEL_EXPORT: &str = "akira_fuel";

/// The function import (module, name) a check calls when the counter goes
/// below zero: `() -> ()`; on return the counter holds the fuel to go on
/// with. A module may not import anything else from this module name.
pub const OUT_OF_FUEL_IMPORT: (&str, &str) = ("akira_aot", "out_of_fuel");

/// Where a section sits in a module, by wasm's section order (tags sit
/// between memories and globals, data count between elements and code).
fn rank(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

/// A memory declared with a custom page size (Akira apps' one-byte pages),
/// which wasm2c 1.0.32 does not read: the instrumented module declares it
/// in 64 KiB pages, and the runtime sizes it to the exact bytes (bounds
/// checks against them) and reports `memory.size` in the original unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CustomPages {
    /// Bytes of memory (initial size).
    pub bytes: u64,
    /// Initial size in the module's own pages.
    pub initial: u64,
    /// Maximum size in the module's own pages.
    pub maximum: u64,
}

/// What wasm2c and the glue need besides the instrumented module.
pub(crate) struct Instrumented {
    /// The module with its fuel counter and checks.
    pub wasm: Vec<u8>,
    /// The memory's custom page size, if it has one.
    pub custom_pages: Option<CustomPages>,
    /// The bytes of the module's memory (its initial size, which it keeps:
    /// phase 1 does not grow memories), if it has one.
    pub memory_bytes: Option<u64>,
    /// How many memories the module defines.
    pub memories: u32,
}

struct Instrument {
    fuel_global: u32,
    /// The module's function imports: the out-of-fuel import comes after
    /// them, the module's own functions one index up.
    imported_functions: u32,
    /// The type index of `() -> ()`, appended to the type section.
    out_of_fuel_type: u32,
    types_written: bool,
    imports_written: bool,
    globals_written: bool,
    exports_written: bool,
    custom_pages: Option<CustomPages>,
    memory_bytes: Option<u64>,
    memories: u32,
}

impl Instrument {
    fn fuel_global_entry(globals: &mut GlobalSection) {
        let ty = GlobalType { val_type: ValType::I32, mutable: true, shared: false };
        globals.global(ty, &ConstExpr::i32_const(0));
    }

    fn out_of_fuel_import(&self, imports: &mut ImportSection) {
        let (module, name) = OUT_OF_FUEL_IMPORT;
        imports.import(module, name, EntityType::Function(self.out_of_fuel_type));
    }

    fn check(&self, f: &mut Function) {
        let g = self.fuel_global;
        f.instruction(&Instruction::GlobalGet(g))
            .instruction(&Instruction::I32Const(1))
            .instruction(&Instruction::I32Sub)
            .instruction(&Instruction::GlobalSet(g))
            .instruction(&Instruction::GlobalGet(g))
            .instruction(&Instruction::I32Const(0))
            .instruction(&Instruction::I32LtS)
            .instruction(&Instruction::If(BlockType::Empty))
            .instruction(&Instruction::Call(self.imported_functions))
            .instruction(&Instruction::End);
    }
}

impl Reencode for Instrument {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, func: u32) -> u32 {
        if func < self.imported_functions { func } else { func + 1 }
    }

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_type_section(self, types, section)?;
        types.ty().function([], []);
        self.types_written = true;
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_import_section(self, imports, section)?;
        self.out_of_fuel_import(imports);
        self.imports_written = true;
        Ok(())
    }

    fn memory_type(&mut self, ty: wasmparser::MemoryType) -> wasm_encoder::MemoryType {
        self.memories += 1;
        let mut out = reencode::utils::memory_type(self, ty);
        let log2 = ty.page_size_log2.unwrap_or(16);
        self.memory_bytes = Some(ty.initial.checked_shl(log2).filter(|b| b >> log2 == ty.initial).unwrap_or(u64::MAX));
        if let Some(log2) = ty.page_size_log2.filter(|&l| l != 16) {
            let bytes = ty.initial << log2;
            let maximum = ty.maximum.unwrap_or(ty.initial);
            self.custom_pages = Some(CustomPages { bytes, initial: ty.initial, maximum });
            let pages = bytes.div_ceil(65_536);
            out.minimum = pages;
            out.maximum = Some(pages);
            out.page_size_log2 = None;
        }
        out
    }

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        Self::fuel_global_entry(globals);
        self.globals_written = true;
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        reencode::utils::parse_export_section(self, exports, section)?;
        exports.export(FUEL_EXPORT, ExportKind::Global, self.fuel_global);
        self.exports_written = true;
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let next = match before {
            Some(SectionId::Custom) => return Ok(()),
            Some(id) => rank(id),
            None => u8::MAX,
        };
        if !self.types_written && next > rank(SectionId::Type) {
            let mut types = TypeSection::new();
            types.ty().function([], []);
            module.section(&types);
            self.types_written = true;
        }
        if !self.imports_written && next > rank(SectionId::Import) {
            let mut imports = ImportSection::new();
            self.out_of_fuel_import(&mut imports);
            module.section(&imports);
            self.imports_written = true;
        }
        if !self.globals_written && next > rank(SectionId::Global) {
            let mut globals = GlobalSection::new();
            Self::fuel_global_entry(&mut globals);
            module.section(&globals);
            self.globals_written = true;
        }
        if !self.exports_written && next > rank(SectionId::Export) {
            let mut exports = ExportSection::new();
            exports.export(FUEL_EXPORT, ExportKind::Global, self.fuel_global);
            module.section(&exports);
            self.exports_written = true;
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        let mut f = self.new_function_with_parsed_locals(&func)?;
        self.check(&mut f);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            let is_loop = matches!(op, Operator::Loop { .. });
            f.instruction(&self.instruction(op)?);
            if is_loop {
                self.check(&mut f);
            }
        }
        code.function(&f);
        Ok(())
    }
}

/// Adds the fuel counter and its checks to `wasm`.
pub fn instrument(wasm: &[u8]) -> Result<Vec<u8>, AotBuildError> {
    instrument_for_wasm2c(wasm).map(|i| i.wasm)
}

/// [`instrument`], with a custom-page-size memory declared in 64 KiB
/// pages for wasm2c (see [`CustomPages`]).
pub(crate) fn instrument_for_wasm2c(wasm: &[u8]) -> Result<Instrumented, AotBuildError> {
    let (mut globals, mut functions, mut types) = (0u32, 0u32, 0u32);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::TypeSection(section) => {
                for group in section {
                    types += group?.types().len() as u32;
                }
            }
            Payload::ImportSection(imports) => {
                for import in imports {
                    let import = import?;
                    if import.module == OUT_OF_FUEL_IMPORT.0 {
                        return Err(AotBuildError::ReservedImport(OUT_OF_FUEL_IMPORT.0));
                    }
                    match import.ty {
                        wasmparser::TypeRef::Global(_) => globals += 1,
                        wasmparser::TypeRef::Func(_) => functions += 1,
                        _ => {}
                    }
                }
            }
            Payload::GlobalSection(section) => globals += section.count(),
            Payload::ExportSection(exports) => {
                for export in exports {
                    if export?.name == FUEL_EXPORT {
                        return Err(AotBuildError::ReservedExport(FUEL_EXPORT));
                    }
                }
            }
            _ => {}
        }
    }
    let mut instrument = Instrument {
        fuel_global: globals,
        imported_functions: functions,
        out_of_fuel_type: types,
        types_written: false,
        imports_written: false,
        globals_written: false,
        exports_written: false,
        custom_pages: None,
        memory_bytes: None,
        memories: 0,
    };
    let mut module = Module::new();
    instrument.parse_core_module(&mut module, Parser::new(0), wasm).map_err(|e| match e {
        reencode::Error::ParseError(e) => AotBuildError::Wasm(e),
        other => AotBuildError::Reencode(other.to_string()),
    })?;
    if instrument.custom_pages.is_some() && instrument.memories > 1 {
        return Err(AotBuildError::UnsupportedMemory("a second memory beside one with custom pages"));
    }
    Ok(Instrumented {
        wasm: module.finish(),
        custom_pages: instrument.custom_pages,
        memory_bytes: instrument.memory_bytes,
        memories: instrument.memories,
    })
}
