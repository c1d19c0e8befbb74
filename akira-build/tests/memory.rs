//! `shrink_memory`: sizing, refusals, and that the output loads in wasmi.

mod common;

use akira_build::{BuildError, MemoryReport, shrink_memory};
use common::{instantiate, sections};

fn align16(n: u64) -> u64 {
    n.div_ceil(16) * 16
}

/// Shaped like rustc output for wasm32-unknown-unknown: the stack first
/// (8 KiB, so `__stack_pointer` starts at 8192), data above it, then
/// `__heap_base`; 17 pages of memory.
const RUSTC_LIKE: &str = r#"(module
    (type $t (func (param i32) (result i32)))
    (memory (export "memory") 17)
    (global $__stack_pointer (mut i32) (i32.const 8192))
    (global $__data_end i32 (i32.const 8997))
    (global (export "__data_end") i32 (i32.const 8997))
    (global (export "__heap_base") i32 (i32.const 9000))
    (func $peek (export "peek") (type $t) local.get 0 i32.load8_u)
    (func $poke (export "poke") (type $t)
        local.get 0 i32.const 42 i32.store8 i32.const 0)
    (func $sp (export "sp") (result i32) global.get $__stack_pointer)
    (data (i32.const 8192) "hello")
    (data (i32.const 8992) "world")
    (@custom "producers" "rustc")
)"#;

#[test]
fn rustc_like_module_shrinks_to_heap_base_plus_heap() {
    let wasm = wat::parse_str(RUSTC_LIKE).unwrap();
    let heap = 4096;
    let (out, report) = shrink_memory(&wasm, heap).unwrap();
    let after = align16(9000 + u64::from(heap));
    assert_eq!(
        report,
        MemoryReport {
            before_bytes: 17 * 65536,
            after_bytes: after,
            static_bytes: 9000,
            heap_bytes: heap,
            rewritten: true,
            memory_size_uses: 0,
            reason: None,
        }
    );

    // The memory section now declares one-byte pages, initial = maximum.
    let memory = wasmparser::Parser::new(0)
        .parse_all(&out)
        .find_map(|p| match p.unwrap() {
            wasmparser::Payload::MemorySection(r) => Some(r.into_iter().next().unwrap().unwrap()),
            _ => None,
        })
        .unwrap();
    assert_eq!(memory.page_size_log2, Some(0));
    assert_eq!(memory.initial, after);
    assert_eq!(memory.maximum, Some(after));

    // wasmi loads it, data is in place, the last byte is usable and the one
    // after it traps.
    let (mut store, instance) = instantiate(&out);
    let mem = instance.get_memory(&store, "memory").unwrap();
    assert_eq!(mem.data_size(&store) as u64, after);
    assert_eq!(&mem.data(&store)[8192..8197], b"hello");
    assert_eq!(&mem.data(&store)[8992..8997], b"world");
    let peek = instance.get_typed_func::<i32, i32>(&store, "peek").unwrap();
    let poke = instance.get_typed_func::<i32, i32>(&store, "poke").unwrap();
    assert_eq!(peek.call(&mut store, 8192).unwrap(), i32::from(b'h'));
    poke.call(&mut store, after as i32 - 1).unwrap();
    assert_eq!(peek.call(&mut store, after as i32 - 1).unwrap(), 42);
    assert!(peek.call(&mut store, after as i32).is_err());
    assert!(poke.call(&mut store, after as i32).is_err());
    let sp = instance.get_typed_func::<(), i32>(&store, "sp").unwrap();
    assert_eq!(sp.call(&mut store, ()).unwrap(), 8192);
}

#[test]
fn only_the_memory_section_changes() {
    let wasm = wat::parse_str(RUSTC_LIKE).unwrap();
    let (out, report) = shrink_memory(&wasm, 100).unwrap();
    assert!(report.rewritten);
    let before = sections(&wasm);
    let after = sections(&out);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        if b.0 == 5 {
            assert_ne!(b, a, "memory section rewritten");
        } else {
            assert_eq!(b, a, "section {} ({}) unchanged", b.0, b.1);
        }
    }
}

#[test]
fn heap_zero_aligns_static_size() {
    let wasm = wat::parse_str(RUSTC_LIKE).unwrap();
    let (out, report) = shrink_memory(&wasm, 0).unwrap();
    assert_eq!(report.after_bytes, 9008);
    let (store, instance) = instantiate(&out);
    let mem = instance.get_memory(&store, "memory").unwrap();
    assert_eq!(mem.data_size(&store), 9008);
}

