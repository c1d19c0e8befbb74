//! The AOT blob, format 1: what `akira-aot-build` writes and the device
//! loads.
//!
//! ```text
//! offset size
//! 0      4   magic "AKAO"
//! 4      1   format version = 1
//! 5      1   arch: 1 = thumbv7em (Thumb-2, AAPCS hard-float),
//!                  2 = riscv32imac (RV32IMAC, ilp32)
//! 6      2   reserved, zero
//! 8      4   image_len: bytes of code and initialised data
//! 12     4   bss_len: zero-filled bytes after the image
//! 16     4   image_align: the image's alignment (a power of two, 4..=4096)
//! 20     4   stack_bound: bytes of native stack a call may use at most
//! 24     4   max_call_depth: nested wasm calls before a call traps
//! 28     4   instantiate: image offset of `void instantiate(void)` (Thumb
//!            bit set on thumbv7em; even on riscv32imac)
//! 32     4   reloc_count
//! 36     4   import_count
//! 40     4   export_count
//! 44     4   reserved, zero
//! 48     image_len      the image
//! ..     12 * reloc_count  relocations: kind u8, reserved u8 (0), import u16,
//!                        offset u32 (in the image), value u32
//! ..     imports: kind u8 (0 runtime, 1 wasm function), module (u8 length + UTF-8),
//!        name (u8 length + UTF-8), params (u8 count + value types), results (likewise)
//! ..     exports: name (u8 length + UTF-8), entry u32 (image offset, as instantiate's),
//!        params, results
//! ```
//!
//! Integers are little-endian; value types are wasm's codes (`0x7f` i32,
//! `0x7e` i64). Each export's entry has the C signature
//! `uint64_t entry(const uint64_t *args, int32_t *fuel)`.
//! Relocation kinds ([`RelocKind`]): the image was laid out at address 0;
//! the loader adds its load address (or an import's address) to a word or
//! to a `movw`/`movt` pair's immediate (thumbv7em only: RISC-V code is
//! PC-relative but for data words).

use core::fmt;

mod wasm;
pub use wasm::{SECTION_NAME, custom_section, find_in_wasm, initial_memory_bytes, initial_table_elements};

/// The first four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"AKAO";
/// The format this crate reads and writes.
pub const FORMAT_VERSION: u8 = 1;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 48;
/// Length of one relocation record.
pub const RELOC_LEN: usize = 12;

/// The instruction set a blob is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Arch {
    /// Armv7E-M, Thumb-2, hard-float AAPCS (Cortex-M4F, M7).
    ThumbV7em = 1,
    /// RISC-V RV32IMAC, ilp32 (soft float) calling convention.
    Riscv32imac = 2,
}

impl Arch {
    /// The architecture of the CPU this code runs on, if blobs exist for it.
    pub const fn running() -> Option<Arch> {
        if cfg!(all(target_arch = "arm", target_abi = "eabihf")) {
            Some(Arch::ThumbV7em)
        } else if cfg!(target_arch = "riscv32") {
            Some(Arch::Riscv32imac)
        } else {
            None
        }
    }

    /// Whether `entry` can be an entry point of this architecture's code:
    /// Thumb entry points carry bit 0 (the Thumb state), RISC-V ones are
    /// 2-byte aligned.
    fn entry_ok(self, entry: u32) -> bool {
        match self {
            Arch::ThumbV7em => entry & 1 == 1,
            Arch::Riscv32imac => entry & 1 == 0,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arch::ThumbV7em => "thumbv7em",
            Arch::Riscv32imac => "riscv32imac",
        })
    }
}

/// How a relocation patches the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RelocKind {
    /// The 32-bit word at `offset` gets the load address added.
    Abs32 = 1,
    /// The 32-bit word at `offset` gets import `import`'s address added.
    Abs32Import = 2,
    /// The Thumb-2 `movw` at `offset` gets the low half of load address + `value`.
    MovwAbs = 3,
    /// The Thumb-2 `movt` at `offset` gets the high half of load address + `value`.
    MovtAbs = 4,
}

