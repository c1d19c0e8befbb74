//! `akira pack --aot thumbv7em|riscv32imac`: the native code travels in
//! the signed wasm. Needs wasm2c and clang (`.ci/run` installs them).

use std::path::PathBuf;
use std::process::{Command, Output};

use akira_caps::Policy;
use akira_ota::package::{Event, PackageReader, Rights, TrustPolicy};

fn akira(dir: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_akira")).args(args).current_dir(dir).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const APP: &str = r#"(module
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (memory (export "memory") 4096 4096 (pagesize 1))
    (func (export "akira_main") (result i32)
        (local $i i32)
        (loop $l
            (drop (call $sleep (i64.const 1000)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
        (i32.const 0)))"#;

/// A directory with the app's wasm and manifest (`app.wasm`, `app.toml`).
fn app_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("akira-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.wasm"), wat::parse_str(APP).unwrap()).unwrap();
    std::fs::write(
        dir.join("app.toml"),
        "[app]\nname = \"ticker\"\nversion = \"1.0.0\"\n[capabilities]\ntimer = true\n",
    )
    .unwrap();
    dir
}

/// The wasm an unsigned package carries, and the rights it was accepted with.
fn unpack(pkg: &[u8]) -> (Vec<u8>, Rights) {
    let policy = Policy::development();
    let trust = TrustPolicy { keys: &[], unsigned: Some(&policy), accept_v1: false, list_needs_signature: false };
    let mut reader = PackageReader::new(&trust, 1 << 20);
    let (mut wasm, mut rights, mut rest) = (Vec::new(), None, pkg);
    while !reader.is_done() {
        let (used, event) = reader.next(rest).unwrap();
        match event {
            Some(Event::Accepted(a)) => rights = Some(a.rights),
            Some(Event::Wasm(bytes)) => wasm.extend_from_slice(bytes),
            _ => {}
        }
        rest = &rest[used..];
    }
    (wasm, rights.expect("an accepted header"))
}

#[test]
fn pack_aot_carries_native_code_that_an_unsigned_package_may_not_run() {
    let dir = app_dir("aot-pack");
    let args = ["pack", "app.wasm", "--manifest", "app.toml", "--unsigned", "--aot", "thumbv7em", "-o", "app.akpkg"];
    let out = ok(&akira(&dir, &args));
    assert!(out.contains("AOT thumbv7em:") && out.contains("relocations"), "{out}");

    let (wasm, rights) = unpack(&std::fs::read(dir.join("app.akpkg")).unwrap());
    let blob = akira_aot::format::find_in_wasm(&wasm).unwrap().expect("an akira.aot section");
    let blob = akira_aot::format::Blob::parse(blob).unwrap();
    let import = blob.imports().find(|i| i.module == "akira:timer").expect("the timer import");
    assert_eq!(import.name, "sleep_us");
    assert!(blob.export("akira_main").is_some());
    // Unsigned: installable under the development policy, never native.
    assert!(!rights.contains(Rights::NATIVE_CODE));

    // Without wasm2c the command fails with the tool named, and writes nothing.
    let o = Command::new(env!("CARGO_BIN_EXE_akira"))
        .args(["pack", "app.wasm", "--manifest", "app.toml", "--unsigned", "--aot", "thumbv7em", "-o", "no.akpkg"])
        .env("AKIRA_WASM2C", "/nonexistent/wasm2c")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("wasm2c"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!dir.join("no.akpkg").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pack_aot_riscv32imac_carries_a_riscv_blob() {
    let dir = app_dir("aot-pack-rv");
    let args = ["pack", "app.wasm", "--manifest", "app.toml", "--unsigned", "--aot", "riscv32imac", "-o", "app.akpkg"];
    let out = ok(&akira(&dir, &args));
    assert!(out.contains("AOT riscv32imac:"), "{out}");
    let (wasm, _) = unpack(&std::fs::read(dir.join("app.akpkg")).unwrap());
    let blob = akira_aot::format::find_in_wasm(&wasm).unwrap().expect("an akira.aot section");
    let blob = akira_aot::format::Blob::parse(blob).unwrap();
    assert_eq!(blob.header.arch, akira_aot::format::Arch::Riscv32imac);
    assert!(blob.export("akira_main").is_some_and(|e| e.entry % 2 == 0));
    assert!(blob.imports().any(|i| i.module == "akira:timer" && i.name == "sleep_us"));
    // A target the compiler does not have is refused by the argument parser.
    let o = akira(&dir, &["pack", "app.wasm", "--manifest", "app.toml", "--unsigned", "--aot", "riscv64", "-o", "x"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("riscv32imac"), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
