//! WASI apps end to end: the C app (clang + Debian's wasi-libc) and the
//! Rust `std` app (`wasm32-wasip1`) run on the simulated board, keep a file
//! across runs, and are refused what their manifest does not grant.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn akira(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_akira")).args(args).current_dir(root()).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Builds the C app with `examples/apps/wasi-hello-c/build.sh`; `None`
/// (the test is skipped, saying so) where clang or wasi-libc is missing.
/// CI installs both (`.ci/run`).
fn build_c_app(out: &Path) -> Option<PathBuf> {
    if !Path::new("/usr/lib/wasm32-wasi/libc.a").exists() || Command::new("clang").arg("--version").output().is_err() {
        eprintln!("skipped: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32");
        return None;
    }
    let o = Command::new("sh").arg(root().join("examples/apps/wasi-hello-c/build.sh")).arg(out).output().unwrap();
    assert!(o.status.success(), "build.sh: {}", text(&o));
    Some(out.join("hello.wasm"))
}

#[test]
fn c_app_prints_allocates_keeps_time_and_a_file_in_a_few_kib() {
    let dir = scratch("wasi-c");
    let Some(wasm) = build_c_app(&dir) else { return };
    let manifest = root().join("examples/apps/wasi-hello-c/Akira.toml");
    let storage = dir.join("flash.img");
    let run = || {
        akira(&[
            "run",
            wasm.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
            "--storage",
            storage.to_str().unwrap(),
            "--virtual-time",
        ])
    };
    let o = run();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for line in [
        "info: hello from C on WASI: 1 argument(s), first \"wasi-hello-c\"",
        "info: MODE=demo",
        "info: sum of 64 squares: 85344",
        "info: slept 20 ms",
        "info: UTC year 2026",
        "info: run number 1 (kept in runs.txt)",
    ] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
    // The sleep suspended the app for 20 ms of virtual time (the clock
    // also moves with the CPU time the app uses).
    // (In whole microseconds: the difference of two decimal stamps as
    // floats can fall just short of 0.020.)
    let slept = ((stamp(&out, "info: slept 20 ms") - stamp(&out, "info: sum of 64 squares")) * 1e6).round() as i64;
    assert!((20_000..25_000).contains(&slept), "slept {slept} us:\n{out}");
    // wasi-libc's malloc would keep 128 KiB; with the fixed heap the
    // memory is shrunk to what the app needs.
    let memory = out.lines().find(|l| l.contains("memory 64.0 KiB -> ")).unwrap_or_else(|| panic!("{out}"));
    let kib: f64 = memory.split("-> ").nth(1).unwrap().split(" KiB").next().unwrap().parse().unwrap();
    assert!(kib < 32.0, "{memory}");
    let o = run();
    assert!(text(&o).contains("info: run number 2 (kept in runs.txt)"), "the file was kept:\n{}", text(&o));
}

#[test]
fn c_app_without_the_files_part_is_denied_and_counted() {
    let dir = scratch("wasi-c-denied");
    let Some(wasm) = build_c_app(&dir) else { return };
    let manifest = dir.join("Akira.toml");
    std::fs::write(
        &manifest,
        "[app]\nname = \"wasi-hello-c\"\nversion = \"0.1.0\"\n[limits]\nstack = \"8 KiB\"\n\
         [capabilities]\nwasi = [\"console\", \"clock\"]\n",
    )
    .unwrap();
    let o = akira(&["run", wasm.to_str().unwrap(), "--manifest", manifest.to_str().unwrap(), "--virtual-time"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "the app gives up with 2:\n{out}");
    // No directory is preopened, so wasi-libc does not even ask.
    assert!(out.contains("error: runs.txt: Capabilities insufficient"), "{out}");
    assert!(!out.contains("run number"), "{out}");
}

#[test]
fn rust_std_app_prints_sleeps_and_keeps_a_file() {
    let dir = scratch("wasi-rust");
    let storage = dir.join("flash.img");
    let app = root().join("examples/apps/wasi-hello-rust");
    let run = || akira(&["run", app.to_str().unwrap(), "--storage", storage.to_str().unwrap(), "--virtual-time"]);
    let o = run();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("cargo, wasm32-wasip1, release"), "{out}");
    assert!(
        out.contains(r#"info: hello from Rust std on WASI, args ["wasi-hello-rust", "--greeting", "hello"]"#),
        "{out}"
    );
    assert!(out.contains("[   0.025000s] wasi-hello-rust info: slept 25 ms"), "thread::sleep suspends:\n{out}");
    assert!(out.contains("info: run number 1 (kept in runs.txt)"), "{out}");
    assert!(out.contains("info: 30 bytes in 5 strings on the heap"), "{out}");
    let memory = out.lines().find(|l| l.contains("memory 64.0 KiB -> ")).unwrap_or_else(|| panic!("{out}"));
    assert!(memory.contains("-> 29."), "stack 8 KiB + heap 8 KiB + data: {memory}");
    assert!(text(&run()).contains("info: run number 2"), "the file was kept");
    let o = akira(&["inspect", app.to_str().unwrap()]);
    assert!(text(&o).contains("abi           WASI preview 1 (wasi_snapshot_preview1)"), "{}", text(&o));
}

/// The virtual time, in seconds, of the first console line containing
/// `needle` (`[   0.020000s] app info: ...`).
fn stamp(out: &str, needle: &str) -> f64 {
    let line = out.lines().find(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} in:\n{out}"));
    line.trim_start_matches('[').split("s]").next().unwrap().trim().parse().unwrap()
}
