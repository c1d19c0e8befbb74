//! Shrinking a module's linear memory to exactly what it needs, using the
//! custom-page-sizes proposal (a page of one byte).

use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasmparser::{
    ConstExpr, DataKind, Encoding, ExternalKind, MemoryType, Operator, Parser, Payload, TypeRef, ValType, Validator,
    WasmFeatures,
};

use crate::BuildError;

/// Name of the export wasm-ld (for both rustc and clang) uses for the
/// first byte after static data and stack: where a heap may start.
pub const HEAP_BASE_EXPORT: &str = "__heap_base";

/// Alignment, in bytes, of the rewritten memory size.
pub const MEMORY_ALIGN: u64 = 16;

/// `page_size_log2` of the rewritten memory: pages of one byte.
const BYTE_PAGES: u32 = 0;

/// `page_size_log2` of a memory that declares no page size: 64 KiB pages.
const DEFAULT_PAGE_LOG2: u32 = 16;

/// What [`shrink_memory`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryReport {
    /// Initial size of the module's memory before the rewrite, in bytes (0
    /// if the module has no memory).
    pub before_bytes: u64,
    /// Initial (and, when rewritten, maximum) size of the memory after the
    /// rewrite, in bytes; equal to `before_bytes` when not rewritten.
    pub after_bytes: u64,
    /// What the module needs before any heap: the highest of the end of
    /// its active data, `__heap_base` and the initial stack pointer. 0 when
    /// the module was refused before its layout was read (no memory, an
    /// imported, 64-bit or shared memory, or custom pages already).
    pub static_bytes: u64,
    /// The heap size asked for.
    pub heap_bytes: u32,
    /// Whether the memory was rewritten.
    pub rewritten: bool,
    /// How many `memory.size` instructions the rewrite turned into the
    /// module's declared page count (a module that never grows its memory
    /// reads a constant; see [`shrink_memory`]).
    pub memory_size_uses: u32,
    /// Why the memory was not rewritten (`None` when it was).
    pub reason: Option<String>,
}

/// Rewrites the module's own memory to a page size of one byte with
/// initial = maximum = the bytes it needs.
///
/// The memory must be defined by the module (not imported), 32-bit, not
/// shared and use the default 64 KiB pages. The bytes it needs are
///
/// ```text
/// align_up(max(end of the highest active data segment,
///              initial value of the `__heap_base` export,
///              initial value of the stack pointer) + heap, 16)
/// ```
///
/// where the stack pointer is the first mutable `i32` global initialised
/// by an `i32.const` (`__stack_pointer`, as rustc and clang emit it).
///
/// The module is returned unchanged, with [`MemoryReport::rewritten`]
/// false and [`MemoryReport::reason`] saying why, when: any function uses
/// `memory.grow` or `memory.size` (they count pages, so changing the page
/// size would change their meaning); the module has no memory, imports
/// it, or has several; the memory is 64-bit or shared or already uses a
/// custom page size; a data segment offset or `__heap_base` is not a
/// constant; or the result would not be smaller.
///
/// Only the memory section changes. Other sections are re-encoded by
/// `wasm-encoder`'s reencoder, with function bodies and custom sections
/// copied byte for byte (so code offsets in debug info stay valid).
///
/// # Errors
///
/// [`BuildError::Malformed`] if the module does not validate,
/// [`BuildError::Component`] for a component, and
/// [`BuildError::DataBeyondMemory`] if an active data segment ends past
/// the memory's initial size.
pub fn shrink_memory(wasm: &[u8], heap: u32) -> Result<(Vec<u8>, MemoryReport), BuildError> {
    let facts = Facts::gather(wasm)?;
    let mut report = MemoryReport {
        before_bytes: 0,
        after_bytes: 0,
        static_bytes: 0,
        heap_bytes: heap,
        rewritten: false,
        memory_size_uses: 0,
        reason: None,
    };
    let needed = match plan(&facts, heap, &mut report)? {
        Ok(needed) => needed,
        Err(reason) => {
            report.after_bytes = report.before_bytes;
            report.reason = Some(reason);
            return Ok((wasm.to_vec(), report));
        }
    };
    let memory = wasm_encoder::MemoryType {
        minimum: needed,
        maximum: Some(needed),
        memory64: false,
        shared: false,
        page_size_log2: Some(BYTE_PAGES),
    };
    let pages = facts.memories.first().map_or(0, |m| m.initial) as i32;
    let mut module = wasm_encoder::Module::new();
    let mut copier = Copier { memory, pages, size_uses: 0 };
    copier.parse_core_module(&mut module, Parser::new(0), wasm)?;
    report.memory_size_uses = copier.size_uses;
    let out = module.finish();
    // The rewrite only touches the memory section; check that the result
    // is still a valid module before handing it out.
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&out)
        .map_err(|err| BuildError::Encode(err.message().to_string()))?;
    report.after_bytes = needed;
    report.rewritten = true;
    Ok((out, report))
}

