//! C apps: built with clang for wasm32 against `include/akira.h` by each
//! app's `build.sh`, then run with `akira run --manifest` on the
//! simulated board. CI installs clang and lld; without clang locally the
//! tests say so and pass.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::echo_server;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn have_clang() -> bool {
    let found = Command::new("clang").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED: clang is not installed; C apps are built in CI (apt-get install clang lld)");
    }
    found
}

/// Builds the C app in `examples/apps/<app>` into a fresh directory;
/// returns the `.wasm` called `<name>.wasm`.
fn build(app: &str, name: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("akira-c-{}-{app}", std::process::id()));
    let script = root().join("examples/apps").join(app).join("build.sh");
    let o = Command::new("sh").arg(&script).arg(&out).output().unwrap();
    assert!(o.status.success(), "{app}/build.sh failed:\n{}", String::from_utf8_lossy(&o.stderr));
    out.join(format!("{name}.wasm"))
}

fn run(app: &str, wasm: &Path, extra: &[&str]) -> (Output, String, String) {
    run_with(&root().join("examples/apps").join(app).join("Akira.toml"), wasm, extra)
}

/// Runs `wasm` on the simulated board with the manifest at `manifest`.
fn run_with(manifest: &Path, wasm: &Path, extra: &[&str]) -> (Output, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_akira"))
        .arg("run")
        .arg(wasm)
        .arg("--manifest")
        .arg(manifest)
        .args(["--virtual-time"])
        .args(extra)
        .current_dir(root())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    (o, out, err)
}

#[test]
fn c_blinky_builds_with_clang_and_blinks_on_the_simulated_board() {
    if !have_clang() {
        return;
    }
    let wasm = build("c-blinky", "blinky");
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(size < 2048, "a C blinky is small: {size} bytes");
    let (o, out, err) = run("c-blinky", &wasm, &["--for", "1200ms"]);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("[   0.000000s] c-blinky     gpio 2 configured as output"), "{out}");
    assert!(out.contains("[   0.000000s] c-blinky     info: LED on"), "{out}");
    assert!(out.contains("[   0.500000s] c-blinky     gpio 2 -> low   (LED off)"), "{out}");
    assert!(out.contains("[   1.000000s] c-blinky     info: LED on"), "{out}");
    assert!(err.contains("granted gpio (output {2}), timer, log"), "{err}");
}

#[test]
fn c_tour_uses_every_peripheral_module_from_c() {
    if !have_clang() {
        return;
    }
    let wasm = build("c-tour", "tour");
    let (o, out, err) = run("c-tour", &wasm, &[]);
    assert_eq!(o.status.code(), Some(0), "exit code = the failed check:\n{out}\n{err}");
    for line in [
        "c-tour       i2c0 0x48 reg 0x00 read [16 80]",
        "c-tour       info: i2c tmp102 m°C: 22500",
        "c-tour       DENIED i2c: bus 0 address 0x50 is not granted",
        "c-tour       spi0 write [9f] read [ef 40 14]",
        "c-tour       uart0 rx \"hi\"",
        "c-tour       pwm0 duty 500/1000 (50.0%)",
        "c-tour       sensor0 temperature 22500 m°C",
        "c-tour       rng 8 bytes",
        "c-tour       info: sha256(abc)[0]: 186",
        "c-tour       info: tour complete",
    ] {
        assert!(out.contains(line), "missing `{line}`:\n{out}");
    }
}

#[test]
fn c_services_uses_the_service_modules_from_c() {
    if !have_clang() {
        return;
    }
    let wasm = build("c-services", "services");
    // Endpoint 0 of the manifest is an echo server on a port of this test's.
    let port = echo_server();
    let toml = std::fs::read_to_string(root().join("examples/apps/c-services/Akira.toml")).unwrap();
    let manifest = wasm.with_file_name("Akira.toml");
    std::fs::write(&manifest, toml.replace("127.0.0.1:7", &format!("127.0.0.1:{port}"))).unwrap();
    let (o, out, err) = run_with(&manifest, &wasm, &[]);
    assert_eq!(o.status.code(), Some(0), "exit code = the failed check:\n{out}\n{err}");
    for line in [
        "c-services   storage set \"big\" 60 bytes -> no space left (AKIRA_ENOSPC)",
        "c-services   DENIED display: region 20x20 at (130, 10) is not granted",
        "c-services   display frame 1 shown",
        "c-services   hid keyboard [00 00 0e 00 00 00 00 00] types 'k'",
        "c-services   DENIED hid: id 1 is not granted",
        "c-services   DENIED rf: frequency 869525000 Hz is not granted",
        "c-services   DENIED rf: transmit power 20 dBm is not granted",
        "c-services   rf tx 868.1 MHz \"hello\" (123.9 ms on air)",
        "c-services   info: ota: version 0.1.0, not on trial, no previous version",
        "c-services   ipc receive topic 0 \"hi\"",
        "c-services   DENIED ipc: id 1 is not granted",
        "c-services   DENIED net: id 1 is not granted",
        "c-services   net socket 0 receive \"ping\"",
        "c-services   DENIED app: id 1 is not granted",
        "c-services   sleep hint: Light",
        "c-services   info: sys: uptime past the LoRa packet, sleep hint taken",
    ] {
        assert!(out.contains(line), "missing `{line}`:\n{out}");
    }
}
