//! Simulations on separate boards sharing one radio air (`akira_sim::air`):
//! each board runs in its own thread with its own apps, joined to a hub on
//! loopback, and time moves in lockstep.

use std::thread::JoinHandle;
use std::time::Duration;

use akira_bridge::LoraConfig;
use akira_caps::scope::{Band, BleScope, RfScope, ble};
use akira_caps::sets::IdSet;
use akira_caps::{Manifest, Policy, Version, manifest::AppName};
use akira_sim::air::{Hub, HubEnd, Link};
use akira_sim::{End, SimBoard, Simulation};

const IMPORTS: &str = r#"
    (import "akira:rf" "configure" (func $configure (param i32 i32 i32 i32 i32) (result i32)))
    (import "akira:rf" "send" (func $send (param i32 i32) (result i32)))
    (import "akira:rf" "receive" (func $receive (param i32 i32 i64) (result i32)))
    (memory (export "memory") 1)
    (func $tune (drop (call $configure (i32.const 868100000) (i32.const 7) (i32.const 125000) (i32.const 5) (i32.const 14))))
"#;

/// Sends "hi" and exits with `send`'s result.
fn sender() -> String {
    format!(
        r#"(module {IMPORTS} (data (i32.const 16) "hi")
        (func (export "akira_main") (result i32) (call $tune) (call $send (i32.const 16) (i32.const 2))))"#
    )
}

/// Listens for up to a second; exits with `receive`'s result (the length,
/// or -7 timed out).
fn listener() -> String {
    format!(
        r#"(module {IMPORTS}
        (func (export "akira_main") (result i32) (call $tune) (call $receive (i32.const 16) (i32.const 32) (i64.const 1000000))))"#
    )
}

