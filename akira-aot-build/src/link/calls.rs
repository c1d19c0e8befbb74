//! The object's call graph, from its relocations (clang compiles with
//! `-ffunction-sections`, so a call from one function to another is a
//! relocation between sections, never resolved by the assembler): each
//! call or tail call to another function is an edge; a reference that is
//! not a call (a data word, a `movw`/`movt` pair, a `%pcrel_hi`) takes the
//! function's address, which makes it a possible target of an indirect
//! call. A call to an undefined symbol leaves the image (an import's
//! veneer) and adds nothing to the image's stack.

use std::collections::BTreeSet;

use object::elf;
use object::{Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionIndex, SymbolKind};

use crate::Target;

/// A function of the object: its section and its byte range in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Function {
    pub name: String,
    section: SectionIndex,
    start: u64,
    end: u64,
}

/// The object's functions and the calls between them.
#[derive(Clone, Debug, Default)]
pub(crate) struct CallGraph {
    pub functions: Vec<Function>,
    /// `calls[i]`: the functions function `i` calls directly.
    pub calls: Vec<BTreeSet<u32>>,
    /// Functions whose address is taken.
    pub address_taken: BTreeSet<u32>,
}

/// What a relocation type does, for the call graph.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    /// A call (a self-call is recursion).
    Call,
    /// A jump (a tail call if to another function, a branch inside one).
    Jump,
    /// Not a reference to code (`%pcrel_lo` points at its `auipc`; hints).
    Ignore,
    /// Any other reference: takes the target's address.
    Address,
}

fn classify(target: Target, r_type: u32) -> Use {
    match (target, r_type) {
        (Target::Thumbv7em, elf::R_ARM_THM_PC22) => Use::Call,
        (Target::Thumbv7em, elf::R_ARM_THM_JUMP24) => Use::Jump,
        (Target::Thumbv7em, elf::R_ARM_V4BX) => Use::Ignore,
        (Target::Riscv32imac, elf::R_RISCV_CALL | elf::R_RISCV_CALL_PLT) => Use::Call,
        (
            Target::Riscv32imac,
            elf::R_RISCV_JAL | elf::R_RISCV_BRANCH | elf::R_RISCV_RVC_BRANCH | elf::R_RISCV_RVC_JUMP,
        ) => Use::Jump,
        (
            Target::Riscv32imac,
            elf::R_RISCV_PCREL_LO12_I | elf::R_RISCV_PCREL_LO12_S | elf::R_RISCV_RELAX | elf::R_RISCV_ALIGN,
        ) => Use::Ignore,
        _ => Use::Address,
    }
}

/// The Thumb-2 `bl`/`b.w` offset stored in the instruction (REL addend).
fn arm_branch_addend(data: &[u8], at: usize) -> Option<i64> {
    let b = data.get(at..at + 4)?;
    Some(i64::from(super::arm::decode_branch(b, 0)))
}

impl CallGraph {
    fn function_at(&self, section: SectionIndex, offset: u64) -> Option<u32> {
        self.functions.iter().position(|f| f.section == section && (f.start..f.end).contains(&offset)).map(|i| i as u32)
    }

    fn functions_in(&self, section: SectionIndex) -> impl Iterator<Item = u32> + '_ {
        self.functions.iter().enumerate().filter(move |(_, f)| f.section == section).map(|(i, _)| i as u32)
    }
}

