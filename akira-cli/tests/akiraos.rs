//! The AkiraOS test apps (`examples/apps/akiraos-blink`, `akiraos-edge`),
//! built the way AkiraOS's SDK builds apps, run unchanged: `akira run` and
//! `akira pack` translate them on the host; `akira inspect` names their
//! ABI; a busy-polling app shares the CPU on virtual time; an app that
//! imports a call Akira lacks, or asks for a capability it cannot
//! translate, is refused by name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn akira(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_akira")).args(args).current_dir(dir).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Builds `examples/apps/akiraos-<app>` with its `build.sh` into a fresh
/// directory `name`; `None` (the test says it is skipped) without clang.
/// CI installs clang and lld.
fn build(app: &str, name: &str) -> Option<(PathBuf, PathBuf)> {
    if Command::new("clang").arg("--version").output().is_err() {
        eprintln!("skipped: apt-get install clang lld");
        return None;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = root().join(format!("examples/apps/akiraos-{app}/build.sh"));
    let o = Command::new("sh").arg(script).arg(&dir).output().unwrap();
    assert!(o.status.success(), "build.sh: {}", text(&o));
    let wasm = dir.join(format!("{app}.wasm"));
    Some((dir, wasm))
}

fn build_blink(name: &str) -> Option<(PathBuf, PathBuf)> {
    build("blink", name)
}

/// The board time of a record line (`[   1.500017s] ...`), in microseconds.
fn at_us(line: &str) -> u64 {
    let t = line.trim_start_matches('[').split('s').next().unwrap().trim();
    let (s, us) = t.split_once('.').unwrap();
    s.parse::<u64>().unwrap() * 1_000_000 + us.parse::<u64>().unwrap()
}

#[test]
fn a_busy_polling_app_shares_the_cpu_on_virtual_time_and_blinky_keeps_its_timing() {
    let Some((dir, _)) = build("edge", "akiraos-edge") else { return };
    // The app never sleeps: it polls gpio_read for two press-and-release
    // edges, then polls timer_elapsed for a whole second (twice what its
    // CPU budget allows without waiting, were the polls not yields).
    let blinky = root().join("examples/apps/blinky");
    let o = akira(
        &dir,
        &[
            "run",
            "edge.wasm",
            blinky.to_str().unwrap(),
            "--virtual-time",
            "--press",
            "0@500ms",
            "--press",
            "0@1500ms",
            "--for",
            "3s",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    // A press is held 50 ms: each edge completes at its release. Polls
    // take CPU time, so the app sees it a few microseconds later.
    let seen = |what: &str| out.lines().find(|l| l.contains(what)).map(at_us);
    for (what, due) in [("info: edge 1", 550_000), ("info: edge 2", 1_550_000)] {
        let t = seen(what).unwrap_or_else(|| panic!("{what:?} in:\n{out}"));
        assert!((due..due + 1_000).contains(&t), "{what} at {t} us, due at {due}:\n{out}");
    }
    for line in [
        "akiraos-edge info:   at ms 550",
        "akiraos-edge info:   at ms 1550",
        "akiraos-edge info: waited ms 1000",
        "akiraos-edge info: clock polls > 0: 1",
        "akiraos-edge exited with code 0",
        "akira: time limit reached at 3.000000s",
    ] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
    assert!(!out.contains("FAULT"), "{out}");
    // Blinky toggles every 500 ms, each less than a millisecond late
    // although the other app never waits.
    let toggles: Vec<u64> =
        out.lines().filter(|l| l.contains("blinky") && l.contains("gpio 2 ->")).map(at_us).collect();
    assert_eq!(toggles.len(), 6, "{out}");
    for (n, t) in toggles.iter().enumerate() {
        let due = n as u64 * 500_000;
        assert!((due..due + 1_000).contains(t), "toggle {n} at {t} us, due at {due}:\n{out}");
    }
}

#[test]
fn akiraos_app_runs_unchanged_polls_without_exhausting_its_budget_and_keeps_a_file() {
    let Some((dir, wasm)) = build_blink("akiraos-run") else { return };
    let before = std::fs::read(&wasm).unwrap();
    // Virtual time: the app busy-polls the button, and the press comes
    // while it does (each poll yields to the scheduler, and the clock
    // moves with the CPU time apps use). In real time the second run
    // missed its 5 s on a loaded machine.
    let run = || {
        let args =
            ["run", "blink.wasm", "--virtual-time", "--press", "0@700ms", "--for", "5s", "--storage", "flash.img"];
        akira(&dir, &args)
    };
    let o = run();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    for line in [
        "an AkiraOS app: 14 `env` imports translated for board `akira-sim`",
        "akiraos-blink gpio 2 configured as output",
        "akiraos-blink gpio 2 -> high",
        "akiraos-blink gpio 2 -> low",
        "akiraos-blink info: button pressed after polls > 0: 1",
        "akiraos-blink info: run number 1",
        "akiraos-blink info: hello",
        "akiraos-blink exited with code 0",
    ] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
    let blinked = out.lines().find(|l| l.contains("info: blinked for ms: ")).unwrap_or_else(|| panic!("{out}"));
    let ms: u32 = blinked.rsplit(": ").next().unwrap().trim().parse().unwrap();
    assert!((400..1000).contains(&ms), "four 100 ms delays: {blinked}");
    assert!(text(&run()).contains("info: run number 2"), "the file was kept");
    assert_eq!(std::fs::read(&wasm).unwrap(), before, "the app's .wasm is used unchanged");

    let o = akira(&dir, &["inspect", "blink.wasm"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("Akira (translated from AkiraOS env by `akira build`)"), "{out}");

    let o = akira(&dir, &["pack", "blink.wasm", "--unsigned", "-o", "blink.akpkg"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(dir.join("blink.akpkg").exists());
}

#[test]
fn refusals_name_the_import_or_capability() {
    let Some((dir, wasm)) = build_blink("akiraos-refused") else { return };
    // A product board whose profile allows no wildcards.
    std::fs::write(dir.join("product.toml"), "[board]\nname = \"product\"\n[gpio]\npins = { 2 = 2 }\noutput = [2]\n")
        .unwrap();
    // The same app asking for `gpio.*`.
    let bytes = std::fs::read(&wasm).unwrap();
    let json = br#""gpio.read", "gpio.write""#;
    let at = bytes.windows(json.len()).position(|w| w == json).unwrap();
    let mut wild = bytes[..at].to_vec();
    let wildcard = br#""gpio.*", "gpio.*"       "#;
    assert_eq!(wildcard.len(), json.len());
    wild.extend_from_slice(wildcard);
    wild.extend_from_slice(&bytes[at + json.len()..]);
    std::fs::write(dir.join("wild.wasm"), &wild).unwrap();
    let o = akira(&dir, &["inspect", "wild.wasm", "--profile", "product.toml"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        text(&o).contains("capability `gpio.*`: the board profile `product` does not allow wildcards"),
        "{}",
        text(&o)
    );
    // An unknown capability name.
    let mut typo = bytes.clone();
    let at = typo.windows(9).position(|w| w == b"gpio.read").unwrap();
    typo[at..at + 9].copy_from_slice(b"gpio.reed");
    std::fs::write(dir.join("typo.wasm"), &typo).unwrap();
    let o = akira(&dir, &["run", "typo.wasm"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("AkiraOS capability `gpio.reed` has no Akira translation"), "{}", text(&o));
}
