//! Over the air, end to end: `akira keygen`, `pack`, `push` to
//! `akira sim-device` over loopback TCP through a relay that cuts the link
//! mid-transfer, the push resumes, the app runs; then list, a crash-looping
//! update rolled back automatically, signed confirm and remove; a second
//! signer cannot take an app over; management commands need the right key
//! and cannot be replayed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn akira(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_akira")).args(args).current_dir(dir).output().unwrap()
}

fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// A running `akira sim-device`, its output collected.
struct Device {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    address: String,
}

impl Device {
    fn start(dir: &Path, extra: &[&str]) -> Device {
        let mut child = Command::new(env!("CARGO_BIN_EXE_akira"))
            .args(["sim-device", "--tcp", "127.0.0.1:0", "--flash", "device.flash"])
            .args(if extra.contains(&"--confirm-after") { &[][..] } else { &["--confirm-after", "1s"][..] })
            .args(extra)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in
            [Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>, Box::new(child.stderr.take().unwrap())]
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let mut device = Device { child, lines, address: String::new() };
        let line = device.wait_for("listening on");
        device.address = line.split("listening on ").nth(1).unwrap().split(';').next().unwrap().to_string();
        device
    }

    /// Waits until a line containing `text` appears; returns it.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(line) = self.lines.lock().unwrap().iter().find(|l| l.contains(text)) {
                return line.clone();
            }
            assert!(
                Instant::now() < deadline,
                "device never said {text:?}:\n{}",
                self.lines.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn count(&self, text: &str) -> usize {
        self.lines.lock().unwrap().iter().filter(|l| l.contains(text)).count()
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP relay to `target` that cuts its first connection after
/// forwarding `cut_after` bytes from the host; later connections pass.
fn relay(target: String, cut_after: usize) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let cut = Arc::new(AtomicBool::new(false));
    let cut_done = cut.clone();
    std::thread::spawn(move || {
        for (n, host) in listener.incoming().enumerate() {
            let Ok(host) = host else { continue };
            let device = TcpStream::connect(&target).unwrap();
            let limit = if n == 0 { Some(cut_after) } else { None };
            let (mut h_in, mut d_out) = (host.try_clone().unwrap(), device.try_clone().unwrap());
            let (mut d_in, mut h_out) = (device, host);
            let cut_done = cut_done.clone();
            std::thread::spawn(move || {
                let mut sent = 0;
                let mut buf = [0u8; 256];
                while let Ok(n) = h_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let n = limit.map_or(n, |l| n.min(l - sent));
                    if d_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                    if limit.is_some_and(|l| sent >= l) {
                        // The link drops mid-transfer.
                        cut_done.store(true, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(100));
                        let _ = h_in.shutdown(Shutdown::Both);
                        let _ = d_out.shutdown(Shutdown::Both);
                        break;
                    }
                }
                let _ = d_out.shutdown(Shutdown::Both);
            });
            std::thread::spawn(move || {
                let mut buf = [0u8; 256];
                while let Ok(n) = d_in.read(&mut buf) {
                    if n == 0 || h_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = h_out.shutdown(Shutdown::Both);
            });
        }
    });
    (address, cut)
}

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("akira-ota-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn push_resumes_after_the_link_drops_and_the_app_runs_then_rollback_confirm_remove() {
    let dir = workdir("e2e");
    ok(&akira(&dir, &["keygen", "-o", "release"]));
    let blinky = root().join("examples/apps/blinky");
    let out = ok(&akira(&dir, &["pack", blinky.to_str().unwrap(), "--key", "release.key", "-o", "blinky.akpkg"]));
    assert!(out.contains("blinky 0.1.0") && out.contains("signed by key"), "{out}");
    let size = std::fs::metadata(dir.join("blinky.akpkg")).unwrap().len() as usize;

    let device = Device::start(&dir, &["--trust-key", "release.pub"]);
    let (via, cut) = relay(device.address.clone(), size / 2);
    let push = akira(&dir, &["push", "blinky.akpkg", "--tcp", &via]);
    let out = ok(&push);
    let err = String::from_utf8_lossy(&push.stderr);
    assert!(cut.load(Ordering::SeqCst), "the relay cut the link");
    assert!(err.contains("link lost") && err.contains("resuming at byte"), "{err}");
    assert!(out.contains("installed blinky 0.1.0"), "{out}");
    device.wait_for("blinky 0.1.0 started, on trial");
    device.wait_for("blinky       gpio 2 -> high");
    device.wait_for("blinky: confirmed");

    let list = ok(&akira(&dir, &["device", "list", "--tcp", &device.address]));
    assert!(list.contains("blinky") && list.contains("0.1.0") && list.contains("confirmed"), "{list}");

    // A broken update: version 0.2.0 that traps at once. The device's
    // restart policy declares a crash loop and the store rolls back.
    let broken = wat::parse_str(r#"(module (func (export "akira_main") unreachable))"#).unwrap();
    std::fs::write(dir.join("broken.wasm"), broken).unwrap();
    std::fs::write(dir.join("broken.toml"), "[app]\nname = \"blinky\"\nversion = \"0.2.0\"\n").unwrap();
    ok(&akira(
        &dir,
        &["pack", "broken.wasm", "--manifest", "broken.toml", "--key", "release.key", "-o", "broken.akpkg"],
    ));
    ok(&akira(&dir, &["push", "broken.akpkg", "--tcp", &device.address]));
    device.wait_for("CRASH LOOP");
    device.wait_for("blinky: rolled back to 0.1.0");
    let list = ok(&akira(&dir, &["device", "list", "--tcp", &device.address]));
    assert!(list.contains("0.1.0") && !list.contains("0.2.0"), "{list}");
    // Anti-rollback: 0.2.0 was installed once; pushing it again is refused.
    let again = akira(&dir, &["push", "broken.akpkg", "--tcp", &device.address]);
    assert_eq!(again.status.code(), Some(4));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("downgrade refused") && err.contains("bump the app's version"), "{err}");

    // A good 0.3.0, rolled back and confirmed by hand, then removed.
    let toml = std::fs::read_to_string(blinky.join("Akira.toml")).unwrap().replace("0.1.0", "0.3.0");
    std::fs::write(dir.join("v3.toml"), toml).unwrap();
    let built = blinky.join("target/wasm32-unknown-unknown/release/blinky.wasm");
    ok(&akira(
        &dir,
        &["pack", built.to_str().unwrap(), "--manifest", "v3.toml", "--key", "release.key", "-o", "v3.akpkg"],
    ));
    ok(&akira(&dir, &["push", "v3.akpkg", "--tcp", &device.address]));
    device.wait_for("blinky 0.3.0 started, on trial");
    let done = ok(&akira(&dir, &["device", "rollback", "blinky", "--key", "release.key", "--tcp", &device.address]));
    assert!(done.contains("done"));
    assert!(device.count("blinky: rolled back to 0.1.0") >= 2);
    let refused = akira(&dir, &["device", "rollback", "blinky", "--key", "release.key", "--tcp", &device.address]);
    assert_eq!(refused.status.code(), Some(4), "nothing left to roll back to");
    ok(&akira(&dir, &["device", "confirm", "blinky", "--key", "release.key", "--tcp", &device.address]));
    ok(&akira(&dir, &["device", "remove", "blinky", "--key", "release.key", "--tcp", &device.address]));
    device.wait_for("removed blinky");
    let list = ok(&akira(&dir, &["device", "list", "--tcp", &device.address]));
    assert!(list.contains("\n0 apps;"), "{list}");
}

#[test]
fn an_app_confirms_its_own_update_without_waiting_for_the_healthy_run() {
    let dir = workdir("self-confirm");
    ok(&akira(&dir, &["keygen", "-o", "release"]));
    let app = r#"(module
        (import "akira:ota" "is_trial" (func $is_trial (result i32)))
        (import "akira:ota" "confirm" (func $confirm (result i32)))
        (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
        (func (export "akira_main")
            (if (i32.eq (call $is_trial) (i32.const 1)) (then (drop (call $confirm))))
            (loop $l (drop (call $sleep (i64.const 100000))) (br $l))))"#;
    std::fs::write(dir.join("selftest.wasm"), wat::parse_str(app).unwrap()).unwrap();
    let toml = "[app]\nname = \"selftest\"\nversion = \"1.0.0\"\n[capabilities]\nota = true\ntimer = true\n";
    std::fs::write(dir.join("selftest.toml"), toml).unwrap();
    ok(&akira(
        &dir,
        &["pack", "selftest.wasm", "--manifest", "selftest.toml", "--key", "release.key", "-o", "selftest.akpkg"],
    ));
    // The healthy-run timer is an hour (60m): only the app's own call confirms.
    let device = Device::start(&dir, &["--trust-key", "release.pub", "--confirm-after", "60m"]);
    ok(&akira(&dir, &["push", "selftest.akpkg", "--tcp", &device.address]));
    device.wait_for("selftest 1.0.0 started, on trial");
    device.wait_for("selftest: confirmed");
    let list = ok(&akira(&dir, &["device", "list", "--tcp", &device.address]));
    assert!(list.contains("selftest") && list.contains("confirmed"), "{list}");
}

#[test]
fn the_device_refuses_unsigned_and_unknown_signers_and_keeps_state_across_restarts() {
    let dir = workdir("trust");
    ok(&akira(&dir, &["keygen", "-o", "release"]));
    ok(&akira(&dir, &["keygen", "-o", "stranger"]));
    let blinky = root().join("examples/apps/blinky");
    let b = blinky.to_str().unwrap();
    ok(&akira(&dir, &["pack", b, "--unsigned", "-o", "unsigned.akpkg"]));
    ok(&akira(&dir, &["pack", b, "--key", "stranger.key", "-o", "stranger.akpkg"]));
    ok(&akira(&dir, &["pack", b, "--key", "release.key", "-o", "release.akpkg"]));
    {
        let device = Device::start(&dir, &["--trust-key", "release.pub"]);
        for (pkg, why) in [("unsigned.akpkg", "package not signed"), ("stranger.akpkg", "unknown signing key")] {
            let o = akira(&dir, &["push", pkg, "--tcp", &device.address]);
            assert_eq!(o.status.code(), Some(4));
            assert!(String::from_utf8_lossy(&o.stderr).contains(why), "{}", String::from_utf8_lossy(&o.stderr));
        }
        ok(&akira(&dir, &["push", "release.akpkg", "--tcp", &device.address]));
        device.wait_for("blinky 0.1.0 started");
        device.wait_for("blinky: confirmed");
    }
    // The device restarts on the same flash file and runs the app again.
    let device = Device::start(&dir, &["--trust-key", "release.pub"]);
    device.wait_for("1 apps installed");
    device.wait_for("blinky 0.1.0 started");
}

#[test]
fn a_device_killed_during_a_trial_reverts_it_when_it_starts_again() {
    let dir = workdir("trial-reboot");
    ok(&akira(&dir, &["keygen", "-o", "release"]));
    let blinky = root().join("examples/apps/blinky");
    ok(&akira(&dir, &["pack", blinky.to_str().unwrap(), "--key", "release.key", "-o", "v1.akpkg"]));
    let toml = std::fs::read_to_string(blinky.join("Akira.toml")).unwrap().replace("0.1.0", "0.2.0");
    std::fs::write(dir.join("v2.toml"), toml).unwrap();
    let built = blinky.join("target/wasm32-unknown-unknown/release/blinky.wasm");
    ok(&akira(
        &dir,
        &["pack", built.to_str().unwrap(), "--manifest", "v2.toml", "--key", "release.key", "-o", "v2.akpkg"],
    ));
    {
        let device = Device::start(&dir, &["--trust-key", "release.pub"]);
        ok(&akira(&dir, &["push", "v1.akpkg", "--tcp", &device.address]));
        device.wait_for("blinky: confirmed");
    }
    {
        // 0.2.0 on trial for an hour: the process is killed (as a power cut
        // or a reset would stop the board) while it runs unconfirmed.
        let device = Device::start(&dir, &["--trust-key", "release.pub", "--confirm-after", "60m"]);
        ok(&akira(&dir, &["push", "v2.akpkg", "--tcp", &device.address]));
        device.wait_for("blinky 0.2.0 started, on trial");
    }
    let device = Device::start(&dir, &["--trust-key", "release.pub"]);
    device.wait_for("blinky 0.2.0: still on trial at this boot, not confirmed: reverting");
    device.wait_for("blinky: rolled back to 0.1.0");
    device.wait_for("blinky 0.1.0 started");
    let list = ok(&akira(&dir, &["device", "list", "--tcp", &device.address]));
    assert!(list.contains("0.1.0") && list.contains("confirmed") && !list.contains("0.2.0"), "{list}");
    assert_eq!(device.count("0.2.0 started"), 0, "0.2.0 never ran again");
}

#[test]
fn pack_refuses_an_app_a_device_would_refuse() {
    let dir = workdir("pack");
    ok(&akira(&dir, &["keygen", "-o", "k"]));
    let wasm = wat::parse_str(
        r#"(module (import "akira:gpio" "write" (func (param i32 i32) (result i32))) (func (export "akira_main")))"#,
    )
    .unwrap();
    std::fs::write(dir.join("a.wasm"), wasm).unwrap();
    std::fs::write(dir.join("a.toml"), "[app]\nname = \"a\"\nversion = \"1.0.0\"\n").unwrap();
    let o = akira(&dir, &["pack", "a.wasm", "--manifest", "a.toml", "--key", "k.key"]);
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("a device would refuse this app") && err.contains("akira:gpio.write"), "{err}");
}

