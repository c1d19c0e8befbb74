//! From clang's relocatable object to a blob: lays the allocated sections
//! out from address 0, resolves what is position-independent (branches,
//! PC-relative words), adds a veneer per imported function, and keeps the
//! rest as the relocation kinds the device applies. What differs per
//! instruction set (the veneer, the relocation types, entry points) is in
//! [`arm`] and [`riscv`].

mod arm;
mod calls;
mod riscv;

use std::collections::BTreeMap;

use akira_aot::format::write::{BlobSpec, ExportSpec, ImportSpec, RelocSpec};
use akira_aot::format::{ImportKind, RelocKind};
use object::elf;
use object::{Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionFlags, SectionKind};

use crate::cgen::{INSTANTIATE_SYMBOL, Interface, export_symbol};
use crate::{AotBuildError, Target};

pub(crate) use calls::CallGraph;

/// The call graph of `obj_bytes` (an object clang compiled with
/// `-ffunction-sections`), or why it cannot be read soundly.
pub(crate) fn call_graph(obj_bytes: &[u8], target: Target) -> Result<CallGraph, String> {
    let obj = object::File::parse(obj_bytes).map_err(|e| e.to_string())?;
    calls::call_graph(&obj, target)
}

/// Functions of the device runtime a blob may import (besides the wasm
/// imports): the trap exit, the fuel checks' out-of-fuel call, the region
/// allocator, and four libc functions clang emits for block copies.
pub const RUNTIME_IMPORTS: [&str; 8] = [
    "akira_aot_trap",
    "akira_aot_out_of_fuel",
    "akira_aot_alloc",
    "akira_aot_memory",
    "memcpy",
    "memmove",
    "memset",
    "memcmp",
];

/// What a link produced, beside the blob.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkReport {
    /// Bytes of code (`.text`), veneers excluded.
    pub code_len: u32,
    /// Bytes of read-only data.
    pub rodata_len: u32,
    /// Bytes of initialised data.
    pub data_len: u32,
    /// Bytes of zeroed data.
    pub bss_len: u32,
    /// Relocations the device applies, per kind.
    pub relocs: BTreeMap<&'static str, u32>,
    /// Relocation types of the object resolved at build time, per ELF type.
    pub resolved: BTreeMap<u32, u32>,
}

/// What a relocation refers to.
#[derive(Clone, Copy)]
enum Resolved {
    /// An offset in the image (a Thumb function's with bit 0 set).
    Image(u32),
    /// An import, reached through its veneer.
    Import(u16),
}

/// What a target's relocations patch, and what they leave for the device.
struct Patcher<'a> {
    image: &'a mut [u8],
    relocs: &'a mut Vec<RelocSpec>,
    report: &'a mut LinkReport,
    /// Image offset of the first import's veneer.
    veneers: u32,
    /// Bytes of one veneer.
    veneer_len: u32,
    /// RISC-V: the PC-relative value of each `auipc` (by its image
    /// offset), for the `%pcrel_lo` relocations that point at it.
    pcrel_hi: BTreeMap<u32, i64>,
}

