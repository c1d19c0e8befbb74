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
    /// Arguments every `akira fleet` command of the test takes besides
    /// `--mqtt` (TLS files).
    pub cli: Vec<String>,
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
        Fleet { child, lines, group: group.into(), broker: broker.into(), cli: Vec::new() }
    }

    /// Waits until the broker lists `count` online devices of the group.
    pub fn wait_online(&self, dir: &Path, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = ok(&self.fleet(dir, "devices", &[]));
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
        let cli: Vec<&str> = self.cli.iter().map(String::as_str).collect();
        spawn_akira(dir, &[&args[..], &cli, timeout, extra].concat())
    }

    /// `akira fleet <command> --mqtt <its broker> --group <its group> <extra>`.
    pub fn fleet(&self, dir: &Path, command: &str, extra: &[&str]) -> Output {
        let args = ["fleet", command, "--mqtt", &self.broker, "--group", &self.group];
        let cli: Vec<&str> = self.cli.iter().map(String::as_str).collect();
        akira(dir, &[&args[..], &cli, extra].concat())
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

/// A Mosquitto of this test's own (it is killed and started again), on a
/// free loopback port, its retained messages persisted in `dir` as a
/// production broker keeps them, its log (`-v`) in `dir/mosquitto.log`.
pub struct Mosquitto {
    child: std::process::Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl Mosquitto {
    pub fn start(dir: &std::path::Path) -> Mosquitto {
        Mosquitto::start_with(dir, "")
    }

    /// With `listener` settings added to its listener (TLS files...).
    pub fn start_with(dir: &std::path::Path, listener: &str) -> Mosquitto {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = dir.join("broker");
        std::fs::create_dir_all(&dir).unwrap();
        // Started as root, mosquitto runs as its own user: let it write here.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let conf = format!(
            "listener {port} 127.0.0.1\n{listener}allow_anonymous true\npersistence true\npersistence_location {}/\n\
             autosave_interval 1\nmax_queued_messages 10000\nlog_dest stderr\nlog_type all\n",
            dir.display()
        );
        std::fs::write(dir.join("mosquitto.conf"), conf).unwrap();
        let child = Mosquitto::spawn(&dir);
        let broker = Mosquitto { child, dir, port };
        broker.wait_listening();
        broker
    }

    fn spawn(dir: &std::path::Path) -> std::process::Child {
        let bin = std::env::var("AKIRA_TEST_MOSQUITTO").unwrap_or_else(|_| {
            ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto"]
                .into_iter()
                .find(|p| std::path::Path::new(p).exists())
                .unwrap_or("mosquitto")
                .into()
        });
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("mosquitto.log")).unwrap();
        std::process::Command::new(bin).arg("-c").arg(dir.join("mosquitto.conf")).stderr(log).spawn().unwrap()
    }

    fn wait_listening(&self) {
        wait_for("mosquitto to listen", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }

    /// How many messages on topics containing `topic` it sent to clients.
    pub fn sent(&self, topic: &str) -> usize {
        self.log().lines().filter(|l| l.contains("Sending PUBLISH to") && l.contains(topic)).count()
    }

    /// SIGKILL: no clean shutdown, only what it saved.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn restart(&mut self) {
        self.child = Mosquitto::spawn(&self.dir);
        self.wait_listening();
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