impl RelocKind {
    fn from_code(code: u8) -> Option<RelocKind> {
        Some(match code {
            1 => RelocKind::Abs32,
            2 => RelocKind::Abs32Import,
            3 => RelocKind::MovwAbs,
            4 => RelocKind::MovtAbs,
            _ => return None,
        })
    }
}

/// One relocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reloc {
    /// What to patch, and how.
    pub kind: RelocKind,
    /// The import whose address is added ([`RelocKind::Abs32Import`] only).
    pub import: u16,
    /// Where, in the image.
    pub offset: u32,
    /// The image-relative target ([`RelocKind::MovwAbs`], [`RelocKind::MovtAbs`]).
    pub value: u32,
}

/// What an import is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ImportKind {
    /// A function of the AOT runtime (`memcpy`, the trap and allocation
    /// hooks); its module is empty.
    Runtime = 0,
    /// A wasm import: a host function under the guard.
    WasmFunction = 1,
}

/// A wasm value type a compute function takes or returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ValType {
    /// `i32`
    I32 = 0x7f,
    /// `i64`
    I64 = 0x7e,
}

impl ValType {
    fn from_code(code: u8) -> Option<ValType> {
        match code {
            0x7f => Some(ValType::I32),
            0x7e => Some(ValType::I64),
            _ => None,
        }
    }
}

/// A list of value types, as stored in the blob.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Types<'a>(&'a [u8]);

impl Types<'_> {
    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The types, in order.
    pub fn iter(&self) -> impl Iterator<Item = ValType> + '_ {
        // Checked when the blob was parsed.
        self.0.iter().filter_map(|&code| ValType::from_code(code))
    }
}

impl fmt::Debug for Types<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One entry of the import table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Import<'a> {
    /// Runtime function or wasm import.
    pub kind: ImportKind,
    /// The wasm module name (empty for runtime functions).
    pub module: &'a str,
    /// The function's name.
    pub name: &'a str,
    /// Parameter types (wasm imports).
    pub params: Types<'a>,
    /// Result types (wasm imports).
    pub results: Types<'a>,
}

/// One exported compute function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Export<'a> {
    /// The wasm export name.
    pub name: &'a str,
    /// Image offset of its entry (Thumb bit set on thumbv7em).
    pub entry: u32,
    /// Parameter types.
    pub params: Types<'a>,
    /// Result types (none or one).
    pub results: Types<'a>,
}

/// Why a blob was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FormatError {
    /// The bytes do not start with [`MAGIC`].
    BadMagic,
    /// A format version this crate does not read.
    UnsupportedVersion(u8),
    /// An instruction set this crate does not know.
    UnknownArch(u8),
    /// Reserved bytes are not zero.
    ReservedNotZero,
    /// The blob ends inside a field.
    Truncated,
    /// Bytes follow the export table.
    TrailingBytes,
    /// The image alignment is not a power of two in 4..=4096.
    BadAlign(u32),
    /// A relocation kind this crate does not know.
    UnknownReloc(u8),
    /// A relocation or entry points outside the image, or an import index
    /// outside the table.
    OutOfRange,
    /// An unknown import kind.
    UnknownImportKind(u8),
    /// A value type other than i32 and i64.
    UnknownValType(u8),
    /// A name is not UTF-8.
    BadName,
    /// The wasm module's memory is not one 32-bit memory whose initial
    /// size fits 4 GiB (several memories, a 64-bit memory, a page size
    /// above 64 KiB).
    UnsupportedMemory,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::BadMagic => f.write_str("not an AOT blob (bad magic)"),
            FormatError::UnsupportedVersion(v) => write!(f, "AOT blob format {v} is not supported"),
            FormatError::UnknownArch(a) => write!(f, "unknown instruction set {a}"),
            FormatError::ReservedNotZero => f.write_str("reserved header bytes are not zero"),
            FormatError::Truncated => f.write_str("the blob is truncated"),
            FormatError::TrailingBytes => f.write_str("bytes follow the export table"),
            FormatError::BadAlign(a) => write!(f, "image alignment {a} is not a power of two in 4..=4096"),
            FormatError::UnknownReloc(k) => write!(f, "unknown relocation kind {k}"),
            FormatError::OutOfRange => f.write_str("a relocation, entry or import index is out of range"),
            FormatError::UnknownImportKind(k) => write!(f, "unknown import kind {k}"),
            FormatError::UnknownValType(t) => write!(f, "unsupported value type 0x{t:02x}"),
            FormatError::BadName => f.write_str("a name is not UTF-8"),
            FormatError::UnsupportedMemory => f.write_str(
                "the module's memory is not one 32-bit memory of at most 4 GiB with pages of at most 64 KiB",
            ),
        }
    }
}

