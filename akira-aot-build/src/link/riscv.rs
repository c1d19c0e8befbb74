//! RISC-V (rv32imac, `-mcmodel=medany -mno-relax`): the veneer and the
//! RISC-V ELF relocations clang emits. Everything inside the image is
//! PC-relative and resolved here; only data words holding an address
//! (`R_RISCV_32`) are left for the device. Relocations are RELA: the
//! addend comes with the relocation, not from the instruction.

use object::elf;

use super::{Patcher, Resolved};
use crate::AotBuildError;

/// `auipc t1, 0; lw t1, 12(t1); jr t1`, followed by the target's address:
/// a veneer that reaches any address from a `call` in the image, using
/// only `t1` (a temporary no argument lives in).
pub(super) const VENEER: [u8; 12] = {
    let mut v = [0u8; 12];
    let words = [0x0000_0317u32, 0x00c3_2303, 0x0003_0067];
    let mut i = 0;
    while i < 3 {
        let b = words[i].to_le_bytes();
        v[4 * i] = b[0];
        v[4 * i + 1] = b[1];
        v[4 * i + 2] = b[2];
        v[4 * i + 3] = b[3];
        i += 1;
    }
    v
};
pub(super) const VENEER_LEN: u32 = 16;

/// The `%pcrel_hi` relocations, which the `%pcrel_lo` ones refer to: they
/// are applied in a first pass.
pub(super) fn first_pass(r_type: u32) -> bool {
    r_type == elf::R_RISCV_PCREL_HI20
}

fn out_of_range(what: &str, at: usize) -> AotBuildError {
    AotBuildError::Link(format!("{what} at 0x{at:x} out of range"))
}

/// The `(hi20, lo12)` split of a PC-relative offset: `hi20 << 12` plus
/// the sign-extended `lo12` is the offset.
fn split(offset: i64) -> (u32, u32) {
    let hi = ((offset + 0x800) >> 12) as u32 & 0xf_ffff;
    let lo = (offset as u32) & 0xfff;
    (hi, lo)
}

/// Sets the 20-bit immediate of a U-type instruction (`auipc`).
fn set_u(insn: u32, hi20: u32) -> u32 {
    (insn & 0xfff) | (hi20 << 12)
}

/// Sets the 12-bit immediate of an I-type instruction (`jalr`, loads, `addi`).
fn set_i(insn: u32, lo12: u32) -> u32 {
    (insn & 0x000f_ffff) | (lo12 << 20)
}

/// Sets the 12-bit immediate of an S-type instruction (stores).
fn set_s(insn: u32, lo12: u32) -> u32 {
    (insn & 0x01ff_f07f) | ((lo12 >> 5) << 25) | ((lo12 & 0x1f) << 7)
}

/// Sets the offset of a B-type instruction (conditional branch, ±4 KiB).
fn set_b(insn: u32, offset: i64, at: usize) -> Result<u32, AotBuildError> {
    if !(-0x1000..0x1000).contains(&offset) || offset & 1 != 0 {
        return Err(out_of_range("branch", at));
    }
    let o = offset as u32;
    let imm = ((o >> 12) & 1) << 31 | ((o >> 5) & 0x3f) << 25 | ((o >> 1) & 0xf) << 8 | ((o >> 11) & 1) << 7;
    Ok((insn & 0x01ff_f07f) | imm)
}

/// Sets the offset of a J-type instruction (`jal`, ±1 MiB).
fn set_j(insn: u32, offset: i64, at: usize) -> Result<u32, AotBuildError> {
    if !(-0x10_0000..0x10_0000).contains(&offset) || offset & 1 != 0 {
        return Err(out_of_range("jump", at));
    }
    let o = offset as u32;
    let imm = ((o >> 20) & 1) << 31 | ((o >> 1) & 0x3ff) << 21 | ((o >> 11) & 1) << 20 | ((o >> 12) & 0xff) << 12;
    Ok((insn & 0xfff) | imm)
}

/// Sets the offset of a compressed `c.beqz`/`c.bnez` (CB format, ±256 B).
fn set_cb(insn: u16, offset: i64, at: usize) -> Result<u16, AotBuildError> {
    if !(-0x100..0x100).contains(&offset) || offset & 1 != 0 {
        return Err(out_of_range("compressed branch", at));
    }
    let o = offset as u16;
    let imm =
        ((o >> 8) & 1) << 12 | ((o >> 3) & 3) << 10 | ((o >> 6) & 3) << 5 | ((o >> 1) & 3) << 3 | ((o >> 5) & 1) << 2;
    Ok((insn & 0xe383) | imm)
}

