//! The preinstalled app: blinky, from WAT, with its manifest embedded and
//! its native code (akira-aot-build: wasm2c and clang) in its `akira.aot`
//! section, as `akira pack --aot thumbv7em` carries it.
//! Also puts memory.x where the linker finds it and adds the linker
//! scripts (here rather than in .cargo/config.toml's rustflags, which are
//! part of every dependency's fingerprint: the board examples share their
//! dependency builds in one target directory).

use std::path::PathBuf;

use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Version};

/// Toggles LED 1 (logical pin 4) every 500 ms, forever.
const BLINKY: &str = r#"(module
    (import "akira:gpio" "toggle" (func $toggle (param i32) (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (memory (export "memory") 1024 1024 (pagesize 1))
    (func (export "akira_main")
        (loop $l
            (drop (call $toggle (i32.const 4)))
            (drop (call $sleep (i64.const 500000)))
            (br $l))))"#;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let mut m = Manifest::new(AppName::try_from("blinky").expect("name"), Version::new(1, 0, 0));
    m.memory_limit = 4096;
    m.cpu_budget = 100_000;
    m.capabilities.gpio = Some(GpioScope::new(Default::default(), [4].into_iter().collect(), Default::default()));
    m.capabilities.timer = true;
    let mut wasm = wat::parse_str(BLINKY).expect("blinky WAT");
    wasm.extend(m.custom_section());
    let native = akira_aot_build::compile(&wasm, &akira_aot_build::Options::default())
        .unwrap_or_else(|e| panic!("AOT compile of blinky: {e}"));
    let wasm = akira_aot_build::embed(&wasm, &native.blob).expect("embed the native code");
    std::fs::write(out.join("blinky.wasm"), wasm).expect("write blinky");

    std::fs::copy("memory.x", out.join("memory.x")).expect("memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