impl core::error::Error for FormatError {}

/// The fixed header's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// The instruction set.
    pub arch: Arch,
    /// Bytes of code and initialised data.
    pub image_len: u32,
    /// Zero-filled bytes after the image.
    pub bss_len: u32,
    /// The image's alignment.
    pub image_align: u32,
    /// Bytes of native stack a call may use at most.
    pub stack_bound: u32,
    /// Nested wasm calls before a call traps.
    pub max_call_depth: u32,
    /// Image offset of the instantiation function (Thumb bit set on thumbv7em).
    pub instantiate: u32,
}

/// A checked blob, borrowing its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Blob<'a> {
    /// The header.
    pub header: Header,
    /// The image (code and initialised data, laid out at address 0).
    pub image: &'a [u8],
    relocs: &'a [u8],
    imports: &'a [u8],
    import_count: u32,
    exports: &'a [u8],
    bytes: &'a [u8],
    export_count: u32,
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        if self.0.len() < n {
            return Err(FormatError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, FormatError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, FormatError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn name(&mut self) -> Result<&'a str, FormatError> {
        let len = self.u8()?;
        core::str::from_utf8(self.take(usize::from(len))?).map_err(|_| FormatError::BadName)
    }
    fn types(&mut self) -> Result<Types<'a>, FormatError> {
        let len = self.u8()?;
        let codes = self.take(usize::from(len))?;
        if let Some(&bad) = codes.iter().find(|&&c| ValType::from_code(c).is_none()) {
            return Err(FormatError::UnknownValType(bad));
        }
        Ok(Types(codes))
    }
    fn import(&mut self) -> Result<Import<'a>, FormatError> {
        let kind = match self.u8()? {
            0 => ImportKind::Runtime,
            1 => ImportKind::WasmFunction,
            other => return Err(FormatError::UnknownImportKind(other)),
        };
        Ok(Import { kind, module: self.name()?, name: self.name()?, params: self.types()?, results: self.types()? })
    }
    fn export(&mut self) -> Result<Export<'a>, FormatError> {
        Ok(Export { name: self.name()?, entry: self.u32()?, params: self.types()?, results: self.types()? })
    }
}

fn usize_of(n: u32) -> usize {
    // Targets are 32 or 64 bits wide.
    n as usize
}

