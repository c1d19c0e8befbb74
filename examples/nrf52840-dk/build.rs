//! The preinstalled app: blinky, from WAT, with its manifest embedded.
//! Also puts the memory layout where the linker finds it as memory.x:
//! memory-default.x, or memory-ble.x with the `ble` feature (`gatt`
//! included).

use std::path::PathBuf;

use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Version};

/// Toggles LED 1 (logical pin 2) every 500 ms, forever.
const BLINKY: &str = r#"(module
    (import "akira:gpio" "toggle" (func $toggle (param i32) (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main")
        (loop $l
            (drop (call $toggle (i32.const 2)))
            (drop (call $sleep (i64.const 500000)))
            (br $l))))"#;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let mut m = Manifest::new(AppName::try_from("blinky").expect("name"), Version::new(1, 0, 0));
    m.memory_limit = 4096;
    m.cpu_budget = 100_000;
    m.capabilities.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    m.capabilities.timer = true;
    let mut wasm = wat::parse_str(BLINKY).expect("blinky WAT");
    wasm.extend(m.custom_section());
    std::fs::write(out.join("blinky.wasm"), wasm).expect("write blinky");

    // The BLE firmware (nrf-sdc's controller, and with `gatt` trouble-host:
    // 80 and 150 KB more code at opt-level z) links below a smaller OTA
    // store: memory-ble.x. (No memory.x in the package root: the linker
    // would find that one first.)
    let memory = if std::env::var_os("CARGO_FEATURE_BLE").is_some() {
        "memory-ble.x"
    } else {
        "memory-default.x"
    };
    std::fs::copy(memory, out.join("memory.x")).expect("memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    // Linker scripts here rather than in .cargo/config.toml's rustflags:
    // rustflags are part of every dependency's fingerprint, so examples
    // with the same flags (none) share dependency builds in one target
    // directory (as CI builds them).
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    println!("cargo:rerun-if-changed=memory-default.x");
    println!("cargo:rerun-if-changed=memory-ble.x");
}