/// Decides the new memory size: `Ok(Ok(bytes))` to rewrite, `Ok(Err(why))`
/// to leave the module as it is. Fills in `report` as it learns.
fn plan(facts: &Facts, heap: u32, report: &mut MemoryReport) -> Result<Result<u64, String>, BuildError> {
    let memory = match (facts.imported_memories.as_slice(), facts.memories.as_slice()) {
        ([], []) => return Ok(Err("the module has no memory".into())),
        ([imported, ..], _) => {
            report.before_bytes = memory_bytes(imported);
            return Ok(Err("the memory is imported, so its size is the host's choice".into()));
        }
        ([], [memory]) => memory,
        ([], memories) => {
            return Ok(Err(format!("the module defines {} memories; only one is supported", memories.len())));
        }
    };
    report.before_bytes = memory_bytes(memory);
    if memory.memory64 {
        return Ok(Err("the memory is 64-bit".into()));
    }
    if memory.shared {
        return Ok(Err("the memory is shared".into()));
    }
    if let Some(log2) = memory.page_size_log2 {
        return Ok(Err(format!("the memory already uses a custom page size of {} bytes", 1u64 << log2)));
    }

    let mut static_bytes = 0u64;
    for segment in &facts.segments {
        let Some(offset) = segment.offset else {
            return Ok(Err(format!("data segment {} has a non-constant offset", segment.index)));
        };
        // `i32.const` offsets are addresses: read them unsigned.
        let end = u64::from(offset.cast_unsigned()) + segment.len;
        if end > report.before_bytes {
            return Err(BuildError::DataBeyondMemory {
                segment: segment.index,
                end,
                memory_bytes: report.before_bytes,
            });
        }
        static_bytes = static_bytes.max(end);
    }
    if let Some(index) = facts.heap_base {
        match facts.globals.get(index as usize).and_then(|g| g.value) {
            Some(value) => static_bytes = static_bytes.max(u64::from(value.cast_unsigned())),
            None => return Ok(Err(format!("`{HEAP_BASE_EXPORT}` is not a constant"))),
        }
    }
    let data_end = static_bytes;
    let stack_pointer = facts.globals.iter().find(|g| g.is_stack_pointer).and_then(|g| g.value);
    if let Some(sp) = stack_pointer {
        static_bytes = static_bytes.max(u64::from(sp.cast_unsigned()));
    }
    // Zero-initialised data (.bss) has no data segment: only `__heap_base`,
    // or a stack placed after it, says where it ends.
    let stack_after_data = stack_pointer.is_some_and(|sp| u64::from(sp.cast_unsigned()) > data_end);
    if facts.heap_base.is_none() && !stack_after_data && !facts.segments.is_empty() {
        report.static_bytes = static_bytes;
        return Ok(Err(format!(
            "the module does not export `{HEAP_BASE_EXPORT}` and its stack comes before its data, so where its \
             zero-initialised data ends is unknown (link with `--export={HEAP_BASE_EXPORT}`)"
        )));
    }
    report.static_bytes = static_bytes;

    if let Some(func) = facts.memory_grow {
        return Ok(Err(format!(
            "function {func} uses memory.grow, which counts 64 KiB pages; changing the page size would change its \
             meaning (link a fixed-heap allocator instead of one that grows memory)"
        )));
    }
    let needed = (static_bytes + u64::from(heap)).next_multiple_of(MEMORY_ALIGN);
    if needed >= report.before_bytes {
        return Ok(Err(format!(
            "it would not be smaller: the module needs {needed} bytes and its memory has {}",
            report.before_bytes
        )));
    }
    Ok(Ok(needed))
}

