//! A WASI command's `_start` becomes the runtime's `akira_main`.

use akira_build::export_wasi_entry;

fn exports(wasm: &[u8]) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ExportSection(r) = payload.unwrap() {
            for e in r {
                let e = e.unwrap();
                out.push((e.name.to_string(), e.index));
            }
        }
    }
    out
}

#[test]
fn start_is_exported_as_akira_main() {
    let wasm = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
            (memory (export "memory") 1)
            (func $start (export "_start") nop))"#,
    )
    .unwrap();
    let (out, added) = export_wasi_entry(&wasm).unwrap();
    assert!(added);
    assert_eq!(exports(&out), [("memory".into(), 0), ("_start".into(), 1), ("akira_main".into(), 1)]);
    wasmparser::Validator::new().validate_all(&out).unwrap();
    // Already there, or no `_start`: unchanged.
    assert_eq!(export_wasi_entry(&out).unwrap(), (out.clone(), false));
    let plain = wat::parse_str(r#"(module (func (export "main")))"#).unwrap();
    assert_eq!(export_wasi_entry(&plain).unwrap(), (plain.clone(), false));
    assert!(export_wasi_entry(b"\0asm\x01\0\0\0\x07").is_err(), "malformed");
}
