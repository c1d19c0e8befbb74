//! Builds the apps the firmware ships with (from WAT, manifests embedded).

use std::path::PathBuf;

use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Version};

fn app(name: &str, wat: &str, f: impl FnOnce(&mut Manifest)) -> Vec<u8> {
    let mut m = Manifest::new(AppName::try_from(name).expect("app name"), Version::new(1, 0, 0));
    m.memory_limit = 4096;
    m.cpu_budget = 1_000_000_000;
    f(&mut m);
    let mut wasm = wat::parse_str(wat).expect("built-in app WAT");
    wasm.extend(m.custom_section());
    wasm
}

fn gpio(m: &mut Manifest) {
    m.capabilities.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
}

/// A loop of `n` iterations whose body is `body` (with `$i` the counter).
fn bench(body: &str, n: u32) -> String {
    format!(
        r#"(module
            (import "akira:gpio" "write" (func $write (param i32 i32) (result i32)))
            (memory (export "memory") 4096 4096 (pagesize 1))
            (func (export "akira_main") (result i32)
                (local $i i32) (local $acc i32)
                (loop $l
                    (local.set $acc (i32.or (local.get $acc) {body}))
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get $i) (i32.const {n}))))
                (i32.and (local.get $acc) (i32.const 0))))"#
    )
}

