//! `embed_manifest` and `read_manifest`.

mod common;

use akira_build::{BuildError, embed_manifest, read_manifest, shrink_memory};
use akira_caps::{ManifestError, SECTION_NAME};
use common::{instantiate, manifest, manifest_sections, sections};

const APP: &str = r#"(module
    (memory (export "memory") 17)
    (global $__stack_pointer (mut i32) (i32.const 8192))
    (global (export "__heap_base") i32 (i32.const 9000))
    (func (export "main"))
    (data (i32.const 8192) "hi")
    (@custom "producers" "rustc"))"#;

/// Appends a custom section named `name` holding `data`.
fn with_custom(mut wasm: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    let mut module = wasm_encoder::Module::new();
    module.section(&wasm_encoder::CustomSection { name: name.into(), data: data.into() });
    // Skip the new module's 8-byte header.
    wasm.extend_from_slice(&module.finish()[8..]);
    wasm
}

#[test]
fn embed_appends_one_section_and_copies_the_rest() {
    let wasm = wat::parse_str(APP).unwrap();
    let m = manifest("blinky", 1024);
    assert_eq!(read_manifest(&wasm).unwrap(), None);
    let out = embed_manifest(&wasm, &m).unwrap();
    // Byte for byte: the original module, then the manifest section.
    assert_eq!(out, [wasm.as_slice(), &m.custom_section()].concat());
    assert_eq!(manifest_sections(&out), 1);
    assert_eq!(read_manifest(&out).unwrap(), Some(m));
    // Still a module wasmi runs.
    instantiate(&out);
}

#[test]
fn embed_twice_leaves_exactly_one_section() {
    let wasm = wat::parse_str(APP).unwrap();
    let first = manifest("first", 0);
    let second = manifest("second", 2048);
    let once = embed_manifest(&wasm, &first).unwrap();
    let twice = embed_manifest(&once, &second).unwrap();
    assert_eq!(manifest_sections(&twice), 1);
    assert_eq!(read_manifest(&twice).unwrap(), Some(second.clone()));
    assert_eq!(twice, [wasm.as_slice(), &second.custom_section()].concat());
    // Embedding the same manifest again is idempotent.
    assert_eq!(embed_manifest(&twice, &second).unwrap(), twice);
}

#[test]
fn embed_replaces_sections_anywhere_in_the_module() {
    let wasm = wat::parse_str(
        r#"(module
            (@custom "akira.manifest" (before first) "stale")
            (memory 1)
            (@custom "akira.manifest" (after memory) "also stale")
            (@custom "keep" (after memory) "me")
            (func))"#,
    )
    .unwrap();
    assert_eq!(read_manifest(&wasm).unwrap_err(), BuildError::SeveralManifests { count: 2 });
    let m = manifest("fresh", 0);
    let out = embed_manifest(&wasm, &m).unwrap();
    assert_eq!(read_manifest(&out).unwrap(), Some(m));
    let kept: Vec<_> = sections(&wasm).into_iter().filter(|(_, name, _)| name != SECTION_NAME).collect();
    let mut got = sections(&out);
    assert_eq!(got.pop().map(|s| s.1), Some(SECTION_NAME.to_string()));
    assert_eq!(got, kept);
}

#[test]
fn several_manifests_are_refused() {
    let m = manifest("blinky", 0);
    let wasm = [wat::parse_str(APP).unwrap(), m.custom_section(), m.custom_section()].concat();
    let err = read_manifest(&wasm).unwrap_err();
    assert_eq!(err, BuildError::SeveralManifests { count: 2 });
    assert!(err.to_string().contains("2 `akira.manifest` custom sections"), "{err}");
}

#[test]
fn undecodable_manifest_is_refused() {
    let wasm = with_custom(wat::parse_str(APP).unwrap(), SECTION_NAME, &[1, 2, 3]);
    let err = read_manifest(&wasm).unwrap_err();
    assert_eq!(err, BuildError::Manifest(ManifestError::Malformed));
    assert!(std::error::Error::source(&err).is_some());
    // Embedding over it replaces it.
    let m = manifest("blinky", 0);
    assert_eq!(read_manifest(&embed_manifest(&wasm, &m).unwrap()).unwrap(), Some(m));
}

#[test]
fn embed_and_shrink_compose_in_either_order() {
    let wasm = wat::parse_str(APP).unwrap();
    let m = manifest("blinky", 512);
    let (small, report) = shrink_memory(&embed_manifest(&wasm, &m).unwrap(), 512).unwrap();
    assert!(report.rewritten);
    assert_eq!(read_manifest(&small).unwrap(), Some(m.clone()));
    let (small2, _) = shrink_memory(&wasm, 512).unwrap();
    let small2 = embed_manifest(&small2, &m).unwrap();
    assert_eq!(small, small2);
    let (store, instance) = instantiate(&small);
    let mem = instance.get_memory(&store, "memory").unwrap();
    assert_eq!(mem.data_size(&store) as u64, report.after_bytes);
}

#[test]
fn embed_does_not_validate() {
    // A type error in a function body is not embed's business.
    let wasm = wat::parse_str(r#"(module (func (result i32) i64.const 0))"#).unwrap();
    let m = manifest("blinky", 0);
    assert_eq!(read_manifest(&embed_manifest(&wasm, &m).unwrap()).unwrap(), Some(m));
}

#[test]
fn components_are_refused() {
    let wasm = wat::parse_str("(component)").unwrap();
    assert_eq!(embed_manifest(&wasm, &manifest("x", 0)).unwrap_err(), BuildError::Component);
    assert_eq!(read_manifest(&wasm).unwrap_err(), BuildError::Component);
}