#[test]
fn clang_like_stack_after_data() {
    // clang's default layout: data first, then a 64 KiB stack growing
    // down from __stack_pointer; __heap_base sits just above it. Here the
    // stack pointer is the highest of the three.
    let wasm = wat::parse_str(
        r#"(module
            (memory (export "memory") 2)
            (global $__stack_pointer (mut i32) (i32.const 66672))
            (global (export "__heap_base") i32 (i32.const 66660))
            (data (i32.const 1024) "static data"))"#,
    )
    .unwrap();
    let (out, report) = shrink_memory(&wasm, 1000).unwrap();
    assert!(report.rewritten, "{report:?}");
    assert_eq!(report.static_bytes, 66672);
    assert_eq!(report.after_bytes, align16(66672 + 1000));
    let (store, instance) = instantiate(&out);
    let mem = instance.get_memory(&store, "memory").unwrap();
    assert_eq!(mem.data_size(&store) as u64, report.after_bytes);
}

#[test]
fn data_segment_end_dominates() {
    let wasm = wat::parse_str(
        r#"(module
            (memory (export "memory") 1)
            (global $__stack_pointer (mut i32) (i32.const 8192))
            (global (export "__heap_base") i32 (i32.const 9000))
            (data (i32.const 9000) "a")
            (data (i32.const 20001) "0123456789"))"#,
    )
    .unwrap();
    let (out, report) = shrink_memory(&wasm, 7).unwrap();
    assert_eq!(report.static_bytes, 20011);
    assert_eq!(report.after_bytes, align16(20011 + 7));
    let (store, instance) = instantiate(&out);
    let mem = instance.get_memory(&store, "memory").unwrap();
    assert_eq!(mem.data_size(&store) as u64, report.after_bytes);
    assert_eq!(&mem.data(&store)[20001..20011], b"0123456789");
}

#[test]
fn extended_const_and_global_offsets_are_evaluated() {
    let wasm = wat::parse_str(
        r#"(module
            (memory (export "memory") 1)
            (global $base i32 (i32.const 1000))
            (global (export "__heap_base") i32 (i32.add (global.get $base) (i32.const 500)))
            (data (global.get $base) "abc"))"#,
    )
    .unwrap();
    let (_, report) = shrink_memory(&wasm, 0).unwrap();
    assert!(report.rewritten, "{report:?}");
    assert_eq!(report.static_bytes, 1500);
    assert_eq!(report.after_bytes, 1504);
}

fn assert_unchanged(wat: &str, heap: u32, reason: &str) -> MemoryReport {
    let wasm = wat::parse_str(wat).unwrap();
    let (out, report) = shrink_memory(&wasm, heap).unwrap();
    assert_eq!(out, wasm, "module left unchanged");
    assert!(!report.rewritten);
    assert_eq!(report.after_bytes, report.before_bytes);
    assert_eq!(report.heap_bytes, heap);
    let why = report.reason.clone().expect("a reason");
    assert!(why.contains(reason), "reason {why:?} should mention {reason:?}");
    report
}

#[test]
fn memory_grow_prevents_rewrite() {
    let report = assert_unchanged(
        r#"(module
            (memory (export "memory") 17)
            (global $__stack_pointer (mut i32) (i32.const 8192))
            (global (export "__heap_base") i32 (i32.const 9000))
            (func $alloc (export "alloc") (param i32) (result i32)
                local.get 0 memory.grow))"#,
        4096,
        "memory.grow",
    );
    assert_eq!(report.before_bytes, 17 * 65536);
    assert_eq!(report.static_bytes, 9000);
    assert!(report.reason.unwrap().contains("function 0"));
}

/// A module that never grows its memory reads its size as a constant:
/// the rewrite keeps that constant (the declared 64 KiB pages, which
/// wasi-libc's checks of preopened names compare pointers against).
#[test]
fn memory_size_without_grow_reads_the_declared_pages() {
    let wasm = wat::parse_str(
        r#"(module
            (import "env" "f" (func))
            (memory (export "memory") 2)
            (global $__stack_pointer (mut i32) (i32.const 4096))
            (global (export "__heap_base") i32 (i32.const 5000))
            (func)
            (func (export "pages") (result i32) memory.size memory.size i32.add))"#,
    )
    .unwrap();
    let (out, report) = shrink_memory(&wasm, 1000).unwrap();
    assert!(report.rewritten, "{:?}", report.reason);
    assert_eq!((report.after_bytes, report.memory_size_uses), (6000, 2));
    // It still reads 2 pages, twice.
    let engine = wasmi::Engine::new(wasmi::Config::default().wasm_custom_page_sizes(true));
    let module = wasmi::Module::new(&engine, &out).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let mut linker = wasmi::Linker::new(&engine);
    linker.func_wrap("env", "f", || {}).unwrap();
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let pages = instance.get_typed_func::<(), i32>(&store, "pages").unwrap();
    assert_eq!(pages.call(&mut store, ()).unwrap(), 4);
    let memory = instance.get_memory(&store, "memory").unwrap();
    assert_eq!(memory.data(&store).len(), 6000);
}

