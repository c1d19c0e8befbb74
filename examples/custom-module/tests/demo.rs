//! `valve-demo` end to end: an app drives its granted valve through the
//! team's module, is refused the other, and apps asking for what they may
//! not have are refused at install.

use std::process::{Command, Output};

use akira_caps::scope::VendorScope;
use akira_caps::{Manifest, Version, manifest::AppName};

const WATER: &str = r#"(module
    (import "acme:valve" "set" (func $set (param i32 i32) (result i32)))
    (import "acme:valve" "is_open" (func $is_open (param i32) (result i32)))
    (func (export "akira_main") (result i32)
        (drop (call $set (i32.const 0) (i32.const 1)))
        ;; 1 (valve 0 is open) * 100 + the code for valve 1 (-1: denied)
        (i32.add (i32.mul (call $is_open (i32.const 0)) (i32.const 100))
                 (call $set (i32.const 1) (i32.const 1)))))"#;

fn app(valves: Option<&[u32]>) -> Vec<u8> {
    let mut manifest = Manifest::new(AppName::try_from("water").unwrap(), Version::new(0, 1, 0));
    if let Some(ids) = valves {
        let scope = VendorScope { name: "acme:valve".try_into().unwrap(), ids: ids.iter().copied().collect() };
        manifest.capabilities.vendor.push(scope).unwrap();
    }
    let mut wasm = wat::parse_str(WATER).unwrap();
    wasm.extend(manifest.custom_section());
    wasm
}

fn demo(wasm: &[u8]) -> Output {
    let dir = std::env::temp_dir().join(format!("acme-valve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{:x}.wasm", wasm.len() * 31 + wasm.iter().map(|&b| b as usize).sum::<usize>()));
    std::fs::write(&path, wasm).unwrap();
    Command::new(env!("CARGO_BIN_EXE_valve-demo")).arg(&path).output().unwrap()
}

#[test]
fn the_granted_valve_opens_and_the_other_is_denied() {
    let out = demo(&app(Some(&[0])));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("valve 0 OPEN"), "{stdout}");
    assert!(stdout.contains("water DENIED vendor capability #0: id 1 is not granted"), "{stdout}");
    assert!(!stdout.contains("valve 1 OPEN"), "{stdout}");
    assert!(stdout.contains("water exited with 99"), "{stdout}");
    assert!(stdout.contains("valves at the end: [true, false]"), "{stdout}");
    assert_eq!(out.status.code(), Some(99));
}

#[test]
fn an_app_without_the_capability_never_gets_the_module() {
    let out = demo(&app(None));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("refused import `acme:valve.set`: capability `acme:valve` is not granted to this app"),
        "{stderr}"
    );
}

#[test]
fn a_valve_beyond_the_device_policy_is_refused_at_install() {
    let out = demo(&app(Some(&[0, 2])));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("capability `acme:valve`: id 2 is not allowed by the device policy"), "{stderr}");
}
