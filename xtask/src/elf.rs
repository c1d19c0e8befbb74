//! What a firmware ELF holds: section sizes, and its flash by crate.

use std::collections::BTreeMap;
use std::path::Path;

use object::{Object, ObjectSection, ObjectSymbol, SectionFlags, SectionKind, SymbolKind};

/// Sizes read from one ELF, in bytes.
#[derive(Debug, Default)]
pub struct Footprint {
    /// `.text` (code).
    pub text: u64,
    /// `.rodata` (constants).
    pub rodata: u64,
    /// `.data` (initialised statics: in flash and in RAM).
    pub data: u64,
    /// `.bss` (zeroed statics).
    pub bss: u64,
    /// Every allocated section stored in flash.
    pub flash: u64,
    /// Every writable allocated section.
    pub ram: u64,
    /// Flash by crate, largest first; the last entry is what no symbol
    /// covers (string literals, padding, tables without a name).
    pub crates: Vec<(String, u64)>,
}

/// Name given to flash bytes no symbol covers.
pub const UNNAMED: &str = "[no symbol: strings, padding]";

/// Reads `elf`; sections named in `not_in_flash` do not count as flash.
pub fn read(elf: &Path, not_in_flash: &[String]) -> Result<Footprint, String> {
    let bytes = std::fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", elf.display()))?;
    let mut fp = Footprint::default();
    let mut flash_sections = Vec::new();
    for section in file.sections() {
        let name = section.name().unwrap_or("");
        let SectionFlags::Elf { sh_flags } = section.flags() else { continue };
        const ALLOC: u64 = object::elf::SHF_ALLOC as u64;
        const WRITE: u64 = object::elf::SHF_WRITE as u64;
        if sh_flags & ALLOC == 0 {
            continue;
        }
        let size = section.size();
        match name {
            ".text" => fp.text = size,
            ".rodata" => fp.rodata = size,
            ".data" => fp.data = size,
            ".bss" => fp.bss = size,
            _ => {}
        }
        let stored = section.kind() != SectionKind::UninitializedData;
        if stored && !not_in_flash.iter().any(|n| n == name) {
            fp.flash += size;
            flash_sections.push(section.index());
        }
        if sh_flags & WRITE != 0 {
            fp.ram += size;
        }
    }
    let mut by_crate: BTreeMap<String, u64> = BTreeMap::new();
    let mut named = 0;
    for symbol in file.symbols() {
        if !matches!(symbol.kind(), SymbolKind::Text | SymbolKind::Data) || symbol.size() == 0 {
            continue;
        }
        let Some(index) = symbol.section_index() else { continue };
        if !flash_sections.contains(&index) {
            continue;
        }
        let name = symbol.name().unwrap_or("");
        *by_crate.entry(crate_of(name)).or_default() += symbol.size();
        named += symbol.size();
    }
    let mut crates: Vec<(String, u64)> = by_crate.into_iter().collect();
    crates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    crates.push((UNNAMED.to_string(), fp.flash.saturating_sub(named)));
    fp.crates = crates;
    Ok(fp)
}

/// The crate a symbol's code comes from, by the path it is defined under:
/// `wasmi::engine::...` is wasmi's, `<wasmi_ir::op::Op as ...>::encode`
/// wasmi_ir's. Generic code counts for the crate that defines it (a
/// `core::slice::sort` instantiated for wasmi is core's). Symbols that are
/// not Rust paths (`memcpy`, `__aeabi_*`) are `[C and assembly]`.
/// Anonymous constants (`.Lanon.*`: string literals, tables) are
/// `[constants]`; a jump table (`.Lswitch.table.<function>`) counts for its
/// function. Blanket impls on a generic type (`<&T as core::fmt::Debug>`)
/// count for the trait's crate.
pub fn crate_of(mangled: &str) -> String {
    let mangled = mangled.strip_prefix(".Lswitch.table.").unwrap_or(mangled);
    if mangled.starts_with(".Lanon.") || mangled.starts_with("anon.") {
        return "[constants]".to_string();
    }
    let demangled = format!("{:#}", rustc_demangle::demangle(mangled));
    if demangled == mangled && !mangled.contains("::") {
        return "[C and assembly]".to_string();
    }
    let first_crate = |path: &str| {
        let path = path.trim_start_matches(['<', '&', '*', '(', '[', ' ']);
        let path = path.trim_start_matches("mut ").trim_start_matches("const ").trim_start_matches("dyn ");
        let end = path.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(path.len());
        let name = &path[..end];
        // A crate path goes on with `::`; `T`, `u8` or `[T]` do not.
        path[end..].starts_with("::").then(|| name.to_string())
    };
    if let Some(name) = first_crate(&demangled) {
        return name;
    }
    // `<T as Trait>::f`: the trait's crate.
    demangled.split(" as ").nth(1).and_then(first_crate).unwrap_or_else(|| "[other]".to_string())
}

#[cfg(test)]
mod tests {
    use super::crate_of;

    #[test]
    fn crates_from_paths() {
        assert_eq!(crate_of("_ZN5wasmi6engine4exec17h0123456789abcdefE"), "wasmi");
        assert_eq!(
            crate_of("_ZN61_$LT$wasmi_ir..op..Op$u20$as$u20$wasmi_ir..encode..Encode$GT$6encode17h0123456789abcdefE"),
            "wasmi_ir"
        );
        assert_eq!(crate_of("_ZN42_$LT$$RF$T$u20$as$u20$core..fmt..Debug$GT$3fmt17hf62db0ac7034bddaE"), "core");
        assert_eq!(crate_of(".Lanon.fae153e6a8e54556d48d9e435a7b08a6.322"), "[constants]");
        assert_eq!(
            crate_of(
                ".Lswitch.table._ZN61_$LT$wasmi_ir..opcode..OpCode$u20$as$u20$core..fmt..Debug$GT$3fmt17h525370052cacf5ffE"
            ),
            "wasmi_ir"
        );
        assert_eq!(crate_of("memcpy"), "[C and assembly]");
        assert_eq!(crate_of("__aeabi_memcpy4"), "[C and assembly]");
    }
}
