//! Two simulated devices on one radio air: `akira air` and two `akira
//! run --air` processes, each its own board, on loopback. Runs are on
//! virtual time kept in step by the hub; the timeouts below only guard
//! against a hang.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

mod common;
use common::echo_server;

/// How long a whole scenario may take before it counts as hung (builds
/// included).
const GUARD: Duration = Duration::from_secs(900);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn app(name: &str) -> String {
    root().join("examples/apps").join(name).to_str().unwrap().to_string()
}

fn akira() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_akira"));
    c.current_dir(root()).stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

/// Starts `akira air` for `devices` devices; returns it and its address.
fn hub(devices: u16) -> (Child, String) {
    let mut hub = akira().args(["air", "--devices", &devices.to_string()]).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(hub.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    (hub, line.trim().to_string())
}

/// `akira run --air ADDR --device N` with more arguments.
fn device(addr: &str, n: u16, args: &[&str]) -> Child {
    akira().args(["run", "--air", addr, "--device", &n.to_string()]).args(args).spawn().unwrap()
}

/// Waits for every process, killing them all if they take longer than
/// [`GUARD`].
fn wait_all(children: Vec<Child>) -> Vec<Output> {
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let (tx, rx) = mpsc::channel();
    for (i, child) in children.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || tx.send((i, child.wait_with_output())).unwrap());
    }
    let mut outputs: Vec<Option<Output>> = pids.iter().map(|_| None).collect();
    for _ in 0..pids.len() {
        match rx.recv_timeout(GUARD) {
            Ok((i, output)) => outputs[i] = Some(output.unwrap()),
            Err(_) => {
                for pid in &pids {
                    let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                }
                panic!("the devices and the hub hung");
            }
        }
    }
    outputs.into_iter().map(Option::unwrap).collect()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// lora-ping on device 0 and lora-pong on device 1 (with `pong_args`):
/// their outputs and the hub's.
fn lora_pair(pong_args: &[&str]) -> [Output; 3] {
    let (hub, addr) = hub(2);
    let ping = device(&addr, 0, &[&app("lora-ping")]);
    let pong = device(&addr, 1, &[&[app("lora-pong").as_str()], pong_args].concat());
    let [ping, pong, hub] = <[Output; 3]>::try_from(wait_all(vec![ping, pong, hub])).unwrap();
    [ping, pong, hub]
}

#[test]
fn lora_ping_and_pong_on_two_devices_talk_over_the_shared_air() {
    let [ping, pong, hub] = lora_pair(&[]);
    let ((ping_out, ping_err), (pong_out, pong_err), (_, hub_err)) = (text(&ping), text(&pong), text(&hub));
    assert_eq!(ping.status.code(), Some(0), "{ping_out}\n{ping_err}");
    assert_eq!(pong.status.code(), Some(0), "{pong_out}\n{pong_err}");
    assert!(ping_err.contains("on the air at 127.0.0.1:"), "{ping_err}");
    // The same exchange as two apps on one board, each on its own board.
    assert!(ping_out.contains("lora-ping    DENIED rf: frequency 869525000 Hz is not granted"), "{ping_out}");
    assert!(
        ping_out.contains("[   0.000000s] lora-ping    rf tx 868.1 MHz \"ping 1\" (123.9 ms on air)"),
        "{ping_out}"
    );
    assert!(
        pong_out.contains("[   0.123904s] lora-pong    rf rx 868.1 MHz \"ping 1\" (-60 dBm, SNR 9 dB)"),
        "{pong_out}"
    );
    assert!(ping_out.contains("[   0.247808s] lora-ping    info: got \"pong 1\" (-60 dBm, SNR 9 dB)"), "{ping_out}");
    assert!(pong_out.contains("lora-pong    info: answered five pings"), "{pong_out}");
    assert!(ping_out.contains("lora-ping    info: 5/5 answered; airtime left 35380 ms"), "{ping_out}");
    // Each device logs only its own apps.
    assert!(!ping_out.contains("lora-pong"), "{ping_out}");
    assert!(!pong_out.contains("lora-ping"), "{pong_out}");
    assert_eq!(hub.status.code(), Some(0), "{hub_err}");
    assert!(hub_err.contains("device 1 left at 9.239040s"), "{hub_err}");
    assert!(hub_err.contains("every device left at 11.239040s"), "{hub_err}");
}

#[test]
fn two_device_runs_repeat_exactly() {
    let first = lora_pair(&[]);
    let second = lora_pair(&[]);
    for (a, b) in first[..2].iter().zip(&second[..2]) {
        assert!(!a.stdout.is_empty());
        assert_eq!(String::from_utf8_lossy(&a.stdout), String::from_utf8_lossy(&b.stdout));
    }
}

#[test]
fn a_device_that_leaves_early_does_not_stall_the_other() {
    // lora-pong's board stops at 3 s: ping 3 and later go unanswered, and
    // lora-ping runs to its end.
    let [ping, pong, hub] = lora_pair(&["--for", "3s"]);
    let ((ping_out, ping_err), (pong_out, pong_err), (_, hub_err)) = (text(&ping), text(&pong), text(&hub));
    assert_eq!(pong.status.code(), Some(0), "{pong_out}\n{pong_err}");
    assert!(pong_err.contains("time limit reached at 3.000000s"), "{pong_err}");
    assert!(pong_out.contains("[   2.371712s] lora-pong    rf tx 868.1 MHz \"pong 2\""), "{pong_out}");
    assert!(ping_out.contains("[   2.495616s] lora-ping    info: got \"pong 2\""), "{ping_out}");
    assert!(ping_out.contains("[   5.619520s] lora-ping    warn: ping 3: no answer"), "{ping_out}");
    assert!(ping_out.contains("[  13.867328s] lora-ping    info: 2/5 answered"), "{ping_out}");
    // It exits with its error (-7, timed out): exit code 1.
    assert_eq!(ping.status.code(), Some(1), "{ping_out}\n{ping_err}");
    assert!(hub_err.contains("device 1 left at 3.000000s: left the air"), "{hub_err}");
    assert!(hub_err.contains("every device left at 13.867328s"), "{hub_err}");
}

