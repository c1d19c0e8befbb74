//! Placing an image in RAM and applying its relocations: portable code
//! (host tests run it), whatever executes the result.

use core::fmt;

use crate::format::{Blob, FormatError, Import, RelocKind};

/// Why a blob could not be linked into a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LinkError {
    /// The blob itself is malformed.
    Format(FormatError),
    /// The region cannot hold the aligned image, its zeroed data and the
    /// bytes the caller asked to keep free after them.
    RegionTooSmall {
        /// Bytes needed, alignment padding included.
        needed: u32,
        /// Bytes the region has.
        available: u32,
    },
    /// An import is not bound: its index in the import table. For a wasm
    /// import this is the guard's refusal (the capability is not granted).
    Unbound(u16),
    /// A `movw`/`movt` relocation does not patch a `movw`/`movt`.
    NotMovwMovt(u32),
    /// The blob needs more native stack than the caller allows.
    StackTooLarge {
        /// The blob's bound, in bytes.
        needed: u32,
        /// The caller's limit, in bytes.
        limit: u32,
    },
}

impl From<FormatError> for LinkError {
    fn from(e: FormatError) -> Self {
        LinkError::Format(e)
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Format(e) => write!(f, "malformed AOT blob: {e}"),
            LinkError::RegionTooSmall { needed, available } => {
                write!(f, "the AOT region holds {available} bytes, the module needs {needed}")
            }
            LinkError::Unbound(i) => write!(f, "import {i} is not bound (not granted or unknown)"),
            LinkError::NotMovwMovt(at) => write!(f, "relocation at 0x{at:x} does not patch movw/movt"),
            LinkError::StackTooLarge { needed, limit } => {
                write!(f, "the module needs {needed} bytes of stack, the limit is {limit}")
            }
        }
    }
}

impl core::error::Error for LinkError {}

/// Where an image landed in a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Placement {
    /// Offset of the image in the region (alignment padding).
    pub start: usize,
    /// Offset just past the zeroed data: the rest of the region is free.
    pub end: usize,
}

fn read_u32(image: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([image[at], image[at + 1], image[at + 2], image[at + 3]])
}

fn write_u32(image: &mut [u8], at: usize, v: u32) {
    image[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Sets the 16-bit immediate of a Thumb-2 `movw` (`is_movt` false) or
/// `movt` at `at`: `imm4:i:imm3:imm8` spread over two halfwords.
fn patch_mov(image: &mut [u8], at: usize, is_movt: bool, imm: u16) -> Result<(), LinkError> {
    let hw1 = u16::from_le_bytes([image[at], image[at + 1]]);
    let hw2 = u16::from_le_bytes([image[at + 2], image[at + 3]]);
    // movw T3: 11110 i 10 0 1 0 0 imm4 | 0 imm3 Rd imm8; movt T1: ... 1 0 1 1 0 0 ...
    let expected = if is_movt { 0xf2c0 } else { 0xf240 };
    if hw1 & 0xfbf0 != expected || hw2 & 0x8000 != 0 {
        return Err(LinkError::NotMovwMovt(at as u32));
    }
    let imm = u32::from(imm);
    let hw1 = (hw1 & 0xfbf0) | ((imm >> 12) & 0xf) as u16 | ((((imm >> 11) & 1) as u16) << 10);
    let hw2 = (hw2 & 0x8f00) | ((((imm >> 8) & 0x7) as u16) << 12) | (imm & 0xff) as u16;
    image[at..at + 2].copy_from_slice(&hw1.to_le_bytes());
    image[at + 2..at + 4].copy_from_slice(&hw2.to_le_bytes());
    Ok(())
}

/// Copies `blob`'s image into `region` (aligned as the blob asks), zeroes
/// its data after it, and applies every relocation as if the region's
/// first byte were at address `region_addr`. `resolve` gives each import's
/// address (`None`: refused). `keep_free` bytes must remain after the
/// image and its data (the module's linear memory lives there).
///
/// Nothing is executed; on an error the region holds garbage that must
/// not be run.
pub fn link(
    blob: &Blob<'_>,
    region: &mut [u8],
    region_addr: usize,
    keep_free: u32,
    mut resolve: impl FnMut(&Import<'_>) -> Option<usize>,
) -> Result<Placement, LinkError> {
    let h = &blob.header;
    let align = h.image_align as usize;
    let start = region_addr.next_multiple_of(align) - region_addr;
    let needed = start as u64 + u64::from(h.image_len) + u64::from(h.bss_len) + u64::from(keep_free);
    if needed > region.len() as u64 {
        return Err(LinkError::RegionTooSmall {
            needed: u32::try_from(needed).unwrap_or(u32::MAX),
            available: u32::try_from(region.len()).unwrap_or(u32::MAX),
        });
    }
    let end = start + h.image_len as usize + h.bss_len as usize;
    let image = &mut region[start..end];
    let (code, bss) = image.split_at_mut(h.image_len as usize);
    code.copy_from_slice(blob.image);
    bss.fill(0);
    // Resolved before patching so that a refused import leaves nothing half-done.
    let mut addresses = [0usize; 64];
    let imports = blob.import_count();
    if imports > addresses.len() {
        // More imports than a compute module needs: refuse the rest.
        return Err(LinkError::Unbound(addresses.len() as u16));
    }
    for (i, import) in blob.imports().enumerate() {
        addresses[i] = resolve(&import).ok_or(LinkError::Unbound(i as u16))?;
    }
    // Addresses are 32-bit on the devices this runs on; host tests use
    // regions below 4 GiB offsets just the same (wrapping arithmetic).
    let base = (region_addr + start) as u32;
    for reloc in blob.relocs() {
        let r = reloc?;
        let at = r.offset as usize;
        match r.kind {
            RelocKind::Abs32 => write_u32(code, at, read_u32(code, at).wrapping_add(base)),
            RelocKind::Abs32Import => {
                let target = addresses[usize::from(r.import)] as u32;
                write_u32(code, at, read_u32(code, at).wrapping_add(target));
            }
            RelocKind::MovwAbs => patch_mov(code, at, false, base.wrapping_add(r.value) as u16)?,
            RelocKind::MovtAbs => patch_mov(code, at, true, (base.wrapping_add(r.value) >> 16) as u16)?,
        }
    }
    Ok(Placement { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn movw_movt_immediates_round_trip() {
        // movw r0, #0 ; movt r0, #0
        let mut code = [0x40, 0xf2, 0x00, 0x00, 0xc0, 0xf2, 0x00, 0x00];
        patch_mov(&mut code, 0, false, 0xbeef).unwrap();
        patch_mov(&mut code, 4, true, 0xdead).unwrap();
        // Encodings from the Armv7-M manual (what `as` gives for movw r0, #0xbeef / movt r0, #0xdead).
        assert_eq!(code, [0x4b, 0xf6, 0xef, 0x60, 0xcd, 0xf6, 0xad, 0x60]);
    }

    #[test]
    fn a_movw_relocation_on_another_instruction_is_refused() {
        let mut code = [0x00, 0xbf, 0x00, 0xbf]; // two nops
        assert_eq!(patch_mov(&mut code, 0, false, 1), Err(LinkError::NotMovwMovt(0)));
    }
}