/// Exits at once, radio untouched.
fn quitter() -> String {
    format!(r#"(module {IMPORTS} (func (export "akira_main") (result i32) (i32.const 0)))"#)
}

fn hub(devices: usize) -> (String, JoinHandle<HubEnd>) {
    let hub = Hub::bind("127.0.0.1:0").unwrap();
    let addr = hub.local_addr().unwrap().to_string();
    (addr, std::thread::spawn(move || hub.run(devices, None, |_| {}).unwrap()))
}

/// A board of its own joined to the air at `addr` as `device`, running
/// the app `wat` for up to 10 s: how it ended and its records.
fn device(addr: &str, device: u16, wat: String) -> JoinHandle<(End, Vec<String>)> {
    device_with(addr, device, vec![wat])
}

/// [`device`] with several apps on the board.
fn device_with(addr: &str, device: u16, wats: Vec<String>) -> JoinHandle<(End, Vec<String>)> {
    let addr = addr.to_string();
    std::thread::spawn(move || {
        let mut manifest = Manifest::new(AppName::try_from("t").unwrap(), Version::new(0, 1, 0));
        let mut rf = RfScope { max_power_dbm: 14, ..RfScope::default() };
        rf.bands.push(Band { from_hz: 868_000_000, to_hz: 868_600_000 }).unwrap();
        manifest.capabilities.rf = Some(rf);
        let mut roles = IdSet::EMPTY;
        roles.insert(ble::ADVERTISE);
        roles.insert(ble::SCAN);
        manifest.capabilities.ble = Some(BleScope { roles, ..BleScope::default() });
        let runtime = akira_sim::runtime(Policy::development());
        let apps: Vec<_> = wats
            .iter()
            .map(|wat| {
                let mut wasm = wat::parse_str(wat).unwrap();
                wasm.extend(manifest.custom_section());
                runtime.load(&wasm).unwrap()
            })
            .collect();
        let board = SimBoard::virtual_time();
        board.join_air(Link::connect(&addr, Some(device)).unwrap());
        assert_eq!(board.air_device(), Some(device));
        let mut sim = Simulation::new(runtime, board.clone());
        for app in apps {
            sim.spawn(app, Default::default()).unwrap();
        }
        let end = sim.run(Some(Duration::from_secs(10)));
        (end, board.records().iter().map(ToString::to_string).collect())
    })
}

fn exit_line(records: &[String]) -> &str {
    records.iter().find(|r| r.contains("exited")).map(String::as_str).unwrap_or("(no exit)")
}

/// The sender on device 0 and the listener on device 1: both boards'
/// records.
fn send_across() -> (Vec<String>, Vec<String>) {
    let (addr, hub) = hub(2);
    let tx = device(&addr, 0, sender());
    let rx = device(&addr, 1, listener());
    let ((tx_end, tx), (rx_end, rx)) = (tx.join().unwrap(), rx.join().unwrap());
    assert_eq!((tx_end, rx_end), (End::AllStopped, End::AllStopped), "{tx:#?}\n{rx:#?}");
    let airtime = LoraConfig::new(868_100_000, 7, 125_000, 5, 14).unwrap().time_on_air_us(2);
    assert_eq!(hub.join().unwrap(), HubEnd::AllLeft(akira_bridge::Instant::from_micros(airtime.into())));
    (tx, rx)
}

#[test]
fn a_packet_sent_on_one_board_reaches_an_app_on_another_when_its_airtime_ends() {
    let (tx, rx) = send_across();
    // 2 bytes at SF7, 125 kHz: 30.976 ms on air.
    assert!(tx.iter().any(|r| r.contains("[   0.000000s] t            rf tx 868.1 MHz \"hi\"")), "{tx:#?}");
    assert!(rx.iter().any(|r| r.contains("[   0.030976s] t            rf rx 868.1 MHz \"hi\"")), "{rx:#?}");
    assert!(exit_line(&tx).contains("[   0.030976s] t            exited with code 0"), "{tx:#?}");
    assert!(exit_line(&rx).contains("[   0.030976s] t            exited with code 2"), "{rx:#?}");
    // Each board keeps its own log.
    assert!(!tx.iter().any(|r| r.contains("rf rx")), "{tx:#?}");
}

#[test]
fn runs_on_a_shared_air_repeat_exactly() {
    assert_eq!(send_across(), send_across());
}

#[test]
fn a_board_that_stops_early_does_not_stall_the_other() {
    let (addr, hub) = hub(2);
    let quit = device(&addr, 0, quitter());
    let rx = device(&addr, 1, listener());
    let ((quit_end, _), (rx_end, rx)) = (quit.join().unwrap(), rx.join().unwrap());
    assert_eq!(quit_end, End::AllStopped);
    // Nobody sends: the receive times out at 1 s of virtual time.
    assert_eq!(rx_end, End::AllStopped);
    assert!(exit_line(&rx).contains("[   1.000000s] t            exited with code -7"), "{rx:#?}");
    assert_eq!(hub.join().unwrap(), HubEnd::AllLeft(akira_bridge::Instant::from_micros(1_000_000)));
}

#[test]
fn a_silent_connection_does_not_hold_up_the_devices_that_join_after_it() {
    let (addr, hub) = hub(2);
    // Connects first and never says hello (the hub waits 30 s for one).
    let silent = std::net::TcpStream::connect(&addr).unwrap();
    let started = std::time::Instant::now();
    let (tx, rx) = (device(&addr, 0, sender()), device(&addr, 1, listener()));
    let ((tx_end, tx), (rx_end, rx)) = (tx.join().unwrap(), rx.join().unwrap());
    assert_eq!((tx_end, rx_end), (End::AllStopped, End::AllStopped), "{tx:#?}\n{rx:#?}");
    assert!(exit_line(&rx).contains("exited with code 2"), "the packet arrived: {rx:#?}");
    assert!(matches!(hub.join().unwrap(), HubEnd::AllLeft(_)));
    // Well before the silent connection's 30 s handshake timeout.
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    drop(silent);
}

const BLE_IMPORTS: &str = r#"
    (import "akira:ble" "advertise" (func $advertise (param i32 i32 i32 i32 i32) (result i32)))
    (import "akira:ble" "scan" (func $scan (param i32 i32 i32) (result i32)))
    (import "akira:ble" "next_report" (func $next (param i32 i32 i64) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "\02\01\06")
"#;

/// Advertises every 100 ms, then exits with `advertise`'s result.
fn advertiser_that_exits() -> String {
    format!(
        r#"(module {BLE_IMPORTS}
        (func (export "akira_main") (result i32)
            (call $advertise (i32.const 16) (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 100))))"#
    )
}

/// Scans and waits up to a second for a report: exits with
/// `next_report`'s result (the report's length, or -7 timed out).
fn scanner() -> String {
    format!(
        r#"(module {BLE_IMPORTS}
        (func (export "akira_main") (result i32)
            (drop (call $scan (i32.const 0) (i32.const 100) (i32.const 100)))
            (call $next (i32.const 64) (i32.const 64) (i64.const 1000000))))"#
    )
}

#[test]
fn an_app_that_exits_takes_its_advertising_off_the_air() {
    let (addr, hub) = hub(2);
    // Device 0 has the first turn at 0 s: its app advertises and exits
    // before device 1's scanner starts, so nothing may be heard after.
    // A listener keeps device 0 on the air meanwhile.
    let tx = device_with(&addr, 0, vec![advertiser_that_exits(), listener()]);
    let rx = device(&addr, 1, scanner());
    let ((tx_end, tx), (rx_end, rx)) = (tx.join().unwrap(), rx.join().unwrap());
    assert_eq!((tx_end, rx_end), (End::AllStopped, End::AllStopped));
    assert!(exit_line(&tx).contains("exited with code 0"), "{tx:#?}");
    assert!(exit_line(&rx).contains("[   1.000000s] t            exited with code -7"), "{rx:#?}");
    hub.join().unwrap();
}
