//! What the fleet tests share: a Mosquitto broker to talk to, `akira`
//! runs, packages, and `akira sim-device --mqtt` fleets.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub const NEEDS_BROKER: &str = "needs a Mosquitto broker: AKIRA_TEST_MQTT=HOST:PORT (.ci/run starts one)";

pub fn broker() -> String {
    std::env::var("AKIRA_TEST_MQTT").unwrap_or_else(|_| panic!("{NEEDS_BROKER}"))
}

pub fn akira(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_akira")).args(args).current_dir(dir).output().unwrap()
}

pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

pub fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", text(o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("akira-fleet-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An app that sleeps forever (healthy), or traps at once (crash-loops).
pub const HEALTHY: &str = r#"(module (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main") (loop $l (drop (call $sleep (i64.const 1000000))) (br $l))))"#;
pub const CRASHING: &str = r#"(module (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main") unreachable))"#;

/// Packs `wat` as `sensor <version>`, signed by `release.key`.
pub fn pack(dir: &Path, wat: &str, version: &str) -> String {
    let out = format!("sensor-{version}.akpkg");
    std::fs::write(dir.join("app.wasm"), wat::parse_str(wat).unwrap()).unwrap();
    let toml = format!("[app]\nname = \"sensor\"\nversion = \"{version}\"\n[capabilities]\ntimer = true\n");
    std::fs::write(dir.join("app.toml"), toml).unwrap();
    ok(&akira(dir, &["pack", "app.wasm", "--manifest", "app.toml", "--key", "release.key", "-o", &out]));
    out
}

/// `akira sim-device --mqtt`: `count` devices of `group`, output collected.
pub struct Fleet {
    pub child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    pub group: String,
    /// The broker the devices use.
    pub broker: String,
}

impl Fleet {
    pub fn start(dir: &Path, group: &str, count: u32) -> Fleet {
        Fleet::start_with(dir, group, group, count, &["--trust-key", "release.pub"])
    }

    /// `count` devices with ids from `seed`, trusting what `trust` says
    /// (`--trust-key` arguments and any other), all online.
    pub fn start_with(dir: &Path, group: &str, seed: &str, count: u32, trust: &[&str]) -> Fleet {
        let fleet = Fleet::spawn(dir, group, seed, count, trust, &broker());
        fleet.wait_online(dir, count as usize);
        fleet
    }

    /// Starts the devices without waiting for them.
    pub fn spawn(dir: &Path, group: &str, seed: &str, count: u32, trust: &[&str], broker: &str) -> Fleet {
        let counted = count.to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_akira"))
            .args(["sim-device", "--mqtt", broker, "--count", &counted, "--group", group, "--id-seed", seed])
            .arg("--slots=2")
            .args(if trust.contains(&"--slot-kib") { &[][..] } else { &["--slot-kib", "8"][..] })
            .args(if trust.contains(&"--confirm-after") { &[][..] } else { &["--confirm-after", "1s"][..] })
            .args(trust)
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
        Fleet { child, lines, group: group.into(), broker: broker.into() }
    }

    /// Waits until the broker lists `count` online devices of the group.
    pub fn wait_online(&self, dir: &Path, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = ok(&akira(dir, &["fleet", "devices", "--mqtt", &self.broker, "--group", &self.group]));
            let online = out.lines().filter(|l| l.split_whitespace().nth(2) == Some("yes")).count();
            if online == count {
                return;
            }
            assert!(Instant::now() < deadline, "{online} of {count} devices online:\n{out}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    pub fn count(&self, text: &str) -> usize {
        self.lines().iter().filter(|l| l.contains(text)).count()
    }

    pub fn rollout(&self, dir: &Path, package: &str, extra: &[&str]) -> Output {
        self.spawn_rollout(dir, package, extra).wait_with_output().unwrap()
    }

    /// `akira fleet rollout` started, its output piped.
    pub fn spawn_rollout(&self, dir: &Path, package: &str, extra: &[&str]) -> Child {
        let args = ["fleet", "rollout", package, "--mqtt", &self.broker, "--group", &self.group];
        let timeout = if extra.contains(&"--wave-timeout") { &[][..] } else { &["--wave-timeout", "60s"][..] };
        spawn_akira(dir, &[&args[..], timeout, extra].concat())
    }

    /// `akira fleet <command> --mqtt <its broker> --group <its group> <extra>`.
    pub fn fleet(&self, dir: &Path, command: &str, extra: &[&str]) -> Output {
        let args = ["fleet", command, "--mqtt", &self.broker, "--group", &self.group];
        akira(dir, &[&args[..], extra].concat())
    }

    /// Waits until `akira fleet status` shows `what`; returns it.
    pub fn wait_status(&self, dir: &Path, what: &str) -> String {
        let mut status = String::new();
        wait_for(&format!("status showing {what:?}"), Duration::from_secs(60), || {
            status = ok(&self.fleet(dir, "status", &[]));
            status.contains(what)
        });
        status
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
pub fn rollout_order(seed: &str, count: u32) -> Vec<String> {
    let mut ids: Vec<[u8; 8]> =
        (0..count).map(|n| Sha256::digest(format!("{seed}/{n}").as_bytes())[..8].try_into().unwrap()).collect();
    ids.sort_by_key(|id| u64::from_be_bytes(Sha256::digest(id)[..8].try_into().unwrap()));
    ids.iter().map(hex::encode).collect()
}

/// `akira ARGS` started in `dir`, its output piped.
pub fn spawn_akira(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_akira"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Polls `done` every 200 ms; panics naming `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn setup(name: &str) -> PathBuf {
    let dir = workdir(name);
    ok(&akira(&dir, &["keygen", "-o", "release"]));
    dir
}

/// The counts in the last wave's summary: "C confirmed, F failed, M missed".
pub fn wave_counts(out: &str) -> (usize, usize, usize) {
    let line = out.lines().rev().find(|l| l.contains(" confirmed, ")).unwrap_or_default();
    let count = |word: &str| {
        line.split(", ")
            .find_map(|part| part.trim().strip_suffix(word))
            .and_then(|n| n.rsplit(' ').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    (count(" confirmed"), count(" failed"), count(" missed"))
}