const HELLO: &str = r#"(module
    (import "akira:gpio" "write" (func $write (param i32 i32) (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (import "akira:log" "write" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 4096 4096 (pagesize 1))
    (data (i32.const 0) "built-in app: blink")
    (func (export "akira_main") (result i32)
        (local $n i32)
        (drop (call $log (i32.const 2) (i32.const 0) (i32.const 19)))
        (loop $l
            (drop (call $write (i32.const 2) (i32.const 1)))
            (drop (call $sleep (i64.const 100000)))
            (drop (call $write (i32.const 2) (i32.const 0)))
            (drop (call $sleep (i64.const 100000)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $n) (i32.const 3))))
        ;; pin 7 is not granted: the guard refuses it (the call returns -1)
        (i32.add (call $write (i32.const 7) (i32.const 1)) (i32.const 1))))"#;

const FIB: &str = r#"(module
    (memory (export "memory") 4096 4096 (pagesize 1))
    (func $fib (param $n i32) (result i32)
        (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
            (then (local.get $n))
            (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                           (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
    (func (export "akira_main") (result i32) (call $fib (i32.const 20))))"#;

/// The product firmware's preinstalled app: LED 2 blinks every 500 ms.
const BLINKY: &str = r#"(module
    (import "akira:gpio" "write" (func $write (param i32 i32) (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (import "akira:log" "write" (func $log (param i32 i32 i32) (result i32)))
    (memory (export "memory") 4096 4096 (pagesize 1))
    (data (i32.const 0) "preinstalled blinky")
    (func (export "akira_main")
        (drop (call $log (i32.const 2) (i32.const 0) (i32.const 19)))
        (loop $l
            (drop (call $write (i32.const 2) (i32.const 1)))
            (drop (call $sleep (i64.const 500000)))
            (drop (call $write (i32.const 2) (i32.const 0)))
            (drop (call $sleep (i64.const 500000)))
            (br $l))))"#;

/// Iterations of the host-call loops.
const CALLS: u32 = 10_000;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let apps = [
        (
            "blinky.wasm",
            app("blinky", BLINKY, |m| {
                gpio(m);
                m.cpu_budget = 100_000;
                m.capabilities.timer = true;
                m.capabilities.log = true;
            }),
        ),
        (
            "hello.wasm",
            app("hello", HELLO, |m| {
                gpio(m);
                m.capabilities.timer = true;
                m.capabilities.log = true;
            }),
        ),
        ("bench_empty.wasm", app("bench-empty", &bench("(local.get $i)", CALLS), gpio)),
        (
            "bench_guarded.wasm",
            app(
                "bench-guarded",
                &bench("(call $write (i32.const 2) (i32.and (local.get $i) (i32.const 1)))", CALLS),
                gpio,
            ),
        ),
        ("bench_denied.wasm", app("bench-denied", &bench("(call $write (i32.const 7) (i32.const 1))", CALLS), gpio)),
        ("bench_fib.wasm", app("bench-fib", FIB, |_| {})),
    ];
    for (file, wasm) in apps {
        // Without the interpreter the preinstalled blinky runs as native
        // code, carried in its wasm as `akira pack --aot thumbv7em` does.
        #[cfg(feature = "native")]
        let wasm = if file == "blinky.wasm" { with_native_code(&wasm) } else { wasm };
        std::fs::write(out.join(file), wasm).expect("write app");
    }
    std::fs::write(out.join("calls.rs"), format!("pub const CALLS: u32 = {CALLS};\n")).expect("write");
    // The native-calls bin's app: the guarded-call loop with native code.
    #[cfg(feature = "native")]
    {
        let calls = bench("(call $write (i32.const 2) (i32.and (local.get $i) (i32.const 1)))", CALLS);
        let wasm = app("native-calls", &calls, |m| {
            gpio(m);
            m.cpu_budget = 1_000_000;
        });
        std::fs::write(out.join("native-calls.wasm"), with_native_code(&wasm)).expect("write app");
    }

    // memory.x for cortex-m-rt.
    std::fs::copy("memory.x", out.join("memory.x")).expect("memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    // Linker scripts here rather than in .cargo/config.toml's rustflags:
    // rustflags are part of every dependency's fingerprint, so examples
    // with the same flags (none) share dependency builds in one target
    // directory (as CI builds them).
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    // defmt's log strings live in a section of their own, not loaded.
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    #[cfg(feature = "aot")]
    aot::build(&out);
}

/// `wasm` with its native code (akira-aot-build) in its `akira.aot` section.
#[cfg(feature = "native")]
fn with_native_code(wasm: &[u8]) -> Vec<u8> {
    let compiled = akira_aot_build::compile(wasm, &akira_aot_build::Options::default())
        .unwrap_or_else(|e| panic!("AOT compile of a built-in app: {e}"));
    akira_aot_build::embed(wasm, &compiled.blob).expect("embed the blob")
}

/// The AOT bin's kernels: wasm for the interpreter, a blob for the AOT
/// tier, and a native object linked into the `aot` bin only.
#[cfg(feature = "aot")]
mod aot {
    use std::path::Path;

    use akira_caps::manifest::AppName;
    use akira_caps::{Manifest, Version};
    use std::process::Command;

    const KERNELS: &str = "../apps/aot-kernels";

    fn run(cmd: &mut Command) {
        let status = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        assert!(status.success(), "{cmd:?} failed");
    }

    pub fn build(out: &Path) {
        run(Command::new("sh").arg(format!("{KERNELS}/build.sh")).arg(out));
        let wasm = std::fs::read(out.join("kernels.wasm")).expect("kernels.wasm");
        let compiled = akira_aot_build::compile(&wasm, &akira_aot_build::Options::default())
            .unwrap_or_else(|e| panic!("AOT compile of the kernels: {e}"));
        // The blob travels inside the wasm, as in a package (whose chain
        // and signature then cover it); the interpreter runs the same bytes.
        let carried = akira_aot_build::embed(&wasm, &compiled.blob).expect("embed the blob");
        // Signed with the test key, as `akira pack --aot thumbv7em` would.
        let hex = std::fs::read_to_string("test-signer.key").expect("test-signer.key");
        let hex = hex.trim().as_bytes();
        let mut seed = [0u8; 32];
        for (i, byte) in seed.iter_mut().enumerate() {
            let digit = |c: u8| (c as char).to_digit(16).expect("hex key") as u8;
            *byte = digit(hex[2 * i]) << 4 | digit(hex[2 * i + 1]);
        }
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let mut m = Manifest::new(AppName::try_from("kernels").expect("app name"), Version::new(1, 0, 0));
        m.memory_limit = 65_536;
        m.cpu_budget = 1_000_000_000;
        let pkg = akira_ota::package::build(&m, &carried, Some(&key));
        std::fs::write(out.join("kernels.akpkg"), pkg).expect("write package");
        let denied = wat::parse_str(DENIED).expect("WAT");
        let denied = akira_aot_build::compile(&denied, &akira_aot_build::Options::default()).expect("AOT compile");
        std::fs::write(out.join("gpio.aot"), &denied.blob).expect("write blob");
        // Phase 2: whole apps with native code in their `akira.aot`
        // section, run by the sandbox's scheduler natively and interpreted.
        // And the figure of whole apps: 10 000 guarded host calls, exit 0.
        let calls = super::bench("(call $write (i32.const 2) (i32.and (local.get $i) (i32.const 1)))", 10_000);
        for (name, wat) in APPS.into_iter().chain(SLICES).chain([("aot-calls", calls.as_str())]) {
            let wasm = super::app(name, wat, |m| {
                super::gpio(m);
                // The compute-bound app runs longer than the sleeper.
                m.cpu_budget = if name == "aot-compute" { 5_000_000 } else { 1_000_000 };
                m.capabilities.timer = true;
                m.capabilities.log = true;
            });
            let compiled = akira_aot_build::compile(&wasm, &akira_aot_build::Options::default())
                .unwrap_or_else(|e| panic!("AOT compile of {name}: {e}"));
            let carried = akira_aot_build::embed(&wasm, &compiled.blob).expect("embed the blob");
            std::fs::write(out.join(format!("{name}.wasm")), carried).expect("write app");
        }
        // Native: the same C, the same clang, -Os (what the AOT tier uses).
        let object = out.join("kernels_native.o");
        run(Command::new("clang")
            .args(akira_aot_build::THUMBV7EM_FLAGS)
            .args(["-Os", "-ffreestanding", "-c", "-o"])
            .arg(&object)
            .arg(format!("{KERNELS}/kernels.c")));
        println!("cargo:rustc-link-arg-bin=aot={}", object.display());
        println!("cargo:rerun-if-changed={KERNELS}/kernels.c");
        println!("cargo:rerun-if-changed={KERNELS}/build.sh");
        println!("cargo:rerun-if-changed=test-signer.key");
    }

    /// Apps for the containment checks of whole apps (phase 2): each ends
    /// the same way natively and interpreted.
    const APPS: [(&str, &str); 6] = [
        // Blinks three times, sleeping between toggles, exits with the
        // sum of the write results (0).
        (
            "aot-sleeper",
            r#"(module
                (import "akira:gpio" "write" (func $write (param i32 i32) (result i32)))
                (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
                (memory (export "memory") 4096 4096 (pagesize 1))
                (func (export "akira_main") (result i32)
                    (local $i i32) (local $sum i32)
                    (loop $l
                        (local.set $sum (i32.add (local.get $sum)
                            (call $write (i32.const 2) (i32.and (local.get $i) (i32.const 1)))))
                        (local.set $sum (i32.add (local.get $sum) (call $sleep (i64.const 20000))))
                        (local.set $i (i32.add (local.get $i) (i32.const 1)))
                        (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
                    (local.get $sum)))"#,
        ),
        // Forty bursts of 40 000 iterations with a 1 ms sleep after each:
        // every burst fits the CPU budget (1 000 000, natively and
        // interpreted), all of them together do not; the budget counts
        // from the last wait, so it exits with 0.
        (
            "aot-bursts",
            r#"(module
                (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
                (memory (export "memory") 4096 4096 (pagesize 1))
                (func (export "akira_main") (result i32)
                    (local $i i32) (local $n i32) (local $sum i32)
                    (loop $bursts
                        (local.set $i (i32.const 0))
                        (loop $l
                            (local.set $sum (i32.add (local.get $sum) (local.get $i)))
                            (local.set $i (i32.add (local.get $i) (i32.const 1)))
                            (br_if $l (i32.lt_u (local.get $i) (i32.const 40000))))
                        (drop (call $sleep (i64.const 1000)))
                        (local.set $n (i32.add (local.get $n) (i32.const 1)))
                        (br_if $bursts (i32.lt_u (local.get $n) (i32.const 40))))
                    (i32.and (local.get $sum) (i32.const 0))))"#,
        ),
        // A runaway loop: the CPU budget stops it.
        ("aot-runaway", include_str!("../apps/aot-containment/runaway.wat")),
        // A load past the last byte of its 4 096-byte memory.
        ("aot-oob", include_str!("../apps/aot-containment/oob.wat")),
        // Unbounded recursion: the call-depth bound (natively) and
        // wasmi's stack limit both report a stack overflow.
        ("aot-recurse", include_str!("../apps/aot-containment/recurse.wat")),
        // A call the guard refuses (pin 7 is not granted): -1, and the
        // app exits with it.
        ("aot-denied", include_str!("../apps/aot-containment/denied.wat")),
    ];

    /// Apps for the time-slice checks of whole apps: a compute-bound app
    /// beside one that sleeps, both native.
    const SLICES: [(&str, &str); 2] = [
        // 4 000 000 iterations without a wait (within its CPU budget of
        // 5 000 000 native units, set below); exits with the low 15 bits
        // of the sum of 0..4 000 000.
        ("aot-compute", include_str!("../apps/aot-containment/compute.wat")),
        // Ten times: logs "tick", sleeps 1 ms; exits with the latest it
        // woke up after a sleep (microseconds past the 1 ms).
        (
            "aot-ticker",
            r#"(module
                (import "akira:timer" "now_us" (func $now (result i64)))
                (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
                (import "akira:log" "write" (func $log (param i32 i32 i32) (result i32)))
                (memory (export "memory") 4096 4096 (pagesize 1))
                (data (i32.const 0) "tick")
                (func (export "akira_main") (result i32)
                    (local $n i32) (local $t i64) (local $late i64) (local $worst i64)
                    (loop $l
                        (drop (call $log (i32.const 2) (i32.const 0) (i32.const 4)))
                        (local.set $t (call $now))
                        (drop (call $sleep (i64.const 1000)))
                        (local.set $late (i64.sub (i64.sub (call $now) (local.get $t)) (i64.const 1000)))
                        (if (i64.gt_s (local.get $late) (local.get $worst))
                            (then (local.set $worst (local.get $late))))
                        (local.set $n (i32.add (local.get $n) (i32.const 1)))
                        (br_if $l (i32.lt_u (local.get $n) (i32.const 10))))
                    (i32.wrap_i64 (local.get $worst))))"#,
        ),
    ];

    /// An app calling a guarded host function: LED 2 is granted, LED 7 is
    /// not. Its memory has one-byte pages, as `akira build` gives apps.
    const DENIED: &str = r#"(module
        (import "akira:gpio" "write" (func $write (param i32 i32) (result i32)))
        (memory (export "memory") 4096 4096 (pagesize 1))
        (func (export "size") (param i32) (result i32) (memory.size))
        (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
        ;; Bounds checks at their edges: offsets that wrap a 32-bit sum.
        (func (export "last_word") (param i32) (result i32) (i32.load offset=4092 (local.get 0)))
        (func (export "wrapping_load") (param i32) (result i32) (i32.load offset=4294967292 (local.get 0)))
        (func (export "wrapping_store") (param i32) (result i32)
            (i64.store offset=4294967288 (local.get 0) (i64.const -1)) (i32.const 0))
        (func (export "fill16") (param i32) (result i32)
            (memory.fill (local.get 0) (i32.const 7) (i32.const 16)) (i32.const 0))
        (func (export "blink") (param $n i32) (result i32)
            (local $i i32) (local $sum i32)
            (loop $l
                (local.set $sum (i32.add (local.get $sum)
                    (call $write (i32.const 2) (i32.and (local.get $i) (i32.const 1)))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
            (local.get $sum))
        (func (export "forbidden") (param i32) (result i32)
            (call $write (i32.const 7) (local.get 0))))"#;
}
