//! The host pipeline end to end: wasm in, blob out, checked with the
//! device crate's reader and linker. Needs wasm2c (wabt) and clang with
//! the ARM and wasm32 backends (`.ci/run` installs them).

use akira_aot::format::{Blob, ImportKind, RelocKind, ValType};
use akira_aot::link::{LinkError, link};
use akira_aot_build::{AotBuildError, Options, RUNTIME_IMPORTS, compile};

mod common;

use common::{kernels_wasm, linked};

#[test]
fn kernels_compile_to_a_blob_with_four_relocation_kinds_at_most() {
    let compiled = compile(&kernels_wasm(), &Options::default()).unwrap();
    let blob = Blob::parse(&compiled.blob).unwrap();
    let names: Vec<_> = blob.exports().map(|e| e.name).collect();
    assert_eq!(names, ["crc32", "sha256", "matmul", "sort", "peek", "spin", "recurse"]);
    for export in blob.exports() {
        assert_eq!(export.params.iter().collect::<Vec<_>>(), [ValType::I32]);
        assert_eq!(export.entry & 1, 1, "Thumb entry points");
    }
    for import in blob.imports() {
        assert_eq!(import.kind, ImportKind::Runtime);
        assert!(RUNTIME_IMPORTS.contains(&import.name), "{}", import.name);
    }
    for reloc in blob.relocs() {
        let reloc = reloc.unwrap();
        assert!(matches!(
            reloc.kind,
            RelocKind::Abs32 | RelocKind::Abs32Import | RelocKind::MovwAbs | RelocKind::MovtAbs
        ));
    }
    // A few KiB of code for 3 KiB of wasm; `recurse` recurses, so the stack
    // bound covers the 69 C frames the stack can hold at call depth 64.
    let code = compiled.report.code_len;
    assert!((2_000..16_000).contains(&code), "{code} bytes of code");
    assert!(matches!(compiled.stack_bound_method, akira_aot_build::StackBoundMethod::LargestFrameTimesDepth(_)));
    assert_eq!(compiled.stack_bound, compiled.max_frame * 69);
    assert_eq!(blob.header.max_call_depth, 64);
}

#[test]
fn linking_patches_veneers_and_movw_movt_pairs_for_the_load_address() {
    let compiled = compile(&kernels_wasm(), &Options::default()).unwrap();
    let blob = Blob::parse(&compiled.blob).unwrap();
    let addr = 0x2000_1000;
    let fake = |i: usize| 0x1000_0001 + 0x100 * i;
    let (region, placed) = linked(&blob, addr, fake);
    let image = &region[placed.start..];
    let word = |at: usize| u32::from_le_bytes(image[at..at + 4].try_into().unwrap());
    let half = |at: usize| u32::from(u16::from_le_bytes(image[at..at + 2].try_into().unwrap()));
    let imm16 = |at: usize| {
        let (hw1, hw2) = (half(at), half(at + 2));
        ((hw1 & 0xf) << 12) | (((hw1 >> 10) & 1) << 11) | (((hw2 >> 12) & 7) << 8) | (hw2 & 0xff)
    };
    for reloc in blob.relocs().map(Result::unwrap) {
        let at = reloc.offset as usize;
        match reloc.kind {
            RelocKind::Abs32Import => {
                assert_eq!(word(at - 4), 0xf000_f8df, "ldr.w pc, [pc] before the address");
                assert_eq!(word(at) as usize, fake(usize::from(reloc.import)));
            }
            RelocKind::MovwAbs => assert_eq!(imm16(at), (addr as u32 + reloc.value) & 0xffff),
            RelocKind::MovtAbs => assert_eq!(imm16(at), (addr as u32 + reloc.value) >> 16),
            _ => {}
        }
    }
    assert!(region.len() - placed.end >= 65_536);
}

#[test]
fn an_unbound_import_refuses_the_module() {
    let wasm = wat::parse_str(
        r#"(module (import "akira" "led_set" (func $led (param i32 i32) (result i32)))
             (func (export "blink") (param i32) (result i32) (call $led (local.get 0) (i32.const 1))))"#,
    )
    .unwrap();
    let compiled = compile(&wasm, &Options::default()).unwrap();
    let blob = Blob::parse(&compiled.blob).unwrap();
    let led = blob.imports().position(|i| i.kind == ImportKind::WasmFunction).unwrap();
    let import = blob.imports().nth(led).unwrap();
    assert_eq!((import.module, import.name), ("akira", "led_set"));
    assert_eq!(import.params.iter().collect::<Vec<_>>(), [ValType::I32, ValType::I32]);
    assert_eq!(import.results.iter().collect::<Vec<_>>(), [ValType::I32]);
    let mut region = vec![0u8; 100_000];
    let refused = link(&blob, &mut region, 0x2000_0000, 0, |i| (i.kind == ImportKind::Runtime).then_some(0x101));
    assert_eq!(refused, Err(LinkError::Unbound(led as u16)));
}