impl Patcher<'_> {
    /// The image offset a branch or PC-relative reference to `target`
    /// lands at: an import's veneer for an import.
    fn address(&self, target: Resolved) -> u32 {
        match target {
            Resolved::Image(t) => t,
            Resolved::Import(i) => self.veneers + u32::from(i) * self.veneer_len,
        }
    }

    fn word(&self, at: usize) -> u32 {
        u32::from_le_bytes([self.image[at], self.image[at + 1], self.image[at + 2], self.image[at + 3]])
    }

    fn set_word(&mut self, at: usize, value: u32) {
        self.image[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// A data word holding `target`'s address plus `addend`: left for the
    /// device, which adds the load address or the import's address.
    fn abs32(&mut self, at: usize, target: Resolved, addend: u32) {
        let (kind, import, base) = match target {
            Resolved::Image(t) => (RelocKind::Abs32, 0, t),
            Resolved::Import(i) => (RelocKind::Abs32Import, i, 0),
        };
        self.set_word(at, base.wrapping_add(addend));
        self.relocs.push(RelocSpec { kind, import, offset: at as u32, value: 0 });
    }

    /// Counts a relocation resolved at build time.
    fn resolved(&mut self, r_type: u32) {
        *self.report.resolved.entry(r_type).or_default() += 1;
    }
}

/// Whether the image holds `section`: allocated, not empty, and not an
/// unwind table (never used: a trap returns by the stack pointer saved on
/// entry).
fn is_placed(section: &object::Section<'_, '_>) -> bool {
    let SectionFlags::Elf { sh_flags } = section.flags() else { return false };
    let unwind = section.name().is_ok_and(|n| n.starts_with(".ARM.exidx") || n.starts_with(".ARM.extab"));
    sh_flags & u64::from(elf::SHF_ALLOC) != 0 && section.size() != 0 && !unwind
}

/// Links `obj` (one relocatable object for `target`) into a blob.
pub(crate) fn link(
    obj_bytes: &[u8],
    target: Target,
    iface: &Interface,
    c_imports: &[String],
    stack_bound: u32,
    max_call_depth: u32,
) -> Result<(BlobSpec, LinkReport), AotBuildError> {
    let obj = object::File::parse(obj_bytes).map_err(|e| AotBuildError::Link(e.to_string()))?;
    let mut report = LinkReport::default();
    // Layout: code, read-only data, data, veneers | zeroed data.
    let mut placed: BTreeMap<usize, u32> = BTreeMap::new();
    let mut image: Vec<u8> = Vec::new();
    let mut align = 4u32;
    let mut bss_sections = Vec::new();
    for kind_pass in [0, 1, 2] {
        for section in obj.sections() {
            if !is_placed(&section) {
                continue;
            }
            let pass = match section.kind() {
                SectionKind::Text => 0,
                SectionKind::ReadOnlyData | SectionKind::ReadOnlyString => 1,
                SectionKind::Data => 2,
                SectionKind::UninitializedData => {
                    if kind_pass == 0 {
                        bss_sections.push(section.index());
                    }
                    continue;
                }
                other => {
                    return Err(AotBuildError::Link(format!("unexpected section {:?} ({other:?})", section.name())));
                }
            };
            if pass != kind_pass {
                continue;
            }
            let a = section.align().max(1) as u32;
            align = align.max(a);
            image.resize(image.len().next_multiple_of(a as usize), 0);
            placed.insert(section.index().0, image.len() as u32);
            let data = section.data().map_err(|e| AotBuildError::Link(e.to_string()))?;
            image.extend_from_slice(data);
            let len = data.len() as u32;
            match pass {
                0 => report.code_len += len,
                1 => report.rodata_len += len,
                _ => report.data_len += len,
            }
        }
    }
    // Imports: runtime functions first, then the wasm imports, by symbol.
    let mut imports: Vec<ImportSpec> = Vec::new();
    let mut import_index: BTreeMap<String, u16> = BTreeMap::new();
    for symbol in obj.symbols().filter(|s| s.is_undefined() && !s.name().unwrap_or("").is_empty()) {
        let name = symbol.name().map_err(|e| AotBuildError::Link(e.to_string()))?;
        let spec = if RUNTIME_IMPORTS.contains(&name) {
            ImportSpec {
                kind: ImportKind::Runtime,
                module: String::new(),
                name: name.to_string(),
                params: vec![],
                results: vec![],
            }
        } else if let Some(i) = c_imports.iter().position(|c| c == name) {
            let sig = &iface.imports[i];
            ImportSpec {
                kind: ImportKind::WasmFunction,
                module: sig.module.clone(),
                name: sig.name.clone(),
                params: sig.params.clone(),
                results: sig.results.clone(),
            }
        } else {
            return Err(AotBuildError::UnsupportedRuntimeCall(name.to_string()));
        };
        import_index.insert(name.to_string(), imports.len() as u16);
        imports.push(spec);
    }
    image.resize(image.len().next_multiple_of(4), 0);
    let veneers = image.len() as u32;
    let (veneer, veneer_len) = match target {
        Target::Thumbv7em => (&arm::VENEER[..], arm::VENEER_LEN),
        Target::Riscv32imac => (&riscv::VENEER[..], riscv::VENEER_LEN),
    };
    let mut relocs: Vec<RelocSpec> = Vec::new();
    for i in 0..imports.len() as u32 {
        // The code, then the import's address in the veneer's last word.
        image.extend_from_slice(veneer);
        image.extend_from_slice(&0u32.to_le_bytes());
        relocs.push(RelocSpec {
            kind: RelocKind::Abs32Import,
            import: i as u16,
            offset: veneers + (i + 1) * veneer_len - 4,
            value: 0,
        });
    }
    let image_len = image.len() as u32;
    let mut bss_len = 0u32;
    for index in bss_sections {
        let section = obj.section_by_index(index).map_err(|e| AotBuildError::Link(e.to_string()))?;
        let a = section.align().max(1) as u32;
        align = align.max(a);
        bss_len = (image_len + bss_len).next_multiple_of(a) - image_len;
        placed.insert(index.0, image_len + bss_len);
        bss_len += section.size() as u32;
    }
    report.bss_len = bss_len;

    let symbol_target = |target: RelocationTarget| -> Result<Resolved, AotBuildError> {
        let RelocationTarget::Symbol(index) = target else {
            return Err(AotBuildError::Link("relocation without a symbol".into()));
        };
        let symbol = obj.symbol_by_index(index).map_err(|e| AotBuildError::Link(e.to_string()))?;
        if symbol.is_undefined() {
            let name = symbol.name().unwrap_or("");
            return import_index
                .get(name)
                .map(|&i| Resolved::Import(i))
                .ok_or_else(|| AotBuildError::UnsupportedRuntimeCall(name.into()));
        }
        let section = symbol.section_index().ok_or_else(|| AotBuildError::Link("symbol outside any section".into()))?;
        let base = placed
            .get(&section.0)
            .ok_or_else(|| AotBuildError::Link(format!("symbol {:?} in an unplaced section", symbol.name())))?;
        Ok(Resolved::Image(base + symbol.address() as u32))
    };

    let mut patcher = Patcher {
        image: &mut image,
        relocs: &mut relocs,
        report: &mut report,
        veneers,
        veneer_len,
        pcrel_hi: BTreeMap::new(),
    };
    // RISC-V's `%pcrel_lo` refers to its `auipc`'s relocation: those go first.
    for first_pass in [true, false] {
        for section in obj.sections() {
            let Some(&place) = placed.get(&section.index().0) else { continue };
            for (offset, reloc) in section.relocations() {
                let RelocationFlags::Elf { r_type } = reloc.flags() else { continue };
                let at = (place + offset as u32) as usize;
                let resolved = symbol_target(reloc.target())?;
                match target {
                    Target::Thumbv7em if !first_pass => arm::apply(&mut patcher, r_type, at, resolved)?,
                    Target::Riscv32imac if riscv::first_pass(r_type) == first_pass => {
                        riscv::apply(&mut patcher, r_type, at, resolved, reloc.addend())?
                    }
                    _ => {}
                }
            }
        }
    }
    for r in &relocs {
        let name = match r.kind {
            RelocKind::Abs32 => "abs32",
            RelocKind::Abs32Import => "abs32-import",
            RelocKind::MovwAbs => "movw",
            _ => "movt",
        };
        *report.relocs.entry(name).or_default() += 1;
    }

    let entry = |name: &str| -> Result<u32, AotBuildError> {
        let symbol = obj
            .symbols()
            .find(|s| s.name() == Ok(name) && !s.is_undefined())
            .ok_or_else(|| AotBuildError::Link(format!("entry point {name} missing")))?;
        match symbol_target(RelocationTarget::Symbol(symbol.index()))? {
            // Thumb entry points carry bit 0 (the Thumb state); RISC-V's
            // are plain (at least 2-byte aligned) offsets.
            Resolved::Image(t) => Ok(match target {
                Target::Thumbv7em => t | 1,
                Target::Riscv32imac => t,
            }),
            Resolved::Import(_) => Err(AotBuildError::Link(format!("entry point {name} undefined"))),
        }
    };
    let mut exports = Vec::new();
    for (i, export) in iface.exports.iter().enumerate() {
        exports.push(ExportSpec {
            name: export.name.clone(),
            entry: entry(&export_symbol(i))?,
            params: export.params.clone(),
            results: export.results.clone(),
        });
    }
    let spec = BlobSpec {
        arch: target.arch(),
        image,
        bss_len,
        image_align: align.max(4),
        stack_bound,
        max_call_depth,
        instantiate: entry(INSTANTIATE_SYMBOL)?,
        relocs,
        imports,
        exports,
    };
    Ok((spec, report))
}