impl<'a> Blob<'a> {
    /// Checks a blob: header, every relocation, import and export.
    pub fn parse(bytes: &'a [u8]) -> Result<Blob<'a>, FormatError> {
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC {
            return Err(FormatError::BadMagic);
        }
        let version = r.u8()?;
        if version != FORMAT_VERSION {
            return Err(FormatError::UnsupportedVersion(version));
        }
        let arch = match r.u8()? {
            1 => Arch::ThumbV7em,
            2 => Arch::Riscv32imac,
            other => return Err(FormatError::UnknownArch(other)),
        };
        if r.take(2)? != [0, 0] {
            return Err(FormatError::ReservedNotZero);
        }
        let image_len = r.u32()?;
        let bss_len = r.u32()?;
        let image_align = r.u32()?;
        if !image_align.is_power_of_two() || !(4..=4096).contains(&image_align) {
            return Err(FormatError::BadAlign(image_align));
        }
        let stack_bound = r.u32()?;
        let max_call_depth = r.u32()?;
        let instantiate = r.u32()?;
        let reloc_count = r.u32()?;
        let import_count = r.u32()?;
        let export_count = r.u32()?;
        if r.u32()? != 0 {
            return Err(FormatError::ReservedNotZero);
        }
        let image = r.take(usize_of(image_len))?;
        let relocs_len = usize_of(reloc_count).checked_mul(RELOC_LEN).ok_or(FormatError::Truncated)?;
        let relocs = r.take(relocs_len)?;
        let in_code = |entry: u32| arch.entry_ok(entry) && entry < image_len;
        if !in_code(instantiate) {
            return Err(FormatError::OutOfRange);
        }
        let imports_start = r.0;
        for _ in 0..import_count {
            r.import()?;
        }
        let imports = &imports_start[..imports_start.len() - r.0.len()];
        let exports_start = r.0;
        for _ in 0..export_count {
            if !in_code(r.export()?.entry) {
                return Err(FormatError::OutOfRange);
            }
        }
        let exports = &exports_start[..exports_start.len() - r.0.len()];
        if !r.0.is_empty() {
            return Err(FormatError::TrailingBytes);
        }
        let header = Header { arch, image_len, bss_len, image_align, stack_bound, max_call_depth, instantiate };
        let blob = Blob { header, image, relocs, imports, import_count, exports, bytes, export_count };
        for reloc in blob.relocs() {
            let reloc = reloc?;
            let fits = reloc.offset.checked_add(4).is_some_and(|end| end <= image_len) && reloc.offset % 2 == 0;
            let import_ok = reloc.kind != RelocKind::Abs32Import || u32::from(reloc.import) < import_count;
            let value_ok = reloc.value <= image_len.saturating_add(bss_len);
            let kind_ok = arch == Arch::ThumbV7em || matches!(reloc.kind, RelocKind::Abs32 | RelocKind::Abs32Import);
            if !fits || !import_ok || !value_ok || !kind_ok {
                return Err(FormatError::OutOfRange);
            }
        }
        Ok(blob)
    }

    /// The whole blob, as parsed.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The relocations, in order.
    pub fn relocs(&self) -> impl Iterator<Item = Result<Reloc, FormatError>> + 'a {
        self.relocs.chunks_exact(RELOC_LEN).map(|r| {
            let kind = RelocKind::from_code(r[0]).ok_or(FormatError::UnknownReloc(r[0]))?;
            if r[1] != 0 {
                return Err(FormatError::ReservedNotZero);
            }
            Ok(Reloc {
                kind,
                import: u16::from_le_bytes([r[2], r[3]]),
                offset: u32::from_le_bytes([r[4], r[5], r[6], r[7]]),
                value: u32::from_le_bytes([r[8], r[9], r[10], r[11]]),
            })
        })
    }

    /// The import table, in order (relocations name imports by index).
    pub fn imports(&self) -> impl Iterator<Item = Import<'a>> + 'a {
        let mut r = Reader(self.imports);
        // Checked by `parse`.
        (0..self.import_count).filter_map(move |_| r.import().ok())
    }

    /// How many imports.
    pub fn import_count(&self) -> usize {
        usize_of(self.import_count)
    }

    /// The exported compute functions.
    pub fn exports(&self) -> impl Iterator<Item = Export<'a>> + 'a {
        let mut r = Reader(self.exports);
        (0..self.export_count).filter_map(move |_| r.export().ok())
    }

    /// The export named `name`.
    pub fn export(&self, name: &str) -> Option<Export<'a>> {
        self.exports().find(|e| e.name == name)
    }
}

/// Writes blobs (host tools).
#[cfg(feature = "alloc")]
pub mod write;