/// Sets the offset of a compressed `c.j`/`c.jal` (CJ format, ±2 KiB).
fn set_cj(insn: u16, offset: i64, at: usize) -> Result<u16, AotBuildError> {
    if !(-0x800..0x800).contains(&offset) || offset & 1 != 0 {
        return Err(out_of_range("compressed jump", at));
    }
    let o = offset as u16;
    let imm = ((o >> 11) & 1) << 12
        | ((o >> 4) & 1) << 11
        | ((o >> 8) & 3) << 9
        | ((o >> 10) & 1) << 8
        | ((o >> 6) & 1) << 7
        | ((o >> 7) & 1) << 6
        | ((o >> 1) & 7) << 3
        | ((o >> 5) & 1) << 2;
    Ok((insn & 0xe003) | imm)
}

fn half(p: &Patcher<'_>, at: usize) -> u16 {
    u16::from_le_bytes([p.image[at], p.image[at + 1]])
}

fn set_half(p: &mut Patcher<'_>, at: usize, value: u16) {
    p.image[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

/// Applies one RISC-V relocation at image offset `at`.
pub(super) fn apply(
    p: &mut Patcher<'_>,
    r_type: u32,
    at: usize,
    target: Resolved,
    addend: i64,
) -> Result<(), AotBuildError> {
    // Where the reference lands, relative to the instruction.
    let pc_relative = i64::from(p.address(target)) + addend - at as i64;
    match r_type {
        elf::R_RISCV_32 => p.abs32(at, target, addend as u32),
        elf::R_RISCV_CALL | elf::R_RISCV_CALL_PLT => {
            // auipc ra, %hi; jalr ra, %lo(ra)
            let (hi, lo) = split(pc_relative);
            let (auipc, jalr) = (p.word(at), p.word(at + 4));
            p.set_word(at, set_u(auipc, hi));
            p.set_word(at + 4, set_i(jalr, lo));
        }
        elf::R_RISCV_PCREL_HI20 => {
            p.set_word(at, set_u(p.word(at), split(pc_relative).0));
            p.pcrel_hi.insert(at as u32, pc_relative);
        }
        elf::R_RISCV_PCREL_LO12_I | elf::R_RISCV_PCREL_LO12_S => {
            // The symbol is the label of the `auipc` whose value this completes.
            let Resolved::Image(auipc) = target else {
                return Err(AotBuildError::Link(format!("%pcrel_lo at 0x{at:x} refers to an import")));
            };
            let value = p.pcrel_hi.get(&auipc).ok_or_else(|| {
                AotBuildError::Link(format!("%pcrel_lo at 0x{at:x} without its %pcrel_hi at 0x{auipc:x}"))
            })?;
            let lo = split(*value).1;
            let insn = p.word(at);
            let insn = if r_type == elf::R_RISCV_PCREL_LO12_I { set_i(insn, lo) } else { set_s(insn, lo) };
            p.set_word(at, insn);
        }
        elf::R_RISCV_BRANCH => {
            let insn = set_b(p.word(at), pc_relative, at)?;
            p.set_word(at, insn);
        }
        elf::R_RISCV_JAL => {
            let insn = set_j(p.word(at), pc_relative, at)?;
            p.set_word(at, insn);
        }
        elf::R_RISCV_RVC_BRANCH => {
            let insn = set_cb(half(p, at), pc_relative, at)?;
            set_half(p, at, insn);
        }
        elf::R_RISCV_RVC_JUMP => {
            let insn = set_cj(half(p, at), pc_relative, at)?;
            set_half(p, at, insn);
        }
        // Hints for a relaxing linker: this one never shrinks code, so the
        // instructions (and any alignment nops) stay as they are.
        elf::R_RISCV_RELAX | elf::R_RISCV_ALIGN => return Ok(()),
        other => return Err(AotBuildError::UnsupportedRelocation("RISC-V", other)),
    }
    if r_type != elf::R_RISCV_32 {
        p.resolved(r_type);
    }
    Ok(())
}

/// Decoders of the immediates set above, for the tests (here and in the
/// crate's pipeline tests through a patched image).
#[cfg(test)]
mod decode {
    fn sext(v: u32, bits: u32) -> i64 {
        i64::from(((v << (32 - bits)) as i32) >> (32 - bits))
    }
    pub fn b(insn: u32) -> i64 {
        sext(
            ((insn >> 31) & 1) << 12 | ((insn >> 7) & 1) << 11 | ((insn >> 25) & 0x3f) << 5 | ((insn >> 8) & 0xf) << 1,
            13,
        )
    }
    pub fn j(insn: u32) -> i64 {
        sext(
            ((insn >> 31) & 1) << 20
                | ((insn >> 12) & 0xff) << 12
                | ((insn >> 20) & 1) << 11
                | ((insn >> 21) & 0x3ff) << 1,
            21,
        )
    }
    pub fn cb(insn: u16) -> i64 {
        let i = u32::from(insn);
        sext(
            ((i >> 12) & 1) << 8
                | ((i >> 5) & 3) << 6
                | ((i >> 2) & 1) << 5
                | ((i >> 10) & 3) << 3
                | ((i >> 3) & 3) << 1,
            9,
        )
    }
    pub fn cj(insn: u16) -> i64 {
        let i = u32::from(insn);
        sext(
            ((i >> 12) & 1) << 11
                | ((i >> 8) & 1) << 10
                | ((i >> 9) & 3) << 8
                | ((i >> 6) & 1) << 7
                | ((i >> 7) & 1) << 6
                | ((i >> 2) & 1) << 5
                | ((i >> 11) & 1) << 4
                | ((i >> 3) & 7) << 1,
            12,
        )
    }
    pub fn u_plus_i(auipc: u32, lo_insn: u32) -> i64 {
        i64::from((auipc & 0xffff_f000) as i32) + sext(lo_insn >> 20, 12)
    }
    pub fn u_plus_s(auipc: u32, store: u32) -> i64 {
        i64::from((auipc & 0xffff_f000) as i32) + sext((store >> 25) << 5 | ((store >> 7) & 0x1f), 12)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_and_jump_offsets_round_trip() {
        let beq = 0x0000_0063; // beq x0, x0, 0
        let jal = 0x0000_00ef; // jal ra, 0
        for offset in [-4096i64, -2, 0, 2, 0x7fe, 0xffe] {
            let insn = set_b(beq, offset, 0).unwrap();
            assert_eq!(decode::b(insn), offset);
            assert_eq!(insn & 0x01ff_f07f, beq, "registers and opcode kept");
        }
        for offset in [-0x10_0000i64, -2, 0, 0x7fe, 0x800, 0xf_fffe] {
            let insn = set_j(jal, offset, 0).unwrap();
            assert_eq!(decode::j(insn), offset);
            assert_eq!(insn & 0xfff, jal);
        }
        let c_beqz = 0xc001u16; // c.beqz s0, 0
        let c_j = 0xa001u16; // c.j 0
        for offset in [-256i64, -2, 0, 2, 0x40, 0xfe] {
            let insn = set_cb(c_beqz, offset, 0).unwrap();
            assert_eq!(decode::cb(insn), offset);
            assert_eq!(insn & 0xe383, c_beqz);
        }
        for offset in [-2048i64, -2, 0, 2, 0x400, 0x7fe] {
            let insn = set_cj(c_j, offset, 0).unwrap();
            assert_eq!(decode::cj(insn), offset);
            assert_eq!(insn & 0xe003, c_j);
        }
    }

    #[test]
    fn far_or_odd_branches_are_refused() {
        assert!(set_b(0x63, 0x1000, 0).is_err());
        assert!(set_b(0x63, 3, 0).is_err());
        assert!(set_j(0xef, 0x10_0000, 0).is_err());
        assert!(set_cb(0xc001, 0x100, 0).is_err());
        assert!(set_cj(0xa001, -0x802, 0).is_err());
    }

    #[test]
    fn hi_lo_pairs_add_up_to_the_offset() {
        let auipc = 0x0000_0097; // auipc ra, 0
        let jalr = 0x0000_80e7; // jalr ra, 0(ra)
        let sw = 0x0000_2023; // sw x0, 0(x0)
        for offset in [0i64, 4, 0x7ff, 0x800, 0xfff, -0x800, -0x801, 0x1234_5678, -0x7654_3210] {
            let (hi, lo) = split(offset);
            let (u, i, s) = (set_u(auipc, hi), set_i(jalr, lo), set_s(sw, lo));
            assert_eq!(decode::u_plus_i(u, i), offset, "{offset:x}");
            assert_eq!(decode::u_plus_s(u, s), offset, "{offset:x}");
            assert_eq!((u & 0xfff, i & 0xf_ffff, s & 0x01ff_f07f), (auipc, jalr, sw));
        }
    }
}
