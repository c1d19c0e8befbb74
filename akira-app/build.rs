//! Writes the SDK's import declarations from the ABI's one definition
//! (`akira-abi`): one module per ABI module, `crate::imports::<module>`.

use std::path::Path;

fn main() {
    let mut text = String::new();
    akira_abi::render::rust_imports(&mut text).expect("akira-abi renders its imports");
    let out = Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("imports.rs");
    std::fs::write(out, text).expect("OUT_DIR is writable");
    println!("cargo::rerun-if-changed=build.rs");
}