#[test]
fn what_phase_one_cannot_run_is_refused_by_name() {
    let float = wat::parse_str(r#"(module (func (export "f") (param f32) (result f32) (local.get 0)))"#).unwrap();
    assert!(matches!(compile(&float, &Options::default()), Err(AotBuildError::UnsupportedSignature(n)) if n == "f"));
    // f64 on a single-precision FPU needs the soft-float helpers and libm.
    let libm = wat::parse_str(
        r#"(module (global $g (mut f64) (f64.const 2.5))
             (func (export "f") (result i64) (i64.reinterpret_f64 (f64.floor (global.get $g)))))"#,
    )
    .unwrap();
    assert!(
        matches!(compile(&libm, &Options::default()), Err(AotBuildError::UnsupportedRuntimeCall(n)) if n.starts_with("__aeabi_d") || n == "floor")
    );
    let reserved = wat::parse_str(r#"(module (global (export "akira_fuel") i32 (i32.const 0)))"#).unwrap();
    assert!(matches!(compile(&reserved, &Options::default()), Err(AotBuildError::ReservedExport(_))));
    // The bounds checks compare against the one memory's size.
    let two = wat::parse_str(r#"(module (memory 1) (memory 2))"#).unwrap();
    assert!(matches!(
        compile(&two, &Options::default()),
        Err(AotBuildError::UnsupportedMemory(m)) if m == "more than one memory"
    ));
    let huge = wat::parse_str(r#"(module (memory 32768))"#).unwrap();
    assert!(matches!(compile(&huge, &Options::default()), Err(AotBuildError::UnsupportedMemory(_))));
}

#[test]
fn a_truncated_or_altered_blob_is_refused() {
    let compiled = compile(&kernels_wasm(), &Options::default()).unwrap();
    let bytes = &compiled.blob;
    for len in [0, 4, 47, bytes.len() - 1] {
        assert!(Blob::parse(&bytes[..len]).is_err(), "{len} bytes");
    }
    let mut bad = bytes.clone();
    bad[4] = 9;
    assert!(Blob::parse(&bad).is_err());
    // The first relocation record, with an unknown kind.
    let relocs_at = akira_aot::format::HEADER_LEN + Blob::parse(bytes).unwrap().header.image_len as usize;
    let mut bad = bytes.clone();
    bad[relocs_at] = 0x7f;
    assert!(Blob::parse(&bad).is_err());
}

#[test]
fn a_blob_travels_in_the_wasm_the_interpreter_still_runs() {
    let wasm = kernels_wasm();
    assert_eq!(akira_aot::format::find_in_wasm(&wasm), Ok(None));
    let compiled = compile(&wasm, &Options::default()).unwrap();
    let carried = akira_aot_build::embed(&wasm, &compiled.blob).unwrap();
    assert_eq!(akira_aot::format::find_in_wasm(&carried), Ok(Some(&compiled.blob[..])));
    assert!(matches!(akira_aot_build::embed(&carried, &compiled.blob), Err(AotBuildError::AlreadyCarriesBlob)));
    // wasmi skips the section: the interpreted path runs the same module.
    let engine = wasmi::Engine::default();
    let module = wasmi::Module::new(&engine, &carried[..]).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let instance = wasmi::Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module).unwrap();
    let crc = instance.get_typed_func::<i32, i32>(&store, "crc32").unwrap();
    assert_eq!(crc.call(&mut store, 4096).unwrap() as u32, 0x5e4e_1995, "the value the QEMU run prints");
    // A truncated module is refused, not read past its end.
    assert!(akira_aot::format::find_in_wasm(&carried[..carried.len() - 1]).is_err());
}

mod properties {
    use std::sync::OnceLock;

    use akira_aot::format::Blob;
    use akira_aot::link::link;
    use proptest::prelude::*;

    /// The kernels' blob, compiled once for every case.
    fn blob() -> &'static [u8] {
        static BLOB: OnceLock<Vec<u8>> = OnceLock::new();
        BLOB.get_or_init(|| akira_aot_build::compile(&super::kernels_wasm(), &Default::default()).unwrap().blob)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A blob altered anywhere is refused with an error, or parses and
        /// links within its region (never a panic, never a write outside).
        #[test]
        fn altered_blobs_are_refused_or_stay_in_their_region(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = blob().to_vec();
            for (at, value) in edits {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            let len = if cut.index(4) == 0 { cut.index(bytes.len()) } else { bytes.len() };
            if let Ok(parsed) = Blob::parse(&bytes[..len]) {
                let mut region = vec![0u8; 80_000];
                let guard = region.len();
                region.extend_from_slice(&[0xee; 64]);
                let (inside, canary) = region.split_at_mut(guard);
                let _ = link(&parsed, inside, 0x2000_0000, 1024, |_| Some(0x101));
                prop_assert!(canary.iter().all(|&b| b == 0xee));
            }
        }

        /// Random bytes behind a valid magic and version are refused or
        /// parsed without a panic.
        #[test]
        fn random_blobs_do_not_panic(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut bytes = b"AKAO\x01\x01\0\0".to_vec();
            bytes.extend(tail);
            let _ = Blob::parse(&bytes);
        }
    }
}

#[test]
fn one_byte_pages_compile_for_wasm2c() {
    // wabt 1.0.32 cannot read custom page sizes; the instrumented module
    // declares 64 KiB pages and the runtime gets the exact size.
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 4096 4096 (pagesize 1))
             (func (export "size") (param i32) (result i32) (memory.size)))"#,
    )
    .unwrap();
    let compiled = compile(&wasm, &Options::default()).unwrap();
    assert!(Blob::parse(&compiled.blob).unwrap().export("size").is_some());
}