#[test]
fn imported_memory_is_left_alone() {
    let report =
        assert_unchanged(r#"(module (import "env" "memory" (memory 3)) (data (i32.const 0) "x"))"#, 0, "imported");
    assert_eq!(report.before_bytes, 3 * 65536);
}

#[test]
fn custom_page_size_is_left_alone() {
    assert_unchanged(r#"(module (memory 100 (pagesize 1)))"#, 0, "custom page size");
}

#[test]
fn shrinking_twice_is_a_no_op() {
    let wasm = wat::parse_str(RUSTC_LIKE).unwrap();
    let (once, first) = shrink_memory(&wasm, 64).unwrap();
    let (twice, second) = shrink_memory(&once, 64).unwrap();
    assert_eq!(once, twice);
    assert!(!second.rewritten);
    assert_eq!(second.before_bytes, first.after_bytes);
    assert!(second.reason.unwrap().contains("custom page size"));
}

#[test]
fn other_refusals() {
    assert_unchanged("(module)", 0, "no memory");
    assert_unchanged("(module (memory 1) (memory 1))", 0, "2 memories");
    assert_unchanged("(module (memory i64 1))", 0, "64-bit");
    assert_unchanged("(module (memory 1 1 shared))", 0, "shared");
    assert_unchanged(
        r#"(module (import "env" "base" (global i32)) (memory 1) (data (global.get 0) "x"))"#,
        0,
        "data segment 0 has a non-constant offset",
    );
    assert_unchanged(
        r#"(module (import "env" "base" (global i32)) (memory 1) (export "__heap_base" (global 0)))"#,
        0,
        "`__heap_base` is not a constant",
    );
    // 60 KiB of heap on top of 9000 static bytes no longer fits in 64 KiB.
    let report = assert_unchanged(
        r#"(module
            (memory 1)
            (global (mut i32) (i32.const 8192))
            (global (export "__heap_base") i32 (i32.const 9000)))"#,
        60 * 1024,
        "would not be smaller",
    );
    assert_eq!(report.static_bytes, 9000);
}

#[test]
fn passive_segments_and_non_stack_globals_do_not_count() {
    // An immutable i32 global and a mutable one initialised by global.get
    // are not the stack pointer; passive data has no address.
    let wasm = wat::parse_str(
        r#"(module
            (import "env" "g" (global i32))
            (memory 1)
            (global i32 (i32.const 60000))
            (global (mut i32) (global.get 0))
            (global (mut i64) (i64.const 50000))
            (global (mut i32) (i32.const 100))
            (data "passive data")
            (data (i32.const 16) "active"))"#,
    )
    .unwrap();
    let (_, report) = shrink_memory(&wasm, 0).unwrap();
    assert!(report.rewritten, "{report:?}");
    assert_eq!(report.static_bytes, 100);
    assert_eq!(report.after_bytes, 112);
}

#[test]
fn data_beyond_memory_is_an_error() {
    let wasm = wat::parse_str(r#"(module (memory 1) (data (i32.const 65530) "0123456789"))"#).unwrap();
    assert_eq!(
        shrink_memory(&wasm, 0).unwrap_err(),
        BuildError::DataBeyondMemory { segment: 0, end: 65540, memory_bytes: 65536 }
    );
    // Offsets are unsigned addresses: -1 is the last byte of 4 GiB.
    let wasm = wat::parse_str(r#"(module (memory 1) (data (i32.const -1) "x"))"#).unwrap();
    assert!(matches!(shrink_memory(&wasm, 0), Err(BuildError::DataBeyondMemory { .. })));
}

#[test]
fn invalid_module_is_an_error() {
    let wasm = wat::parse_str(r#"(module (memory 1) (func (result i32) i64.const 0))"#).unwrap();
    let err = shrink_memory(&wasm, 0).unwrap_err();
    assert!(matches!(err, BuildError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("type mismatch"), "{err}");
}

#[test]
fn component_is_an_error() {
    let wasm = wat::parse_str("(component)").unwrap();
    assert_eq!(shrink_memory(&wasm, 0).unwrap_err(), BuildError::Component);
}
