//! The bounds checks of the generated C (rt/akira_bounds.h), run: the
//! blob's translation unit compiled for the host and driven by a small
//! harness, against wasmi on the same wasm, at the edges (the last byte,
//! one past it, offsets near 2^32, addresses near `u32::MAX`, bulk
//! operations over the end) and at random addresses. A check that let one
//! access through that wasmi traps, or the reverse, fails here.

use std::io::Write as _;
use std::process::{Command, Stdio};

use super::{Options, runtime_defines, translate};

/// Loads, stores and bulk operations; each export takes an address and
/// returns what it read (0 for stores and bulk operations).
fn accesses(memory: &str) -> String {
    format!(
        r#"(module
        (memory (export "memory") {memory})
        (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
        (func (export "load16") (param i32) (result i32) (i32.load16_u offset=1 (local.get 0)))
        (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
        (func (export "load64") (param i32) (result i32) (i32.wrap_i64 (i64.load offset=3 (local.get 0))))
        (func (export "load32_offset_max") (param i32) (result i32) (i32.load offset=4294967295 (local.get 0)))
        (func (export "load8_offset_4095") (param i32) (result i32) (i32.load8_u offset=4095 (local.get 0)))
        (func (export "store32") (param i32) (result i32)
            (i32.store (local.get 0) (i32.add (local.get 0) (i32.const 0x01010101))) (i32.const 0))
        (func (export "store64_wrapping") (param i32) (result i32)
            (i64.store offset=4294967288 (local.get 0) (i64.const -1)) (i32.const 0))
        (func (export "fill256") (param i32) (result i32)
            (memory.fill (local.get 0) (i32.const 0xab) (i32.const 256)) (i32.const 0))
        (func (export "fill0") (param i32) (result i32)
            (memory.fill (local.get 0) (i32.const 0xcd) (i32.const 0)) (i32.const 0))
        (func (export "copy64_from_0") (param i32) (result i32)
            (memory.copy (local.get 0) (i32.const 0) (i32.const 64)) (i32.const 0))
        (func (export "copy64_to_0") (param i32) (result i32)
            (memory.copy (i32.const 0) (local.get 0) (i32.const 64)) (i32.const 0)))"#
    )
}

const EXPORTS: [&str; 12] = [
    "load8",
    "load16",
    "load32",
    "load64",
    "load32_offset_max",
    "load8_offset_4095",
    "store32",
    "store64_wrapping",
    "fill256",
    "fill0",
    "copy64_from_0",
    "copy64_to_0",
];

/// Reads `export index, address` lines, calls the blob's entry point and
/// prints `ok VALUE` or `trap CODE` (`oob` for an out-of-bounds trap).
const HARNESS: &str = r#"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include "../wasm-rt.h"

static jmp_buf trapped;
void *akira_aot_alloc(uint32_t size, uint32_t align) { (void)align; return calloc(size ? size : 1, 1); }
void *akira_aot_memory(uint32_t size) { return calloc(size ? size : 1, 1); }
void akira_aot_trap(uint32_t code) { longjmp(trapped, (int)code + 1); }
void akira_aot_out_of_fuel(int32_t *counter) { (void)counter; akira_aot_trap(100); }
void akira_aot_instantiate(void);
typedef uint64_t (*entry_t)(const uint64_t *, int32_t *);
ENTRIES

int main(void) {
  akira_aot_instantiate();
  unsigned index, addr;
  while (scanf("%u %u", &index, &addr) == 2) {
    uint64_t args[1] = {addr};
    int32_t fuel = 1000000;
    int code = setjmp(trapped);
    if (code == 0) {
      uint64_t r = entries[index](args, &fuel);
      printf("ok %u\n", (unsigned)r);
    } else if (code - 1 == WASM_RT_TRAP_OOB) {
      printf("oob\n");
    } else {
      printf("trap %d\n", code - 1);
    }
    fflush(stdout);
  }
  return 0;
}
"#;

/// Compiles the blob's C for the host and runs `calls` through it.
fn run_native(wasm: &[u8], calls: &[(usize, u32)]) -> Vec<String> {
    let options = Options::default();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (iface, _) = translate(wasm, &options, dir).unwrap();
    let names: Vec<&str> = iface.exports.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, EXPORTS, "the glue numbers the exports in module order");
    let decls: String =
        (0..EXPORTS.len()).map(|i| format!("uint64_t akira_aot_export_{i}(const uint64_t *, int32_t *);\n")).collect();
    let table: Vec<String> = (0..EXPORTS.len()).map(|i| format!("akira_aot_export_{i}")).collect();
    let entries = format!("{decls}static const entry_t entries[] = {{{}}};", table.join(", "));
    let host = dir.join("host");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("harness.c"), HARNESS.replace("ENTRIES", &entries)).unwrap();
    let clang = |args: &[&str], cwd: &std::path::Path| {
        let out = Command::new(&options.clang).current_dir(cwd).args(args).output().expect("clang");
        assert!(out.status.success(), "clang {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    // The blob's translation unit as the device gets it, only for the host:
    // freestanding, the blob's own headers, the same runtime settings.
    let defines = runtime_defines(&options);
    let mut glue = vec!["-O2", "-ffreestanding", "-nostdlibinc", "-I.", "-fno-common", "-w"];
    glue.extend(defines.iter().map(String::as_str));
    glue.extend(["-c", "glue.c", "-o", "host/glue.o"]);
    clang(&glue, dir);
    clang(&["-O1", "-w", "harness.c", "glue.o", "-o", "harness"], &host);
    let mut child =
        Command::new(host.join("harness")).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("the harness");
    let input: String = calls.iter().map(|(i, a)| format!("{i} {a}\n")).collect();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

/// The same calls under wasmi, in the harness's words.
fn run_wasmi(wasm: &[u8], calls: &[(usize, u32)]) -> Vec<String> {
    let mut config = wasmi::Config::default();
    config.wasm_custom_page_sizes(true);
    let engine = wasmi::Engine::new(&config);
    let module = wasmi::Module::new(&engine, wasm).unwrap();
    let mut store = wasmi::Store::new(&engine, ());
    let instance = wasmi::Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module).unwrap();
    let funcs: Vec<_> = EXPORTS.iter().map(|name| instance.get_typed_func::<i32, i32>(&store, name).unwrap()).collect();
    calls
        .iter()
        .map(|&(i, addr)| match funcs[i].call(&mut store, addr as i32) {
            Ok(r) => format!("ok {}", r as u32),
            Err(e) if e.as_trap_code() == Some(wasmi::TrapCode::MemoryOutOfBounds) => "oob".to_string(),
            Err(e) => format!("wasmi: {e}"),
        })
        .collect()
}

/// Addresses around the memory's end and 2^32, and pseudo-random ones.
fn addresses(size: u32) -> Vec<u32> {
    let mut edges = vec![0, 1, 2, 3, 4, 7, 8, 9, 4095, 4096, 4097, 0x7fff_ffff, 0x8000_0000];
    for d in 0..=9 {
        edges.extend([size.wrapping_sub(d), size.wrapping_add(d), u32::MAX - d]);
    }
    edges.extend([size - 256, size - 255, size - 64, size - 63, size - 4095, size - 4096]);
    let mut x = 0x2545_f491u32;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        // Half anywhere, half within 300 bytes of the end.
        edges.push(if x & 1 == 0 { x } else { size.wrapping_sub(x % 300) });
    }
    edges
}

fn compare(memory: &str, size: u32) {
    let wasm = wat::parse_str(accesses(memory)).unwrap();
    let calls: Vec<(usize, u32)> =
        (0..EXPORTS.len()).flat_map(|i| addresses(size).into_iter().map(move |a| (i, a))).collect();
    let native = run_native(&wasm, &calls);
    let interpreted = run_wasmi(&wasm, &calls);
    assert_eq!(native.len(), calls.len(), "the harness answered every call");
    let traps = native.iter().filter(|r| *r == "oob").count();
    assert!(traps > calls.len() / 4 && traps < calls.len() * 3 / 4, "both outcomes are exercised: {traps}");
    for ((call, n), i) in calls.iter().zip(&native).zip(&interpreted) {
        assert_eq!(n, i, "{}({:#x}) in {memory}: AOT and wasmi differ", EXPORTS[call.0], call.1);
    }
}

#[test]
fn bounds_checks_trap_exactly_where_wasmi_does_in_64_kib_pages() {
    compare("1 1", 65_536);
}

#[test]
fn bounds_checks_trap_exactly_where_wasmi_does_in_one_byte_pages() {
    compare("5000 5000 (pagesize 1)", 5_000);
}
