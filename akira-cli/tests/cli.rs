//! The `akira` command end to end: builds the example apps with cargo for
//! wasm32 and runs them on the simulated board with virtual time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::echo_server;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn app(name: &str) -> PathBuf {
    root().join("examples/apps").join(name)
}

fn akira(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_akira")).args(args).current_dir(root()).output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[path = "cli/example_apps.rs"]
mod example_apps;

#[test]
fn inspect_shows_manifest_imports_and_verdict() {
    let o = akira(&["inspect", app("misbehave").to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("app           misbehave 0.1.0 (ABI 1)"), "{out}");
    assert!(out.contains("  gpio        output {3}"), "{out}");
    assert!(out.contains("  ok       akira:gpio.write (i32, i32) -> (i32)"), "{out}");
    assert!(out.contains("verdict       installable"), "{out}");
}

/// A `.wasm` plus an `Akira.toml` in a temporary directory.
fn wasm_app(dir: &Path, wat: &str, toml: &str) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let wasm = dir.join("app.wasm");
    std::fs::write(&wasm, wat::parse_str(wat).unwrap()).unwrap();
    let manifest = dir.join("Akira.toml");
    std::fs::write(&manifest, toml).unwrap();
    (wasm, manifest)
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("akira-cli-test-{}-{name}", std::process::id()))
}

