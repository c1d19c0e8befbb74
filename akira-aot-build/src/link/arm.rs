//! Thumb-2 (thumbv7em): the veneer and the ARM ELF relocations clang
//! emits.

use akira_aot::format::RelocKind;
use akira_aot::format::write::RelocSpec;
use object::elf;

use super::{Patcher, Resolved};
use crate::AotBuildError;

/// `ldr.w pc, [pc, #0]` followed by the target's address: a veneer that
/// reaches any address from a `bl` in the image.
pub(super) const VENEER: [u8; 4] = [0xdf, 0xf8, 0x00, 0xf0];
pub(super) const VENEER_LEN: u32 = 8;

/// The branch offset of a Thumb-2 `bl`/`b.w` (T1/T4 encodings).
pub(super) fn decode_branch(b: &[u8], at: usize) -> i32 {
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

/// Applies one ARM relocation at image offset `at` (REL: the addend is
/// in the instruction or word).
pub(super) fn apply(p: &mut Patcher<'_>, r_type: u32, at: usize, target: Resolved) -> Result<(), AotBuildError> {
    match (r_type, target) {
        (elf::R_ARM_ABS32, target) => {
            let addend = p.word(at);
            p.abs32(at, target, addend);
        }
        (elf::R_ARM_REL32, Resolved::Image(t)) => {
            let v = p.word(at).wrapping_add(t).wrapping_sub(at as u32);
            p.set_word(at, v);
            p.resolved(r_type);
        }
        (elf::R_ARM_THM_PC22 | elf::R_ARM_THM_JUMP24, target) => {
            let t = p.address(target) & !1;
            let addend = decode_branch(p.image, at);
            let offset = (t as i64 + i64::from(addend) - at as i64) as i32;
            encode_branch(p.image, at, offset)?;
            p.resolved(r_type);
        }
        (elf::R_ARM_THM_MOVW_ABS_NC | elf::R_ARM_THM_MOVT_ABS, Resolved::Image(t)) => {
            let addend = decode_mov(p.image, at) as u16 as i16;
            let value = t.wrapping_add(addend as i32 as u32);
            let kind = if r_type == elf::R_ARM_THM_MOVW_ABS_NC { RelocKind::MovwAbs } else { RelocKind::MovtAbs };
            p.relocs.push(RelocSpec { kind, import: 0, offset: at as u32, value });
        }
        (elf::R_ARM_V4BX, _) => {}
        (other, _) => return Err(AotBuildError::UnsupportedRelocation("ARM", other)),
    }
    Ok(())
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
