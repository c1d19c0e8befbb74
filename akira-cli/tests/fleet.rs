//! Fleet rollouts against a real Mosquitto broker: `akira sim-device
//! --mqtt --count N` (N devices, each running the akira-fleet agent with
//! its own connection) and `akira fleet rollout`.
//!
//! They need a broker: `.ci/run` starts Mosquitto on a free loopback port
//! and runs them with `AKIRA_TEST_MQTT=127.0.0.1:<port> cargo test -p
//! akira-cli --test fleet -- --ignored`. Each test has its own group and
//! device ids, so they share one broker.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const NEEDS_BROKER: &str = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)";

fn broker() -> String {
    std::env::var("AKIRA_TEST_MQTT").unwrap_or_else(|_| panic!("{NEEDS_BROKER}"))
}

fn akira(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_akira")).args(args).current_dir(dir).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", text(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("akira-fleet-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An app that sleeps forever (healthy), or traps at once (crash-loops).
const HEALTHY: &str = r#"(module (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main") (loop $l (drop (call $sleep (i64.const 1000000))) (br $l))))"#;
const CRASHING: &str = r#"(module (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main") unreachable))"#;

/// Packs `wat` as `sensor <version>`, signed by `release.key`.
fn pack(dir: &Path, wat: &str, version: &str) -> String {
    let out = format!("sensor-{version}.akpkg");
    std::fs::write(dir.join("app.wasm"), wat::parse_str(wat).unwrap()).unwrap();
    let toml = format!("[app]\nname = \"sensor\"\nversion = \"{version}\"\n[capabilities]\ntimer = true\n");
    std::fs::write(dir.join("app.toml"), toml).unwrap();
    ok(&akira(dir, &["pack", "app.wasm", "--manifest", "app.toml", "--key", "release.key", "-o", &out]));
    out
}

/// `akira sim-device --mqtt`: `count` devices of `group`, output collected.
struct Fleet {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    group: String,
}

impl Fleet {
    fn start(dir: &Path, group: &str, count: u32) -> Fleet {
        let count = count.to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_akira"))
            .args(["sim-device", "--mqtt", &broker(), "--count", &count, "--group", group, "--id-seed", group])
            .args(["--trust-key", "release.pub", "--confirm-after", "1s", "--slots", "2", "--slot-kib", "8"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let fleet = Fleet { child, lines, group: group.into() };
        fleet.wait_online(dir, count.parse().unwrap());
        fleet
    }

    /// Waits until the broker lists `count` online devices of the group.
    fn wait_online(&self, dir: &Path, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = ok(&akira(dir, &["fleet", "devices", "--mqtt", &broker(), "--group", &self.group]));
            let online = out.lines().filter(|l| l.split_whitespace().nth(2) == Some("yes")).count();
            if online == count {
                return;
            }
            assert!(Instant::now() < deadline, "{online} of {count} devices online:\n{out}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn count(&self, text: &str) -> usize {
        self.lines().iter().filter(|l| l.contains(text)).count()
    }

    fn rollout(&self, dir: &Path, package: &str, extra: &[&str]) -> Output {
        let args = ["fleet", "rollout", package, "--mqtt", &broker(), "--group", &self.group, "--wave-timeout", "60s"];
        Command::new(env!("CARGO_BIN_EXE_akira")).args(args).args(extra).current_dir(dir).output().unwrap()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let lines = self.lines();
            eprintln!(
                "--- the devices' last lines ({}):\n{}",
                self.group,
                lines[lines.len().saturating_sub(60)..].join("\n")
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The devices' ids in rollout order (a stable hash of the id), as `akira
/// sim-device` derives them from its seed.
fn rollout_order(seed: &str, count: u32) -> Vec<String> {
    let mut ids: Vec<[u8; 8]> =
        (0..count).map(|n| Sha256::digest(format!("{seed}/{n}").as_bytes())[..8].try_into().unwrap()).collect();
    ids.sort_by_key(|id| u64::from_be_bytes(Sha256::digest(id)[..8].try_into().unwrap()));
    ids.iter().map(hex::encode).collect()
}

fn setup(name: &str) -> PathBuf {
    let dir = workdir(name);
    ok(&akira(&dir, &["keygen", "-o", "release"]));
    dir
}

#[test]
#[ignore = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)"]
fn two_hundred_devices_take_a_good_version_in_four_gated_waves() {
    let dir = setup("waves");
    let v1 = pack(&dir, HEALTHY, "1.0.0");
    let fleet = Fleet::start(&dir, "waves", 200);
    let started = Instant::now();
    let out = ok(&fleet.rollout(&dir, &v1, &["--waves", "1,10%,50%,100%"]));
    println!("rollout of 200 devices took {:.1} s", started.elapsed().as_secs_f64());
    for wave in ["wave 1/4: 1 device(s): 1 confirmed", "wave 2/4: 19 device(s): 19 confirmed"] {
        assert!(out.contains(wave), "{out}");
    }
    assert!(
        out.contains("wave 3/4: 80 device(s): 80 confirmed") && out.contains("wave 4/4: 100 device(s): 100 confirmed")
    );
    assert!(out.contains("200 confirmed, 0 failed, 0 missed"), "{out}");

    // Gating: no device of a wave installed before every device of the
    // wave before it confirmed (the devices print in one thread, in order).
    let lines = fleet.lines();
    let order = rollout_order("waves", 200);
    let at = |id: &String, what: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(id.as_str()) && l.contains(what))
            .unwrap_or_else(|| panic!("{id}: no {what}"))
    };
    let mut from = 0;
    let mut last_confirmed = None;
    for size in [1, 19, 80, 100] {
        let wave = &order[from..from + size];
        let first_installed = wave.iter().map(|id| at(id, "installed sensor 1.0.0")).min().unwrap();
        if let Some(confirmed) = last_confirmed {
            assert!(
                first_installed > confirmed,
                "a device of the wave at {from} installed before the previous wave confirmed"
            );
        }
        last_confirmed = Some(wave.iter().map(|id| at(id, "sensor confirmed")).max().unwrap());
        from += size;
    }
    assert_eq!(fleet.count("installed sensor 1.0.0"), 200, "each device installed it once");

    let devices = ok(&akira(&dir, &["fleet", "devices", "--mqtt", &broker(), "--group", "waves"]));
    assert_eq!(devices.lines().filter(|l| l.contains("sensor 1.0.0") && l.contains("confirmed")).count(), 200);
    let status = ok(&akira(&dir, &["fleet", "status", "--mqtt", &broker(), "--group", "waves"]));
    assert!(status.contains(": done") && status.contains("200  confirmed"), "{status}");
}

#[test]
#[ignore = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)"]
fn a_crash_looping_version_rolls_back_on_the_canary_and_halts_the_rollout() {
    let dir = setup("canary");
    let v1 = pack(&dir, HEALTHY, "1.0.0");
    let bad = pack(&dir, CRASHING, "1.1.0");
    let fleet = Fleet::start(&dir, "canary", 30);
    ok(&fleet.rollout(&dir, &v1, &["--waves", "100%"]));

    let halted = fleet.rollout(&dir, &bad, &["--waves", "1,10%,50%,100%", "--max-failures", "2%"]);
    assert_eq!(halted.status.code(), Some(1), "{}", text(&halted));
    let out = text(&halted);
    assert!(out.contains("wave 1/4: 1 device(s): 0 confirmed, 1 failed"), "{out}");
    assert!(
        out.contains("rolled back") && out.contains("halted at wave 1") && out.contains("29 device(s) never got it")
    );
    // Only the canary ever installed the bad version, and it went back.
    let canary = &rollout_order("canary", 30)[0];
    assert_eq!(fleet.count("installed sensor 1.1.0"), 1);
    assert_eq!(fleet.count(&format!("{canary}: installed sensor 1.1.0")), 1);
    assert_eq!(fleet.count(&format!("{canary}: sensor rolled back to 1.0.0")), 1);

    let devices = ok(&akira(&dir, &["fleet", "devices", "--mqtt", &broker(), "--group", "canary"]));
    assert_eq!(devices.lines().filter(|l| l.contains("sensor 1.0.0")).count(), 30, "{devices}");
    let status = ok(&akira(&dir, &["fleet", "status", "--mqtt", &broker(), "--group", "canary"]));
    assert!(status.contains(": halted (wave 1 of 4)") && status.contains("29  not assigned"), "{status}");
}

#[test]
#[ignore = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)"]
fn a_tampered_package_is_refused_by_every_device_and_changes_nothing() {
    let dir = setup("tamper");
    let v1 = pack(&dir, HEALTHY, "1.0.0");
    let v2 = pack(&dir, HEALTHY, "1.1.0");
    // The broker is untrusted: what the devices fetch is not what was
    // signed (one bit of the wasm flipped).
    let mut bytes = std::fs::read(dir.join(&v2)).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 1;
    std::fs::write(dir.join("tampered.akpkg"), bytes).unwrap();
    let fleet = Fleet::start(&dir, "tamper", 20);
    ok(&fleet.rollout(&dir, &v1, &["--waves", "100%"]));

    // No gate: every device gets it, and every device refuses it.
    let out = ok(&fleet.rollout(&dir, "tampered.akpkg", &["--waves", "100%", "--max-failures", "100%"]));
    assert!(out.contains("0 confirmed, 20 failed"), "{out}");
    assert_eq!(fleet.count("installed sensor 1.1.0"), 0);
    let devices = ok(&akira(&dir, &["fleet", "devices", "--mqtt", &broker(), "--group", "tamper"]));
    let refused = devices
        .lines()
        .filter(|l| l.contains("sensor 1.0.0") && l.contains("refused: chunk does not match its signed hash"));
    assert_eq!(refused.count(), 20, "{devices}");
}
