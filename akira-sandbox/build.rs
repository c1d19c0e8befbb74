//! `cfg(native_code)`: the target can run AOT code (akira-aot's `Module`
//! and `task` exist there: Cortex-M4F/M7 and RISC-V rv32).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(native_code)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let abi = std::env::var("CARGO_CFG_TARGET_ABI").unwrap_or_default();
    if (arch == "arm" && abi == "eabihf") || arch == "riscv32" {
        println!("cargo::rustc-cfg=native_code");
    }
}