/// Initial size of a memory in bytes.
fn memory_bytes(memory: &MemoryType) -> u64 {
    let log2 = memory.page_size_log2.unwrap_or(DEFAULT_PAGE_LOG2);
    memory.initial.checked_shl(log2).filter(|b| b >> log2 == memory.initial).unwrap_or(u64::MAX)
}

/// A global, as far as sizing memory cares.
struct GlobalFact {
    /// Its initial value, if it is a defined `i32` global with a constant
    /// initialiser.
    value: Option<i32>,
    /// Mutable `i32` initialised by a single `i32.const`.
    is_stack_pointer: bool,
}

/// An active data segment.
struct Segment {
    index: u32,
    /// Its offset, if constant.
    offset: Option<i32>,
    len: u64,
}

/// What one pass over a validated module learns.
#[derive(Default)]
struct Facts {
    imported_memories: Vec<MemoryType>,
    memories: Vec<MemoryType>,
    /// Every global in index order, imported ones first.
    globals: Vec<GlobalFact>,
    /// Global index exported as `__heap_base`.
    heap_base: Option<u32>,
    segments: Vec<Segment>,
    /// The first function using `memory.grow`.
    memory_grow: Option<u32>,
}

impl Facts {
    fn gather(wasm: &[u8]) -> Result<Facts, BuildError> {
        // Refuse components before validating, for a clearer error.
        if let Some(Ok(Payload::Version { encoding: Encoding::Component, .. })) = Parser::new(0).parse_all(wasm).next()
        {
            return Err(BuildError::Component);
        }
        Validator::new_with_features(WasmFeatures::all()).validate_all(wasm)?;

        let mut facts = Facts::default();
        let mut imported_funcs = 0u32;
        let mut defined_funcs = 0u32;
        for payload in Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::Version { encoding: Encoding::Component, .. } => {
                    return Err(BuildError::Component);
                }
                Payload::ImportSection(reader) => {
                    for import in reader {
                        match import?.ty {
                            TypeRef::Func(_) => imported_funcs += 1,
                            TypeRef::Memory(memory) => facts.imported_memories.push(memory),
                            TypeRef::Global(_) => {
                                facts.globals.push(GlobalFact { value: None, is_stack_pointer: false })
                            }
                            _ => {}
                        }
                    }
                }
                Payload::MemorySection(reader) => {
                    for memory in reader {
                        facts.memories.push(memory?);
                    }
                }
                Payload::GlobalSection(reader) => {
                    for global in reader {
                        let global = global?;
                        let is_i32 = global.ty.content_type == ValType::I32;
                        let value = if is_i32 { eval_i32(&global.init_expr, &facts.globals)? } else { None };
                        let is_stack_pointer = is_i32 && global.ty.mutable && is_plain_i32_const(&global.init_expr)?;
                        facts.globals.push(GlobalFact { value, is_stack_pointer });
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export?;
                        if export.kind == ExternalKind::Global && export.name == HEAP_BASE_EXPORT {
                            facts.heap_base = Some(export.index);
                        }
                    }
                }
                Payload::DataSection(reader) => {
                    for (index, data) in (0u32..).zip(reader) {
                        let data = data?;
                        if let DataKind::Active { offset_expr, .. } = &data.kind {
                            facts.segments.push(Segment {
                                index,
                                offset: eval_i32(offset_expr, &facts.globals)?,
                                len: data.data.len() as u64,
                            });
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    let func = imported_funcs + defined_funcs;
                    defined_funcs += 1;
                    if facts.memory_grow.is_none() && uses(&body, |op| matches!(op, Operator::MemoryGrow { .. }))? {
                        facts.memory_grow = Some(func);
                    }
                }
                _ => {}
            }
        }
        Ok(facts)
    }
}