#[test]
fn an_undeclared_import_is_refused_at_install_and_named() {
    let (wasm, manifest) = wasm_app(
        &tmp("undeclared"),
        r#"(module (import "akira:gpio" "write" (func (param i32 i32) (result i32))) (func (export "akira_main")))"#,
        "[app]\nname = \"sneaky\"\nversion = \"1.0.0\"\n[capabilities]\nlog = true\n",
    );
    let o = akira(&["run", wasm.to_str().unwrap(), "--manifest", manifest.to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(4), "{out}\n{err}");
    assert!(
        err.contains(
            "REFUSED at install: refused import `akira:gpio.write`: capability `gpio` is not granted to this app"
        ),
        "{err}"
    );
    let o = akira(&["inspect", wasm.to_str().unwrap(), "--manifest", manifest.to_str().unwrap()]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(4));
    assert!(out.contains("  REFUSED  akira:gpio.write (i32, i32) -> (i32): import `akira:gpio.write`: capability `gpio` is not granted"), "{out}");
}

#[test]
fn unknown_capability_in_akira_toml_is_an_error() {
    let (wasm, manifest) = wasm_app(
        &tmp("unknown-cap"),
        r#"(module (func (export "akira_main")))"#,
        "[app]\nname = \"x\"\nversion = \"1.0.0\"\n[capabilities]\nlidar = true\n",
    );
    let o = akira(&["run", wasm.to_str().unwrap(), "--manifest", manifest.to_str().unwrap(), "--virtual-time"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(4));
    assert!(err.contains("unknown capability `lidar`"), "{err}");
}

#[test]
fn exit_code_reflects_the_app() {
    let (wasm, manifest) = wasm_app(
        &tmp("exit"),
        r#"(module (func (export "akira_main") (result i32) (i32.const 9)))"#,
        "[app]\nname = \"quitter\"\nversion = \"1.0.0\"\n",
    );
    let o = akira(&["run", wasm.to_str().unwrap(), "--manifest", manifest.to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("quitter      exited with code 9"), "{out}");
}

#[test]
fn a_policy_file_limits_what_apps_get() {
    let dir = tmp("policy");
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[limits]\nmemory = \"64 KiB\"\ncpu-budget = 1_000_000\n[allow]\nlog = true\ntimer = true\ngpio = { output = [3] }\n").unwrap();
    let o = akira(&["run", app("blinky").to_str().unwrap(), "--virtual-time", "--policy", policy.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(4));
    assert!(err.contains("capability `gpio`: output pin 2 is not allowed by the device policy"), "{err}");
}

#[test]
fn malformed_wasm_is_refused_not_crashed() {
    let dir = tmp("malformed");
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = dir.join("junk.wasm");
    std::fs::write(&wasm, b"\0asm\x01\0\0\0\x01\xff\xff").unwrap();
    let o = akira(&["run", wasm.to_str().unwrap(), "--virtual-time"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("junk.wasm: malformed wasm module at byte 11"), "{err}");
}

#[test]
fn ipc_ping_and_pong_talk_through_the_broker_while_the_other_waits() {
    let o = akira(&["run", app("ipc-ping").to_str().unwrap(), app("ipc-pong").to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains("ipc-ping: granted ipc (publish [\"ping\"]; subscribe [\"pong\"]), timer, log"), "{err}");
    // ping runs first, before pong has subscribed: nobody gets it, and
    // it retries 10 ms later.
    assert!(out.contains("[   0.000000s] ipc-ping     ipc publish topic 0 \"ping 1\" -> 0 subscriber(s)"), "{out}");
    assert!(out.contains("[   0.010000s] ipc-ping     ipc publish topic 0 \"ping 1\" -> 1 subscriber(s)"), "{out}");
    // pong was suspended in receive; it wakes in the same instant.
    assert!(out.contains("[   0.010000s] ipc-pong     ipc receive topic 0 \"ping 1\""), "{out}");
    for n in 1..=3 {
        assert!(out.contains(&format!("[   0.010000s] ipc-ping     info: got \"pong {n}\"")), "{out}");
    }
    assert!(out.contains("ipc-pong     exited with code 0") && out.contains("ipc-ping     exited with code 0"));
    // pong used fuel only for its work, none while it waited.
    let fuel: u64 = err
        .lines()
        .find(|l| l.contains("ipc-pong") && l.contains("exited (0)"))
        .and_then(|l| l.split_whitespace().nth(4))
        .and_then(|f| f.parse().ok())
        .expect("summary line");
    assert!(fuel < 5_000, "{fuel} fuel:\n{err}");
}

#[test]
fn ipc_pong_alone_waits_suspended_then_gives_up() {
    let o = akira(&["run", app("ipc-pong").to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(out.contains("[   2.000000s] ipc-pong     info: no ping for 2 s"), "{out}");
}

/// `examples/apps/net-echo` built, as a `.wasm` without a manifest, and
/// its `Akira.toml` with endpoint 0 replaced by `endpoint`.
fn net_echo(endpoint: &str) -> (PathBuf, PathBuf) {
    let o = akira(&["build", app("net-echo").to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    // `akira build` prints the built module's path; cargo's own output,
    // without a manifest, is beside it.
    let built = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    let wasm = built.with_file_name("net_echo.wasm");
    let toml = std::fs::read_to_string(app("net-echo").join("Akira.toml")).unwrap();
    let toml = toml.replace("\"127.0.0.1:7\"", &format!("\"{endpoint}\""));
    let path = std::env::temp_dir().join(format!("net-echo-{}-{}.toml", std::process::id(), endpoint.len()));
    std::fs::write(&path, toml).unwrap();
    (wasm, path)
}

#[test]
fn net_echo_talks_to_a_local_tcp_echo_server() {
    let port = echo_server();
    let (wasm, manifest) = net_echo(&format!("127.0.0.1:{port}"));
    let o = akira(&[
        "run",
        wasm.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "--virtual-time",
        "--for",
        "10s",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains(&format!("granted net (127.0.0.1:{port}), log")), "{err}");
    assert!(out.contains(&format!("net-echo     net connect endpoint 0 (127.0.0.1:{port})")), "{out}");
    assert!(out.contains("net-echo     net socket 0 send \"hello, net\\n\""), "{out}");
    assert!(out.contains("net-echo     net socket 0 receive \"hello, net\\n\""), "{out}");
    assert!(out.contains("net-echo     info: echoed \"bye\""), "{out}");
    assert!(out.contains("net-echo     exited with code 0"), "{out}");
}

#[test]
fn net_echo_cannot_reach_an_endpoint_the_policy_does_not_allow() {
    // The policy allows only port 1 of 127.0.0.1: the app's manifest
    // (port 9) is refused at install, before it runs or opens anything.
    let (wasm, manifest) = net_echo("127.0.0.1:9");
    let policy = std::env::temp_dir().join(format!("net-policy-{}.toml", std::process::id()));
    std::fs::write(
        &policy,
        "[limits]\nmemory = \"64 KiB\"\ncpu-budget = 1_000_000\n[allow]\nlog = true\nnet = [\"127.0.0.1:1\"]\n",
    )
    .unwrap();
    let o = akira(&[
        "run",
        wasm.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--virtual-time",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(4), "{out}\n{err}");
    assert!(err.contains("capability `net`: endpoint 127.0.0.1:9 is not allowed by the device policy"), "{err}");
    assert!(!out.contains("net connect"), "{out}");
}

#[test]
fn a_supervisor_app_stops_and_restarts_blinky() {
    let o = akira(&[
        "run",
        app("supervisor").to_str().unwrap(),
        app("blinky").to_str().unwrap(),
        "--virtual-time",
        "--for",
        "3s",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    assert!(err.contains("supervisor: granted app (blinky), timer, log"), "{err}");
    for line in [
        "[   1.200000s] supervisor   info: blinky is Waiting",
        "[   1.200000s] blinky       stopped",
        "[   2.200000s] blinky       started",
        "[   2.200000s] supervisor   info: blinky started again: Running",
        "[   2.200000s] supervisor   DENIED app: id 1 is not granted",
        "[   2.200000s] supervisor   exited with code 0",
    ] {
        assert!(out.contains(line), "missing `{line}`:\n{out}");
    }
    // Stopped, blinky drove nothing between 1.2 s and 2.2 s.
    assert!(!out.contains("[   1.500000s] blinky"), "{out}");
}

/// A prebuilt `.wasm` that carries its manifest goes through the build
/// step's work-around of wasmi 2.0.0's `select` bug too, when run and when
/// packed: it computes what the wasm spec says (5; the bug picks 4).
#[test]
fn a_prebuilt_wasm_with_its_manifest_gets_the_select_work_around() {
    let dir = tmp("select");
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = wat::parse_str(
        r#"(module (func (export "akira_main") (result i32) (local i32)
            (local.set 0 (i32.const 1))
            (select (i32.const 4) (i32.const 5) (i32.eqz (local.get 0)))))"#,
    )
    .unwrap();
    let manifest =
        akira_caps::toml_source::manifest_from_toml("[app]\nname = \"chooser\"\nversion = \"1.0.0\"\n").unwrap();
    let path = dir.join("chooser.wasm");
    std::fs::write(&path, akira_build::embed_manifest(&wasm, &manifest).unwrap()).unwrap();
    let o = akira(&["run", path.to_str().unwrap(), "--virtual-time"]);
    let (out, err) = text(&o);
    assert!(out.contains("chooser      exited with code 5"), "{out}\n{err}");
    assert!(err.contains("chooser: 1 `select` conditions rewritten"), "{err}");

    let pkg = dir.join("chooser.akpkg");
    let o = akira(&["pack", path.to_str().unwrap(), "--unsigned", "-o", pkg.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let packed = packed_wasm(&std::fs::read(&pkg).unwrap());
    assert_eq!(akira_build::read_manifest(&packed).unwrap(), Some(manifest), "the manifest travels");
    let runtime = akira_sim::runtime(akira_caps::Policy::development());
    let loaded = runtime.load(&packed).unwrap();
    let board = akira_sim::SimBoard::virtual_time();
    let mut sim = akira_sim::Simulation::new(runtime, board.clone());
    sim.spawn(loaded, Default::default()).unwrap();
    sim.run(Some(std::time::Duration::from_secs(1)));
    let exits: Vec<_> = board
        .records()
        .iter()
        .filter_map(|r| match r.what {
            akira_sim::What::Exited(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(exits, [5], "the packed module, installed as a device would");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The wasm module an unsigned package carries.
fn packed_wasm(pkg: &[u8]) -> Vec<u8> {
    use akira_ota::package::{Event, PackageReader, TrustPolicy};
    let policy = akira_caps::Policy::development();
    let trust = TrustPolicy { keys: &[], unsigned: Some(&policy), accept_v1: false, list_needs_signature: false };
    let mut reader = PackageReader::new(&trust, 1 << 20);
    let (mut wasm, mut rest) = (Vec::new(), pkg);
    while !reader.is_done() {
        let (used, event) = reader.next(rest).unwrap();
        if let Some(Event::Wasm(bytes)) = event {
            wasm.extend_from_slice(bytes);
        }
        rest = &rest[used..];
    }
    wasm
}
