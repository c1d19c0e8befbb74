//! Compiles, for riscv32imac: the kernels of examples/apps/aot-kernels
//! (to wasm with clang, then ahead of time with akira-aot-build, and
//! natively with the same clang flags for the reference results), the
//! apps of `src/apps.rs` (WAT, ahead of time), and the kernels for
//! thumbv7em (a blob this CPU must refuse).

use std::path::{Path, PathBuf};
use std::process::Command;

use akira_aot_build::{Options, RISCV32IMAC_FLAGS, Target, compile, embed};
use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Version};

const KERNELS: &str = "../apps/aot-kernels";

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed");
}

fn blob(wasm: &[u8], target: Target, out: &Path, name: &str) -> Vec<u8> {
    let options = Options { target, ..Options::default() };
    let compiled = compile(wasm, &options).unwrap_or_else(|e| panic!("AOT compile of {name}: {e}"));
    std::fs::write(out.join(format!("{name}.aot")), &compiled.blob).expect("write blob");
    compiled.blob
}

/// The sandbox's app: its manifest (GPIO pin 2, the timer, the log) in
/// its custom section and its native code for riscv32imac in `akira.aot`,
/// as `akira pack --aot riscv32imac` carries them.
fn sandbox_app(out: &Path) {
    let mut m = Manifest::new(AppName::try_from("rv-blinky").expect("app name"), Version::new(1, 0, 0));
    m.memory_limit = 4096;
    m.cpu_budget = 1_000_000;
    m.capabilities.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    m.capabilities.timer = true;
    m.capabilities.log = true;
    let mut wasm = wat::parse_str(SANDBOX_APP).expect("sandbox app WAT");
    wasm.extend(m.custom_section());
    let native = blob(&wasm, Target::Riscv32imac, out, "sandbox-app");
    let carried = embed(&wasm, &native).expect("embed the blob");
    std::fs::write(out.join("sandbox-app.wasm"), carried).expect("write app");
}

/// Blinks pin 2 three times (six writes, a 1 ms sleep after each), logs
/// "done", then tries pin 7, which its manifest does not grant: exits with
/// the sum of the granted writes' results (0) minus the refused one's (-1),
/// so 1.
const SANDBOX_APP: &str = r#"(module
    (import "akira:gpio" "write" (func $write (param i32 i32) (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (import "akira:log" "write" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 4096 4096 (pagesize 1))
    (data (i32.const 0) "done")
    (func (export "akira_main") (result i32)
        (local $i i32) (local $sum i32)
        (loop $l
            (local.set $sum (i32.add (local.get $sum)
                (call $write (i32.const 2) (i32.and (i32.add (local.get $i) (i32.const 1)) (i32.const 1)))))
            (drop (call $sleep (i64.const 1000)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
        (drop (call $log (i32.const 2) (i32.const 0) (i32.const 4)))
        (i32.sub (local.get $sum) (call $write (i32.const 7) (i32.const 1)))))"#;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    run(Command::new("sh").arg(format!("{KERNELS}/build.sh")).arg(&out));
    let kernels = std::fs::read(out.join("kernels.wasm")).expect("kernels.wasm");
    blob(&kernels, Target::Riscv32imac, &out, "kernels");
    blob(&kernels, Target::Thumbv7em, &out, "kernels-thumb");
    for (name, text) in APPS {
        let wasm = wat::parse_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        blob(&wasm, Target::Riscv32imac, &out, name);
    }
    sandbox_app(&out);
    // Native: the same C, the same clang, -Os (what the AOT tier uses).
    let object = out.join("kernels_native.o");
    run(Command::new("clang")
        .args(RISCV32IMAC_FLAGS)
        .args(["-Os", "-ffreestanding", "-c", "-o"])
        .arg(&object)
        .arg(format!("{KERNELS}/kernels.c")));
    println!("cargo:rustc-link-arg={}", object.display());
    println!("cargo:rerun-if-changed={KERNELS}/kernels.c");
    println!("cargo:rerun-if-changed={KERNELS}/build.sh");
    println!("cargo:rerun-if-changed=link.x");
}

/// The apps `src/apps.rs` runs as tasks, each with a memory of 4 096
/// one-byte pages, as `akira build` gives apps.
const APPS: [(&str, &str); 7] = [
    // An app calling the guarded GPIO (pin 2), sleeping between toggles
    // (an i64 argument), then an import whose i64 argument straddles a7
    // and the stack: exits with the sum of the results (0).
    (
        "app-calls",
        r#"(module
            (import "akira:gpio" "write" (func $write (param i32 i32) (result i32)))
            (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
            (import "test" "split" (func $split (param i32 i32 i32 i32 i32 i32 i64 i32) (result i32)))
            (memory (export "memory") 4096 4096 (pagesize 1))
            (func (export "akira_main") (result i32)
                (local $i i32) (local $sum i32)
                (loop $l
                    (local.set $sum (i32.add (local.get $sum)
                        (call $write (i32.const 2) (i32.and (local.get $i) (i32.const 1)))))
                    (local.set $sum (i32.add (local.get $sum) (call $sleep (i64.const 20000))))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
                (i32.add (local.get $sum)
                    (call $split (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4) (i32.const 5)
                        (i32.const 6) (i64.const 0x1122334455667788) (i32.const 7)))))"#,
    ),
    // examples/apps/aot-containment (shared with qemu-mps2-an386's aot bin).
    ("app-compute", include_str!("../apps/aot-containment/compute.wat")),
    ("app-runaway", include_str!("../apps/aot-containment/runaway.wat")),
    ("app-oob", include_str!("../apps/aot-containment/oob.wat")),
    ("app-recurse", include_str!("../apps/aot-containment/recurse.wat")),
    ("app-denied", include_str!("../apps/aot-containment/denied.wat")),
    // An import the app is not granted at all: the module is refused at load.
    (
        "app-ungranted",
        r#"(module
            (import "akira:radio" "send" (func $send (param i32 i32) (result i32)))
            (memory (export "memory") 4096 4096 (pagesize 1))
            (func (export "akira_main") (result i32) (call $send (i32.const 0) (i32.const 4))))"#,
    ),
];