#[test]
fn ble_beacon_and_scanner_on_two_devices_meet_over_the_shared_air() {
    let (hub, addr) = hub(2);
    let beacon = device(&addr, 0, &[&app("ble-beacon")]);
    let scanner = device(&addr, 1, &[&app("ble-scanner")]);
    let [beacon, scanner, hub] = <[Output; 3]>::try_from(wait_all(vec![beacon, scanner, hub])).unwrap();
    let ((b_out, b_err), (s_out, s_err), (_, hub_err)) = (text(&beacon), text(&scanner), text(&hub));
    assert_eq!(beacon.status.code(), Some(0), "{b_out}\n{b_err}");
    assert_eq!(scanner.status.code(), Some(0), "{s_out}\n{s_err}");
    assert!(b_out.contains("ble-beacon   DENIED ble: advertising interval 20 ms is not granted"), "{b_out}");
    assert!(b_out.contains("[   0.000000s] ble-beacon   info: a second change within a second: refused"), "{b_out}");
    // Its advertisements, every 500 ms, are the other device's reports,
    // from app 0 of device 0.
    let data = "02 01 06 0d 09 61 6b 69 72 61 2d 62 65 61 63 6f 6e 04 ff ff ff 01";
    assert!(b_out.contains(&format!("[   0.000000s] ble-beacon   ble advertising every 500 ms [{data}]")), "{b_out}");
    assert!(
        s_out.contains(&format!("[   0.500000s] ble-scanner  ble report from c0:de:00:00:00:00 (-50 dBm) [{data}]")),
        "{s_out}"
    );
    assert!(
        s_out.contains("[   2.000000s] ble-scanner  info: akira-beacon c0:de:00:00:00:00 count 2 (-50 dBm)"),
        "{s_out}"
    );
    assert!(s_out.contains("[   4.000000s] ble-scanner  info: saw counts 1 to 3"), "{s_out}");
    assert!(b_out.contains("[   6.000000s] ble-beacon   info: stopped"), "{b_out}");
    assert!(hub_err.contains("every device left at 6.000000s"), "{hub_err}");
}

#[test]
fn an_air_that_cannot_be_joined_is_a_clear_error() {
    // Nothing listens on a port just freed.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    let [o] = <[Output; 1]>::try_from(wait_all(vec![device(&addr, 0, &[&app("lora-pong")])])).unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(err.contains(&format!("akira: error: cannot connect to the air at {addr}")), "{err}");
    // Something that is not a hub.
    let addr = format!("127.0.0.1:{}", echo_server());
    let [o] = <[Output; 1]>::try_from(wait_all(vec![device(&addr, 0, &[&app("lora-pong")])])).unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(6), "{err}");
    assert!(err.contains("akira: error: not an akira air hub"), "{err}");
}

#[test]
fn a_taken_device_number_is_refused() {
    let (mut hub, addr) = hub(2);
    let first = device(&addr, 4, &[&app("lora-pong"), "--for", "1s"]);
    // Once it joined, another device asking for its number is refused.
    let mut log = BufReader::new(hub.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("device 4 joined") {
        line.clear();
        assert!(log.read_line(&mut line).unwrap() > 0, "the hub ended first");
    }
    let [refused] = <[Output; 1]>::try_from(wait_all(vec![device(&addr, 4, &[&app("lora-pong")])])).unwrap();
    let (_, err) = text(&refused);
    assert_eq!(refused.status.code(), Some(6), "{err}");
    assert!(err.contains("akira: error: device number 4 is already on the air"), "{err}");
    // The hub still waits for a second device: one more, then both run.
    let second = device(&addr, 5, &[&app("lora-pong"), "--for", "1s"]);
    let outputs = wait_all(vec![first, second, hub]);
    for o in &outputs[..2] {
        assert_eq!(o.status.code(), Some(0), "{}", text(o).1);
        assert!(text(o).1.contains("time limit reached at 1.000000s"), "{}", text(o).1);
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut log, &mut rest).unwrap();
    assert!(rest.contains("every device left at 1.000000s"), "{rest}");
}

#[test]
fn devices_report_a_hub_that_goes_away() {
    // Two blinkies blink forever; the air is killed under them.
    let (mut hub, addr) = hub(2);
    let a = device(&addr, 0, &[&app("blinky")]);
    let b = device(&addr, 1, &[&app("blinky")]);
    let mut log = BufReader::new(hub.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("time starts") {
        line.clear();
        assert!(log.read_line(&mut line).unwrap() > 0, "the hub ended first");
    }
    hub.kill().unwrap();
    hub.wait().unwrap();
    for o in wait_all(vec![a, b]) {
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(6), "{out}\n{err}");
        assert!(err.contains(": lost the air hub: "), "{err}");
        assert!(out.contains("blinky       started"), "{out}");
    }
}
