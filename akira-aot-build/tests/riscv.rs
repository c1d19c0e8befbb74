//! The RISC-V target (`riscv32imac`) end to end on the host: wasm in, blob
//! out, linked with the device crate's linker, and the patched calls
//! decoded. Needs wasm2c (wabt) and clang with the RISC-V and wasm32
//! backends (Debian's clang has both).

use akira_aot::format::{Arch, Blob, ImportKind, RelocKind};
use akira_aot_build::{AotBuildError, Options, RUNTIME_IMPORTS, Target, compile};

mod common;

use common::{kernels_wasm, linked};

fn riscv() -> Options {
    Options { target: Target::Riscv32imac, ..Options::default() }
}

fn word(image: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(image[at..at + 4].try_into().unwrap())
}

fn sext(v: u32, bits: u32) -> i64 {
    i64::from(((v << (32 - bits)) as i32) >> (32 - bits))
}

#[test]
fn targets_are_named_as_the_cli_names_them() {
    assert_eq!("riscv32imac".parse::<Target>().unwrap(), Target::Riscv32imac);
    assert_eq!("thumbv7em".parse::<Target>().unwrap(), Target::Thumbv7em);
    assert_eq!(Target::default(), Target::Thumbv7em);
    assert!(matches!("riscv64".parse::<Target>(), Err(AotBuildError::UnknownTarget(n)) if n == "riscv64"));
}

#[test]
fn kernels_compile_for_riscv_with_data_words_the_only_device_relocations() {
    let compiled = compile(&kernels_wasm(), &riscv()).unwrap();
    let blob = Blob::parse(&compiled.blob).unwrap();
    assert_eq!(blob.header.arch, Arch::Riscv32imac);
    let names: Vec<_> = blob.exports().map(|e| e.name).collect();
    assert_eq!(names, ["crc32", "sha256", "matmul", "sort", "peek", "spin", "recurse"]);
    for export in blob.exports() {
        assert_eq!(export.entry & 1, 0, "no Thumb bit on RISC-V entry points");
    }
    assert_eq!(blob.header.instantiate & 1, 0);
    for import in blob.imports() {
        assert_eq!(import.kind, ImportKind::Runtime);
        assert!(RUNTIME_IMPORTS.contains(&import.name), "{}", import.name);
    }
    // medany: everything inside the image is PC-relative, resolved here.
    for reloc in blob.relocs() {
        assert!(matches!(reloc.unwrap().kind, RelocKind::Abs32 | RelocKind::Abs32Import));
    }
    let resolved = &compiled.report.resolved;
    assert!(resolved.get(&object::elf::R_RISCV_CALL_PLT).or(resolved.get(&object::elf::R_RISCV_CALL)).is_some());
    assert!(resolved.contains_key(&object::elf::R_RISCV_PCREL_HI20));
    let code = compiled.report.code_len;
    assert!((2_000..16_000).contains(&code), "{code} bytes of code");
}

/// Every `auipc ra` + `jalr ra, ra` pair (a `call`) after linking at a
/// device address lands on an instruction inside the code or on an
/// import's veneer, whose address word holds the import's address.
#[test]
fn linked_calls_land_in_the_code_or_on_a_veneer() {
    let compiled = compile(&kernels_wasm(), &riscv()).unwrap();
    let blob = Blob::parse(&compiled.blob).unwrap();
    let fake = |i: usize| 0x2000_0000 + 0x100 * i;
    let (region, placed) = linked(&blob, 0x8000_1000, fake);
    let image = &region[placed.start..placed.start + blob.header.image_len as usize];
    // Veneers: auipc t1, 0; lw t1, 12(t1); jr t1; the import's address.
    let mut veneers = Vec::new();
    for reloc in blob.relocs().map(Result::unwrap).filter(|r| r.kind == RelocKind::Abs32Import) {
        let at = reloc.offset as usize;
        assert_eq!([word(image, at - 12), word(image, at - 8), word(image, at - 4)], [0x317, 0x00c3_2303, 0x30067]);
        assert_eq!(word(image, at) as usize, fake(usize::from(reloc.import)));
        veneers.push(at - 12);
    }
    assert_eq!(veneers.len(), blob.import_count());
    let code_end = compiled.report.code_len as usize;
    let (mut calls, mut to_veneers) = (0, 0);
    let mut at = 0;
    while at + 8 <= code_end {
        let (auipc, jalr) = (word(image, at), word(image, at + 4));
        if auipc & 0xfff == 0x097 && jalr & 0xf_ffff == 0x0_80e7 {
            let target = at as i64 + i64::from((auipc & 0xffff_f000) as i32) + sext(jalr >> 20, 12);
            let target = usize::try_from(target).unwrap();
            assert!(target < code_end || veneers.contains(&target), "call at 0x{at:x} to 0x{target:x}");
            assert_eq!(target % 2, 0);
            calls += 1;
            to_veneers += usize::from(veneers.contains(&target));
        }
        // Instructions are 2 or 4 bytes (the C extension).
        at += if image[at] & 3 == 3 { 4 } else { 2 };
    }
    assert!(calls >= 40, "{calls} calls decoded");
    assert!(to_veneers >= 7, "every import called: {to_veneers}");
}

/// A relocation the linker does not know (here the absolute `%hi`/`%lo`
/// pairs of the medlow code model, which would need the load address)
/// is a build error naming it, never ignored.
#[test]
fn an_unknown_relocation_is_refused_by_name() {
    let wasm =
        wat::parse_str(r#"(module (memory 1) (func (export "f") (param i32) (result i32) (i32.load (local.get 0))))"#)
            .unwrap();
    // opt_level is one clang argument: the code model replaces -Os here.
    let medlow = Options { opt_level: "-mcmodel=medlow".into(), ..riscv() };
    let err = compile(&wasm, &medlow).unwrap_err();
    assert!(matches!(err, AotBuildError::UnsupportedRelocation("RISC-V", object::elf::R_RISCV_HI20)), "{err}");
    assert!(err.to_string().contains("R_RISCV_HI20"), "{err}");
}

/// A blob's entry points and relocation kinds must fit its instruction
/// set: a RISC-V blob relabelled Thumb (even entry points), or carrying a
/// Thumb `movw` relocation, is refused.
#[test]
fn a_blob_must_fit_its_instruction_set() {
    let compiled = compile(&kernels_wasm(), &riscv()).unwrap();
    let mut relabelled = compiled.blob.clone();
    relabelled[5] = Arch::ThumbV7em as u8;
    assert!(Blob::parse(&relabelled).is_err());
    let blob = Blob::parse(&compiled.blob).unwrap();
    let relocs_at = akira_aot::format::HEADER_LEN + blob.header.image_len as usize;
    let mut movw = compiled.blob.clone();
    movw[relocs_at] = RelocKind::MovwAbs as u8;
    assert!(Blob::parse(&movw).is_err());
}
