//! Malformed input gives a `BuildError`, never a panic.

mod common;

use akira_build::{BuildError, embed_manifest, read_manifest, shrink_memory};
use common::manifest;

const APP: &str = r#"(module
    (type $t (func (param i32) (result i32)))
    (import "env" "log" (func $log (param i32)))
    (memory (export "memory") 17)
    (global $__stack_pointer (mut i32) (i32.const 8192))
    (global (export "__heap_base") i32 (i32.const 9000))
    (func $main (export "main") (type $t)
        local.get 0 call $log
        local.get 0 i32.load offset=4)
    (data (i32.const 8192) "hello, world")
    (@custom "producers" "rustc"))"#;

fn app() -> Vec<u8> {
    let m = manifest("blinky", 64);
    embed_manifest(&wat::parse_str(APP).unwrap(), &m).unwrap()
}

/// Runs every entry point; only checks that none panics.
fn exercise(bytes: &[u8]) -> [bool; 3] {
    let m = manifest("other", 0);
    [embed_manifest(bytes, &m).is_ok(), read_manifest(bytes).is_ok(), shrink_memory(bytes, 64).is_ok()]
}

#[test]
fn truncation_at_every_length_does_not_panic() {
    let wasm = app();
    assert_eq!(exercise(&wasm), [true; 3]);
    for cut in 0..wasm.len() {
        let results = exercise(&wasm[..cut]);
        if cut < 8 {
            // Not even a header.
            assert_eq!(results, [false; 3], "cut at {cut}");
        }
    }
}

#[test]
fn truncated_module_reports_malformed() {
    let wasm = app();
    // Cut inside the code section: a section header promises more bytes.
    let cut = &wasm[..wasm.len() / 2];
    for err in [
        embed_manifest(cut, &manifest("x", 0)).unwrap_err(),
        read_manifest(cut).unwrap_err(),
        shrink_memory(cut, 0).unwrap_err(),
    ] {
        assert!(matches!(err, BuildError::Malformed { .. }), "{err:?}");
        assert!(err.to_string().starts_with("malformed wasm module at byte"), "{err}");
    }
}

#[test]
fn corrupting_any_byte_does_not_panic() {
    let wasm = app();
    for at in 0..wasm.len() {
        for value in [0x00, 0x7f, 0x80, 0xff] {
            let mut bytes = wasm.clone();
            bytes[at] = value;
            exercise(&bytes);
        }
    }
}

#[test]
fn garbage_is_malformed() {
    for bytes in [&b""[..], b"\0asm", b"not wasm at all", b"\0asm\x01\0\0\0\x05\xff\xff\xff\xff\x0f"] {
        let err = shrink_memory(bytes, 0).unwrap_err();
        assert!(matches!(err, BuildError::Malformed { .. }), "{bytes:?}: {err:?}");
        assert!(read_manifest(bytes).is_err());
        assert!(embed_manifest(bytes, &manifest("x", 0)).is_err());
    }
}
