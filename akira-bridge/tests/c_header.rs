//! `include/akira.h` must declare exactly the functions the bridge links,
//! each imported from its module under its name with the C types that
//! lower to its wasm signature, and the error table; `docs/abi.md` is held
//! to the same specs by `abi_doc.rs`, so header, ABI page and bridge agree.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use akira_bridge::Errno;
use akira_bridge::akira_caps::ValType;
use common::SPECS;

fn header_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../include/akira.h")
}

fn header() -> String {
    std::fs::read_to_string(header_path()).unwrap()
}

/// One `AKIRA_IMPORT("module", "name") ret cname(params);` line.
#[derive(Debug)]
struct Import {
    module: String,
    name: String,
    c_name: String,
    params: Vec<ValType>,
    results: Vec<ValType>,
}

/// The wasm type a C parameter or result type lowers to on wasm32.
fn lower(c_type: &str) -> Result<Option<ValType>, String> {
    if c_type.contains('*') {
        return Ok(Some(ValType::I32));
    }
    let words: Vec<&str> = c_type.split_whitespace().filter(|w| *w != "const").collect();
    match words.as_slice() {
        ["void"] => Ok(None),
        ["int32_t" | "uint32_t" | "int" | "size_t"] => Ok(Some(ValType::I32)),
        ["int64_t" | "uint64_t"] => Ok(Some(ValType::I64)),
        other => Err(format!("no wasm type for C type {other:?}")),
    }
}

fn parse(line: &str) -> Result<Import, String> {
    let quoted: Vec<&str> = line.split('"').collect();
    let [_, module, _, name, rest, ..] = quoted.as_slice() else { return Err("expected two quoted names".into()) };
    let decl = rest.strip_prefix(") ").ok_or("expected `) ` after the names")?;
    let decl = decl.replace("__attribute__((noreturn)) ", "");
    let open = decl.find('(').ok_or("no parameter list")?;
    let close = decl.rfind(");").ok_or("declaration does not end with `);`")?;
    let (head, params) = (&decl[..open], &decl[open + 1..close]);
    let split = head.rfind([' ', '*']).ok_or("no function name")?;
    let (ret, c_name) = (&head[..=split], head[split + 1..].trim());
    let results = lower(ret)?.into_iter().collect();
    let mut lowered = Vec::new();
    if params.trim() != "void" {
        for p in params.split(',') {
            // Drop the parameter's name: the last word, unless it is a
            // pointer's `*name`.
            let p = p.trim();
            let cut = p.rfind([' ', '*']).ok_or_else(|| format!("unnamed parameter `{p}`"))?;
            let ty = &p[..=cut];
            lowered.push(lower(ty)?.ok_or_else(|| format!("void parameter in `{p}`"))?);
        }
    }
    Ok(Import {
        module: module.to_string(),
        name: name.to_string(),
        c_name: c_name.to_string(),
        params: lowered,
        results,
    })
}

fn imports() -> Vec<Import> {
    header()
        .lines()
        .filter(|l| l.starts_with("AKIRA_IMPORT(\""))
        .map(|l| parse(l).unwrap_or_else(|e| panic!("akira.h: {e}: {l}")))
        .collect()
}

#[test]
fn every_linked_function_is_declared_with_its_module_name_and_types() {
    let mut declared: BTreeMap<(String, String), Import> = BTreeMap::new();
    for i in imports() {
        let key = (i.module.clone(), i.name.clone());
        assert!(declared.insert(key, i).is_none(), "a function is declared twice");
    }
    let mut expected = 0;
    for spec in SPECS {
        for f in spec.functions {
            expected += 1;
            let key = (spec.import.to_string(), f.name.to_string());
            let i = declared.get(&key).unwrap_or_else(|| panic!("akira.h lacks {}.{}", spec.import, f.name));
            assert_eq!(i.params, f.params, "{}.{}: parameter types", spec.import, f.name);
            assert_eq!(i.results, f.results, "{}.{}: result types", spec.import, f.name);
            let module = spec.import.strip_prefix("akira:").unwrap_or(spec.import);
            assert_eq!(i.c_name, format!("akira_{module}_{}", f.name), "C name of {}.{}", spec.import, f.name);
        }
    }
    assert_eq!(declared.len(), expected, "akira.h declares functions the bridge does not link");
}

#[test]
fn error_codes_match_errno() {
    let h = header();
    for e in Errno::ALL {
        let define = format!("#define {} ({})", e.name(), e.code());
        assert!(h.contains(&define), "akira.h lacks `{define}`");
    }
}

#[test]
fn the_parser_sees_types_it_does_not_know() {
    assert!(parse(r#"AKIRA_IMPORT("akira:x", "y") float akira_x_y(void);"#).is_err());
    let i =
        parse(r#"AKIRA_IMPORT("akira:x", "y") int64_t akira_x_y(const uint8_t *p, int32_t n, int64_t t);"#).unwrap();
    assert_eq!(i.params, [ValType::I32, ValType::I32, ValType::I64]);
    assert_eq!(i.results, [ValType::I64]);
}

/// Compiles the header as C and as C++ for wasm32 with every warning an
/// error, when clang is installed (CI installs it).
#[test]
fn the_header_compiles_as_c_and_cpp_for_wasm32() {
    if Command::new("clang").arg("--version").output().is_err() {
        eprintln!("skipped: clang is not installed (apt-get install clang lld)");
        return;
    }
    let include = header_path();
    let include = include.parent().unwrap();
    for lang in ["c", "c++"] {
        let out = Command::new("clang")
            .args(["--target=wasm32", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-pedantic", "-x", lang])
            .arg("-I")
            .arg(include)
            .arg("-")
            .stdin(std::process::Stdio::piped())
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