#[test]
fn pack_refuses_invalid_wasm_before_signing() {
    let dir = workdir("invalid");
    ok(&akira(&dir, &["keygen", "-o", "k"]));
    // Parses, but does not validate: i32.add on an empty stack.
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend([1, 4, 1, 0x60, 0, 0]); // type section: () -> ()
    wasm.extend([3, 2, 1, 0]); // function section: one function of type 0
    wasm.extend([7, 14, 1, 10]); // export section: "akira_main", func 0
    wasm.extend(b"akira_main");
    wasm.extend([0, 0]);
    wasm.extend([10, 5, 1, 3, 0, 0x6a, 0x0b]); // code: i32.add, end
    std::fs::write(dir.join("bad.wasm"), &wasm).unwrap();
    std::fs::write(dir.join("bad.toml"), "[app]\nname = \"bad\"\nversion = \"1.0.0\"\n").unwrap();
    let o = akira(&dir, &["pack", "bad.wasm", "--manifest", "bad.toml", "--key", "k.key", "-o", "bad.akpkg"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("type mismatch"), "{err}");
    assert!(!dir.join("bad.akpkg").exists(), "nothing signed");
}

#[test]
fn a_second_signer_cannot_take_an_app_over_and_commands_need_the_right_key() {
    let dir = workdir("signers");
    for k in ["release", "ci", "ops"] {
        ok(&akira(&dir, &["keygen", "-o", k]));
    }
    let blinky = root().join("examples/apps/blinky");
    let b = blinky.to_str().unwrap();
    ok(&akira(&dir, &["pack", b, "--key", "release.key", "-o", "release.akpkg"]));
    let toml = std::fs::read_to_string(blinky.join("Akira.toml")).unwrap().replace("0.1.0", "0.2.0");
    std::fs::write(dir.join("v2.toml"), toml).unwrap();
    let built = blinky.join("target/wasm32-unknown-unknown/release/blinky.wasm");
    let w = built.to_str().unwrap();
    ok(&akira(&dir, &["pack", w, "--manifest", "v2.toml", "--key", "ci.key", "-o", "ci.akpkg"]));
    let device = Device::start(
        &dir,
        &["--trust-key", "release.pub", "--trust-key", "ci.pub:install", "--trust-key", "ops.pub:remove"],
    );
    let at = device.address.clone();
    ok(&akira(&dir, &["push", "release.akpkg", "--tcp", &at]));
    device.wait_for("blinky 0.1.0 started");

    // ci may install, but not update an app release installed.
    let o = akira(&dir, &["push", "ci.akpkg", "--tcp", &at]);
    assert_eq!(o.status.code(), Some(4));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("app bound to another signer") && err.contains("may not take it over"), "{err}");
    let list = ok(&akira(&dir, &["device", "list", "--tcp", &at]));
    assert!(list.contains("0.1.0") && !list.contains("0.2.0"), "{list}");

    // ci may not remove; ops may, once: the same signed command again is a replay.
    let o = akira(&dir, &["device", "remove", "blinky", "--key", "ci.key", "--tcp", &at]);
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("lacks the `remove` right"));
    let o = akira(&dir, &["device", "rollback", "blinky", "--key", "ops.key", "--tcp", &at]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("lacks the `rollback` right"));
    ok(&akira(&dir, &["device", "remove", "blinky", "--key", "ops.key", "--any-device", "--out", "rm.cmd"]));
    assert_eq!(std::fs::metadata(dir.join("rm.cmd")).unwrap().len(), 136);
    assert!(ok(&akira(&dir, &["device", "send", "rm.cmd", "--tcp", &at])).contains("done"));
    device.wait_for("removed blinky");
    let again = akira(&dir, &["device", "send", "rm.cmd", "--tcp", &at]);
    assert_eq!(again.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&again.stderr).contains("command replayed"));
}
