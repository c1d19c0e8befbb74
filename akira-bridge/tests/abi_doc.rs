//! `docs/abi.md` must list exactly the functions, signatures and error
//! codes the bridge implements.

mod common;

use akira_bridge::Errno;
use akira_bridge::akira_caps::{FnSpec, Stability, ValType};
use common::SPECS;

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/abi.md")).unwrap()
}

fn signature(f: &FnSpec) -> String {
    let list = |l: &[ValType]| l.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
    let results = match f.results {
        [] => "()".to_string(),
        [one] => one.name().to_string(),
        many => format!("({})", list(many)),
    };
    format!("({}) -> {results}", list(f.params))
}

/// The function rows of the section headed by `module`.
fn rows<'a>(doc: &'a str, module: &str) -> Vec<&'a str> {
    let heading = format!("## `{module}`");
    let start = doc.find(&heading).unwrap_or_else(|| panic!("abi.md has no section {heading}"));
    let section = &doc[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section.lines().filter(|l| l.starts_with("| `")).collect()
}

#[test]
fn every_function_is_documented_with_its_signature_and_stability() {
    let doc = doc();
    for spec in SPECS.iter().copied() {
        let rows = rows(&doc, spec.import);
        assert_eq!(rows.len(), spec.functions.len(), "{}: documented functions vs linked ones", spec.import);
        for f in spec.functions {
            let stability = match f.stability {
                Stability::Stable => "stable",
                Stability::Experimental => "experimental",
            };
            let prefix = format!("| `{}` | `{}` | {stability} |", f.name, signature(f));
            assert!(
                rows.iter().any(|r| r.starts_with(&prefix)),
                "abi.md section {} lacks a row starting {prefix}",
                spec.import
            );
        }
        let capability = format!("capability `{}`", spec.capability.name());
        assert!(doc.contains(&format!("## `{}` — {capability}", spec.import)));
    }
}

#[test]
fn error_table_matches_errno() {
    let doc = doc();
    for e in Errno::ALL {
        let row = format!("| {} | `{}` | {} |", e.code(), e.name(), e.describe());
        assert!(doc.contains(&row), "abi.md lacks the row {row}");
    }
}

#[test]
fn every_documented_module_is_a_spec() {
    let doc = doc();
    let documented: Vec<&str> =
        doc.lines().filter_map(|l| l.strip_prefix("## `")).filter_map(|l| l.split('`').next()).collect();
    let specified: Vec<&str> = SPECS.iter().map(|s| s.import).collect();
    assert_eq!(documented, specified, "abi.md's module sections, in order, vs the specs");
}
