//! From clang's relocatable object to a blob: lays the allocated sections
//! out from address 0, resolves what is position-independent (branches,
//! PC-relative words), adds a veneer per imported function, and keeps the
//! rest as the four relocation kinds the device applies.

use std::collections::BTreeMap;

use akira_aot::format::write::{BlobSpec, ExportSpec, ImportSpec, RelocSpec};
use akira_aot::format::{Arch, ImportKind, RelocKind};
use object::elf;
use object::{Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionFlags, SectionKind};

use crate::AotBuildError;
use crate::cgen::{INSTANTIATE_SYMBOL, Interface, export_symbol};

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

/// `ldr.w pc, [pc, #0]` followed by the target's address: a veneer that
/// reaches any address from a `bl` in the image.
const VENEER: [u8; 4] = [0xdf, 0xf8, 0x00, 0xf0];
const VENEER_LEN: u32 = 8;

fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The branch offset of a Thumb-2 `bl`/`b.w` (T1/T4 encodings).
fn decode_branch(b: &[u8], at: usize) -> i32 {
    let hw1 = u32::from(u16::from_le_bytes([b[at], b[at + 1]]));
    let hw2 = u32::from(u16::from_le_bytes([b[at + 2], b[at + 3]]));
    let s = (hw1 >> 10) & 1;
    let j1 = (hw2 >> 13) & 1;
    let j2 = (hw2 >> 11) & 1;
    let i1 = !(j1 ^ s) & 1;
    let i2 = !(j2 ^ s) & 1;
    let imm = (s << 24) | (i1 << 23) | (i2 << 22) | ((hw1 & 0x3ff) << 12) | ((hw2 & 0x7ff) << 1);
    ((imm << 7) as i32) >> 7
}

fn encode_branch(b: &mut [u8], at: usize, offset: i32) -> Result<(), AotBuildError> {
    if !(-(1 << 24)..(1 << 24)).contains(&offset) {
        return Err(AotBuildError::Link(format!("branch at 0x{at:x} out of range")));
    }
    let imm = offset as u32;
    let s = (imm >> 24) & 1;
    let i1 = (imm >> 23) & 1;
    let i2 = (imm >> 22) & 1;
    let j1 = (!(i1 ^ s)) & 1;
    let j2 = (!(i2 ^ s)) & 1;
    let hw1 = u16::from_le_bytes([b[at], b[at + 1]]) as u32;
    let hw2 = u16::from_le_bytes([b[at + 2], b[at + 3]]) as u32;
    let hw1 = (hw1 & 0xf800) | (s << 10) | ((imm >> 12) & 0x3ff);
    let hw2 = (hw2 & 0xd000) | (j1 << 13) | (j2 << 11) | ((imm >> 1) & 0x7ff);
    b[at..at + 2].copy_from_slice(&(hw1 as u16).to_le_bytes());
    b[at + 2..at + 4].copy_from_slice(&(hw2 as u16).to_le_bytes());
    Ok(())
}

/// The 16-bit immediate of a Thumb-2 `movw`/`movt` (the implicit addend).
fn decode_mov(b: &[u8], at: usize) -> u32 {
    let hw1 = u32::from(u16::from_le_bytes([b[at], b[at + 1]]));
    let hw2 = u32::from(u16::from_le_bytes([b[at + 2], b[at + 3]]));
    ((hw1 & 0xf) << 12) | (((hw1 >> 10) & 1) << 11) | (((hw2 >> 12) & 7) << 8) | (hw2 & 0xff)
}

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

enum Target {
    Image(u32),
    Import(u16),
}

