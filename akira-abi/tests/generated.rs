//! The files generated from the ABI are current, and the C header compiles.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_generated_files_are_current() {
    for (file, render) in akira_abi::render::FILES {
        let mut expected = String::new();
        render(&mut expected).unwrap();
        let found = std::fs::read_to_string(root().join(file)).unwrap_or_default();
        if found != expected {
            let common = found.lines().count().min(expected.lines().count());
            let line = found.lines().zip(expected.lines()).position(|(a, b)| a != b).unwrap_or(common) + 1;
            panic!(
                "{file} is not what akira-abi generates (first difference at line {line}): run `cargo run -p akira-abi`"
            );
        }
    }
}

#[test]
fn every_module_names_its_functions_once_and_declares_each_in_c() {
    for m in akira_abi::MODULES {
        assert_eq!(m.import, format!("akira:{}", m.name));
        for (i, f) in m.functions.iter().enumerate() {
            assert!(m.functions[..i].iter().all(|g| g.name != f.name), "{}.{} twice", m.import, f.name);
            let declared = m.c_items.iter().filter(|c| **c == akira_abi::CItem::Import(f.name)).count();
            assert_eq!(declared, 1, "{}.{}: declarations in the C header", m.import, f.name);
        }
        for c in m.c_items {
            if let akira_abi::CItem::Import(name) = c {
                assert!(m.function(name).is_some(), "{}: the C header declares unknown {name}", m.import);
            }
        }
    }
}

/// Compiles the header as C and as C++ for wasm32 with every warning an
/// error, when clang is installed (CI installs it).
#[test]
fn the_header_compiles_as_c_and_cpp_for_wasm32() {
    if Command::new("clang").arg("--version").output().is_err() {
        eprintln!("skipped: clang is not installed (apt-get install clang lld)");
        return;
    }
    for lang in ["c", "c++"] {
        let out = Command::new("clang")
            .args(["--target=wasm32", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-pedantic", "-x", lang])
            .arg("-I")
            .arg(root().join("include"))
            .arg("-")
            .stdin(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(b"#include \"akira.h\"\nint x;\n")?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success(), "{lang}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