/// Whether the function body has an instruction `is`.
fn uses(body: &wasmparser::FunctionBody<'_>, is: impl Fn(&Operator<'_>) -> bool) -> Result<bool, BuildError> {
    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        if is(&ops.read()?) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `expr` is exactly `i32.const N; end`.
fn is_plain_i32_const(expr: &ConstExpr<'_>) -> Result<bool, BuildError> {
    let mut ops = expr.get_operators_reader();
    Ok(matches!(ops.read()?, Operator::I32Const { .. }) && matches!(ops.read()?, Operator::End) && ops.eof())
}

/// Evaluates an `i32` constant expression: `i32.const`, `global.get` of a
/// global whose value is known, and the extended-const `i32.add`, `i32.sub`
/// and `i32.mul`. `None` if it uses anything else (such as an imported
/// global).
fn eval_i32(expr: &ConstExpr<'_>, globals: &[GlobalFact]) -> Result<Option<i32>, BuildError> {
    let mut stack: Vec<i32> = Vec::new();
    let mut ops = expr.get_operators_reader();
    loop {
        let value = match ops.read()? {
            Operator::End => break,
            Operator::I32Const { value } => value,
            Operator::GlobalGet { global_index } => match globals.get(global_index as usize).and_then(|g| g.value) {
                Some(value) => value,
                None => return Ok(None),
            },
            op @ (Operator::I32Add | Operator::I32Sub | Operator::I32Mul) => {
                let (Some(b), Some(a)) = (stack.pop(), stack.pop()) else {
                    return Ok(None);
                };
                match op {
                    Operator::I32Add => a.wrapping_add(b),
                    Operator::I32Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }
            }
            _ => return Ok(None),
        };
        stack.push(value);
    }
    Ok(match stack.as_slice() {
        [value] => Some(*value),
        _ => None,
    })
}

/// Copies a module, replacing its (single, defined) memory's type and
/// each `memory.size` with the declared page count.
struct Copier {
    memory: wasm_encoder::MemoryType,
    /// The page count the module declared (64 KiB pages).
    pages: i32,
    /// `memory.size` instructions replaced.
    size_uses: u32,
}

impl Reencode for Copier {
    type Error = BuildError;

    fn parse_memory_section(
        &mut self,
        memories: &mut wasm_encoder::MemorySection,
        section: wasmparser::MemorySectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        for memory in section {
            memory?;
            memories.memory(self.memory);
        }
        Ok(())
    }

    /// Copies the body unchanged rather than decoding and re-encoding each
    /// instruction (which would canonicalise LEB128 padding and move code
    /// offsets that DWARF and name maps refer to), except a body that reads
    /// `memory.size`: that one is re-encoded with the declared page count
    /// in its place.
    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        let reads_size =
            uses(&func, |op| matches!(op, Operator::MemorySize { .. })).map_err(ReencodeError::UserError)?;
        if !reads_size {
            code.raw(func.as_bytes());
            return Ok(());
        }
        wasm_encoder::reencode::utils::parse_function_body(self, code, func)
    }

    fn instruction<'a>(
        &mut self,
        op: Operator<'a>,
    ) -> Result<wasm_encoder::Instruction<'a>, ReencodeError<Self::Error>> {
        if let Operator::MemorySize { .. } = op {
            self.size_uses += 1;
            return Ok(wasm_encoder::Instruction::I32Const(self.pages));
        }
        wasm_encoder::reencode::utils::instruction(self, op)
    }

    /// Copies every custom section unchanged (the default decodes and
    /// re-encodes the `name` section, failing on one the validator
    /// accepted but wasmparser cannot read).
    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        module.section(&self.custom_section(section));
        Ok(())
    }
}