/// Links `obj` (one relocatable Thumb object) into a blob.
pub(crate) fn link(
    obj_bytes: &[u8],
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
            let SectionFlags::Elf { sh_flags } = section.flags() else { continue };
            // Unwind tables are never used: a trap returns by the stack
            // pointer saved on entry.
            let unwind = section.name().is_ok_and(|n| n.starts_with(".ARM.exidx") || n.starts_with(".ARM.extab"));
            if sh_flags & u64::from(elf::SHF_ALLOC) == 0 || section.size() == 0 || unwind {
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
    let mut relocs: Vec<RelocSpec> = Vec::new();
    for i in 0..imports.len() as u32 {
        image.extend_from_slice(&VENEER);
        image.extend_from_slice(&0u32.to_le_bytes());
        relocs.push(RelocSpec {
            kind: RelocKind::Abs32Import,
            import: i as u16,
            offset: veneers + i * VENEER_LEN + 4,
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

    let symbol_target = |target: RelocationTarget| -> Result<Target, AotBuildError> {
        let RelocationTarget::Symbol(index) = target else {
            return Err(AotBuildError::Link("relocation without a symbol".into()));
        };
        let symbol = obj.symbol_by_index(index).map_err(|e| AotBuildError::Link(e.to_string()))?;
        if symbol.is_undefined() {
            let name = symbol.name().unwrap_or("");
            return import_index
                .get(name)
                .map(|&i| Target::Import(i))
                .ok_or_else(|| AotBuildError::UnsupportedRuntimeCall(name.into()));
        }
        let section = symbol.section_index().ok_or_else(|| AotBuildError::Link("symbol outside any section".into()))?;
        let base = placed
            .get(&section.0)
            .ok_or_else(|| AotBuildError::Link(format!("symbol {:?} in an unplaced section", symbol.name())))?;
        Ok(Target::Image(base + symbol.address() as u32))
    };

    for section in obj.sections() {
        let Some(&place) = placed.get(&section.index().0) else { continue };
        for (offset, reloc) in section.relocations() {
            let RelocationFlags::Elf { r_type } = reloc.flags() else { continue };
            let at = (place + offset as u32) as usize;
            let target = symbol_target(reloc.target())?;
            match (r_type, target) {
                (elf::R_ARM_ABS32, Target::Image(t)) => {
                    let v = read_u32(&image, at).wrapping_add(t);
                    image[at..at + 4].copy_from_slice(&v.to_le_bytes());
                    relocs.push(RelocSpec { kind: RelocKind::Abs32, import: 0, offset: at as u32, value: 0 });
                }
                (elf::R_ARM_ABS32, Target::Import(i)) => {
                    relocs.push(RelocSpec { kind: RelocKind::Abs32Import, import: i, offset: at as u32, value: 0 });
                }
                (elf::R_ARM_REL32, Target::Image(t)) => {
                    let v = read_u32(&image, at).wrapping_add(t).wrapping_sub(at as u32);
                    image[at..at + 4].copy_from_slice(&v.to_le_bytes());
                    *report.resolved.entry(r_type).or_default() += 1;
                }
                (elf::R_ARM_THM_PC22 | elf::R_ARM_THM_JUMP24, target) => {
                    let t = match target {
                        Target::Image(t) => t & !1,
                        Target::Import(i) => veneers + u32::from(i) * VENEER_LEN,
                    };
                    let addend = decode_branch(&image, at);
                    let offset = (t as i64 + i64::from(addend) - at as i64) as i32;
                    encode_branch(&mut image, at, offset)?;
                    *report.resolved.entry(r_type).or_default() += 1;
                }
                (elf::R_ARM_THM_MOVW_ABS_NC | elf::R_ARM_THM_MOVT_ABS, Target::Image(t)) => {
                    let addend = decode_mov(&image, at) as u16 as i16;
                    let value = t.wrapping_add(addend as i32 as u32);
                    let kind =
                        if r_type == elf::R_ARM_THM_MOVW_ABS_NC { RelocKind::MovwAbs } else { RelocKind::MovtAbs };
                    relocs.push(RelocSpec { kind, import: 0, offset: at as u32, value });
                }
                (elf::R_ARM_V4BX, _) => {}
                (other, _) => return Err(AotBuildError::UnsupportedRelocation(other)),
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
            // Thumb functions carry bit 0 in their ELF value already.
            Target::Image(t) => Ok(t | 1),
            Target::Import(_) => Err(AotBuildError::Link(format!("entry point {name} undefined"))),
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
        arch: Arch::ThumbV7em,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_offsets_round_trip() {
        // bl with offset 0 (what clang writes before relocation: addend -4).
        for offset in [-4, 0, 2, 0x1234, -0x10_0000, 0xff_fffe] {
            let mut code = [0x00, 0xf0, 0x00, 0xf8];
            encode_branch(&mut code, 0, offset).unwrap();
            assert_eq!(decode_branch(&code, 0), offset);
            assert_eq!(code[3] & 0xd0, 0xd0, "still a bl");
        }
    }

    #[test]
    fn far_branches_are_refused() {
        let mut code = [0x00, 0xf0, 0x00, 0xf8];
        assert!(encode_branch(&mut code, 0, 1 << 24).is_err());
    }
}
