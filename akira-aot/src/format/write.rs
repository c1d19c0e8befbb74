//! Writes blobs (host tools).

extern crate alloc;
use alloc::vec::Vec;

use super::{Arch, FORMAT_VERSION, ImportKind, MAGIC, RelocKind, ValType};

/// An import to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSpec {
    /// Runtime function or wasm import.
    pub kind: ImportKind,
    /// Module name (empty for runtime functions).
    pub module: alloc::string::String,
    /// Function name.
    pub name: alloc::string::String,
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}

/// An export to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSpec {
    /// The wasm export name.
    pub name: alloc::string::String,
    /// Image offset of the entry (Thumb bit set on thumbv7em).
    pub entry: u32,
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}

/// A relocation to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelocSpec {
    /// Kind.
    pub kind: RelocKind,
    /// Import index ([`RelocKind::Abs32Import`]).
    pub import: u16,
    /// Offset in the image.
    pub offset: u32,
    /// Image-relative target (`movw`/`movt`).
    pub value: u32,
}

/// Everything a blob holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobSpec {
    /// Instruction set.
    pub arch: Arch,
    /// Code and initialised data, laid out at 0.
    pub image: Vec<u8>,
    /// Zero-filled bytes after the image.
    pub bss_len: u32,
    /// Alignment of the image.
    pub image_align: u32,
    /// Native stack bound of a call, in bytes.
    pub stack_bound: u32,
    /// Call-depth bound.
    pub max_call_depth: u32,
    /// Image offset of the instantiation function (Thumb bit set on thumbv7em).
    pub instantiate: u32,
    /// Relocations.
    pub relocs: Vec<RelocSpec>,
    /// Import table.
    pub imports: Vec<ImportSpec>,
    /// Export table.
    pub exports: Vec<ExportSpec>,
}

fn len_u8(n: usize) -> u8 {
    u8::try_from(n).expect("names and signatures are checked to fit a byte")
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).expect("AOT images are far below 4 GiB")
}

fn name(out: &mut Vec<u8>, s: &str) {
    out.push(len_u8(s.len()));
    out.extend_from_slice(s.as_bytes());
}

fn types(out: &mut Vec<u8>, t: &[ValType]) {
    out.push(len_u8(t.len()));
    out.extend(t.iter().map(|&t| t as u8));
}

impl BlobSpec {
    /// The blob's bytes. Names longer than 255 bytes and more than 255
    /// parameters panic: the builder checks them first.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[FORMAT_VERSION, self.arch as u8, 0, 0]);
        for field in [
            len_u32(self.image.len()),
            self.bss_len,
            self.image_align,
            self.stack_bound,
            self.max_call_depth,
            self.instantiate,
            len_u32(self.relocs.len()),
            len_u32(self.imports.len()),
            len_u32(self.exports.len()),
            0,
        ] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&self.image);
        for r in &self.relocs {
            out.extend_from_slice(&[r.kind as u8, 0]);
            out.extend_from_slice(&r.import.to_le_bytes());
            out.extend_from_slice(&r.offset.to_le_bytes());
            out.extend_from_slice(&r.value.to_le_bytes());
        }
        for i in &self.imports {
            out.push(i.kind as u8);
            name(&mut out, &i.module);
            name(&mut out, &i.name);
            types(&mut out, &i.params);
            types(&mut out, &i.results);
        }
        for e in &self.exports {
            name(&mut out, &e.name);
            out.extend_from_slice(&e.entry.to_le_bytes());
            types(&mut out, &e.params);
            types(&mut out, &e.results);
        }
        out
    }
}