/// The call graph of `obj`, or why it cannot be read soundly (a
/// relocation in code outside any function, a call landing outside one).
pub(crate) fn call_graph(obj: &object::File<'_>, target: Target) -> Result<CallGraph, String> {
    let thumb_bit = if target == Target::Thumbv7em { !1u64 } else { !0u64 };
    let mut graph = CallGraph::default();
    for symbol in obj.symbols() {
        if symbol.kind() != SymbolKind::Text || symbol.is_undefined() {
            continue;
        }
        let Some(section) = symbol.section_index() else { continue };
        let start = symbol.address() & thumb_bit;
        let name = symbol.name().map_err(|e| e.to_string())?.to_string();
        graph.functions.push(Function { name, section, start, end: start + symbol.size() });
    }
    // Two functions in one section could call each other with no
    // relocation (the assembler resolves a branch inside its section).
    let mut sections = BTreeSet::new();
    if let Some(f) = graph.functions.iter().find(|f| !sections.insert(f.section.0)) {
        return Err(format!("function {} shares its section with another", f.name));
    }
    graph.calls = vec![BTreeSet::new(); graph.functions.len()];
    // Only what the image holds: unwind tables refer to every function
    // without calling or taking the address of any.
    for section in obj.sections().filter(super::is_placed) {
        let data = section.data().map_err(|e| e.to_string())?;
        let code = graph.functions.iter().any(|f| f.section == section.index());
        for (offset, reloc) in section.relocations() {
            let RelocationFlags::Elf { r_type } = reloc.flags() else { continue };
            let use_ = classify(target, r_type);
            if use_ == Use::Ignore {
                continue;
            }
            let RelocationTarget::Symbol(index) = reloc.target() else {
                return Err(format!("relocation at 0x{offset:x} without a symbol"));
            };
            let symbol = obj.symbol_by_index(index).map_err(|e| e.to_string())?;
            if symbol.is_undefined() {
                continue; // an import: its veneer leaves the image
            }
            let Some(target_section) = symbol.section_index() else { continue };
            if !graph.functions.iter().any(|f| f.section == target_section) {
                continue; // data
            }
            if use_ == Use::Address {
                // A function symbol takes that function's address; a
                // section symbol or a label, any function of its section's.
                let taken: Vec<u32> = match symbol.kind() {
                    SymbolKind::Text => {
                        graph.function_at(target_section, symbol.address() & thumb_bit).into_iter().collect()
                    }
                    _ => graph.functions_in(target_section).collect(),
                };
                if taken.is_empty() {
                    return Err(format!("reference to code outside any function ({:?})", symbol.name()));
                }
                graph.address_taken.extend(taken);
                continue;
            }
            if !code {
                return Err(format!("branch relocation in {:?}, a section without functions", section.name()));
            }
            let caller = graph
                .function_at(section.index(), offset)
                .ok_or_else(|| format!("branch at 0x{offset:x} of {:?} outside any function", section.name()))?;
            // Where the branch lands: the symbol plus the addend (REL on
            // ARM: in the instruction, biased by the PC's 4 bytes).
            let addend = match target {
                Target::Thumbv7em => arm_branch_addend(data, offset as usize)
                    .ok_or_else(|| format!("branch at 0x{offset:x} past its section"))?
                    .saturating_add(4),
                Target::Riscv32imac => reloc.addend(),
            };
            let lands = ((symbol.address() & thumb_bit) as i64).saturating_add(addend) as u64;
            let callee = graph
                .function_at(target_section, lands)
                .ok_or_else(|| format!("branch at 0x{offset:x} lands outside any function"))?;
            if callee != caller || use_ == Use::Call {
                graph.calls[caller as usize].insert(callee);
            }
        }
    }
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::{deepest_path, frames};

    /// A diamond (`top` calls `left` and `right`, both call `leaf`), an
    /// import call, a tail call, and a function pointer taken into data
    /// and called through: noinline, with frames of distinct sizes.
    const C: &str = r#"
        void host(volatile char *p);
        #define FRAME(n) volatile char buf[n]; host(buf)
        __attribute__((noinline)) void leaf(int x) { FRAME(8); buf[0] = x; }
        __attribute__((noinline)) void left(int x) { FRAME(200); leaf(x); host(buf); }
        __attribute__((noinline)) void right(int x) { FRAME(40); leaf(x + 1); host(buf); }
        __attribute__((noinline)) void top(int x) { FRAME(16); left(x); right(x); host(buf); }
        __attribute__((noinline)) void target(int x) { FRAME(24); buf[1] = x; }
        void (*volatile table[1])(int) = { target };
        __attribute__((noinline)) void through(int x) { FRAME(32); table[0](x); host(buf); }
        __attribute__((noinline)) void tail(int x) { leaf(x * 3); }
    "#;

    fn compile(target: Target) -> (CallGraph, std::collections::BTreeMap<String, u32>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.c"), C).unwrap();
        let status = std::process::Command::new("clang")
            .current_dir(dir.path())
            .args(target.clang_flags())
            .args(["-Os", "-ffreestanding", "-fstack-usage", "-ffunction-sections", "-c", "t.c", "-o", "t.o"])
            .status()
            .unwrap();
        assert!(status.success());
        let bytes = std::fs::read(dir.path().join("t.o")).unwrap();
        let obj = object::File::parse(&*bytes).unwrap();
        let graph = call_graph(&obj, target).unwrap();
        (graph, frames(&std::fs::read_to_string(dir.path().join("t.su")).unwrap()).unwrap())
    }

    #[test]
    fn calls_and_taken_addresses_are_read_from_the_relocations() {
        for target in Target::ALL {
            let (graph, frames) = compile(target);
            let index = |name: &str| graph.functions.iter().position(|f| f.name == name).unwrap() as u32;
            let calls = |name: &str| -> Vec<&str> {
                graph.calls[index(name) as usize].iter().map(|&c| graph.functions[c as usize].name.as_str()).collect()
            };
            assert_eq!(calls("top"), ["left", "right"], "{target}");
            assert_eq!(calls("left"), ["leaf"], "{target}");
            assert_eq!(calls("right"), ["leaf"], "{target}");
            assert_eq!(calls("leaf"), Vec::<&str>::new(), "{target}: the import call leaves the image");
            assert_eq!(calls("tail"), ["leaf"], "{target}: a tail call is an edge");
            assert_eq!(calls("through"), Vec::<&str>::new(), "{target}: the indirect call has no relocation");
            assert_eq!(graph.address_taken, [index("target")].into(), "{target}");
            // The deepest path: top, left (the larger frame), leaf.
            let sizes: Vec<u32> = graph.functions.iter().map(|f| frames[&f.name]).collect();
            let edges: Vec<Vec<u32>> = graph.calls.iter().map(|c| c.iter().copied().collect()).collect();
            let expected = frames["top"] + frames["left"] + frames["leaf"];
            assert!(frames["left"] >= 200 && frames["top"] >= 16 && frames["leaf"] >= 8, "{target}: {frames:?}");
            assert_eq!(deepest_path(&edges, &sizes), Some(expected), "{target}");
        }
    }
}
