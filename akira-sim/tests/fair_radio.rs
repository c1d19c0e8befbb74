//! Fair sharing of the BLE controller between apps on one board: two apps
//! advertising are both on the air, in turn; two apps serve their GATT
//! services at once and a central reaches both.

use std::time::Duration;

use akira_caps::manifest::AppName;
use akira_caps::scope::{BleScope, ble};
use akira_caps::{Manifest, Policy, Version};
use akira_sandbox::{LoadedApp, RestartPolicy, Runtime};
use akira_sim::{End, SimBoard, Simulation, What};

fn load(runtime: &Runtime<SimBoard>, name: &str, roles: &[u32], wat: &str) -> LoadedApp {
    let mut manifest = Manifest::new(AppName::try_from(name).unwrap(), Version::new(0, 1, 0));
    let roles = roles.iter().copied().collect();
    manifest.capabilities.ble = Some(BleScope { roles, adv_changes_per_s: 2, ..BleScope::default() });
    manifest.capabilities.timer = true;
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());
    runtime.load(&wasm).unwrap()
}

/// Advertises `name` (a complete local name) every 100 ms for 3 s, then
/// exits with `advertise`'s result.
fn beacon(name: char) -> String {
    format!(
        r#"(module
        (import "akira:ble" "advertise" (func $adv (param i32 i32 i32 i32 i32) (result i32)))
        (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "\02\01\06\02\09{name}")
        (func (export "akira_main") (result i32) (local $r i32)
            (local.set $r (call $adv (i32.const 0) (i32.const 6) (i32.const 0) (i32.const 0) (i32.const 100)))
            (drop (call $sleep (i64.const 3000000)))
            (local.get $r)))"#
    )
}

/// Scans until a second passes without a report.
const SCANNER: &str = r#"(module
    (import "akira:ble" "scan" (func $scan (param i32 i32 i32) (result i32)))
    (import "akira:ble" "next_report" (func $next (param i32 i32 i64) (result i32)))
    (memory (export "memory") 1)
    (func (export "akira_main")
        (drop (call $scan (i32.const 0) (i32.const 100) (i32.const 100)))
        (loop $l (br_if $l (i32.gt_s (call $next (i32.const 64) (i32.const 41) (i64.const 1000000)) (i32.const 0))))))"#;

#[test]
fn two_apps_advertising_at_once_are_both_on_the_air_in_turn() {
    let runtime = akira_sim::runtime(Policy::development());
    let apps = [
        load(&runtime, "scanner", &[ble::SCAN], SCANNER),
        load(&runtime, "a", &[ble::ADVERTISE], &beacon('A')),
        load(&runtime, "b", &[ble::ADVERTISE], &beacon('B')),
    ];
    let board = SimBoard::virtual_time();
    let mut sim = Simulation::new(runtime, board.clone());
    for app in apps {
        sim.spawn(app, RestartPolicy::never()).unwrap();
    }
    assert_eq!(sim.run(Some(Duration::from_secs(10))), End::AllStopped);
    let records = board.records();
    for beacon in ["a", "b"] {
        let exit = records.iter().find(|r| r.app.as_deref() == Some(beacon) && matches!(r.what, What::Exited(_)));
        assert_eq!(exit.map(|r| &r.what), Some(&What::Exited(0)), "no EBUSY for {beacon}: {records:#?}");
    }
    // Who the scanner heard, by advertising name, and when.
    let heard: Vec<(u64, u8)> = records
        .iter()
        .filter_map(|r| match &r.what {
            What::BleReport { data, .. } => Some((r.at.as_micros() / 1000, data[5])),
            _ => None,
        })
        .collect();
    // Both are on the air in every second of their three, each within a
    // turn (500 ms) of the other.
    for second in 0..3 {
        let window = second * 1000..(second + 1) * 1000;
        for name in [b'A', b'B'] {
            let n = heard.iter().filter(|(t, a)| *a == name && window.contains(t)).count();
            assert!(n >= 4, "{} heard {n} times in second {second}: {heard:?}", name as char);
        }
    }
    let gaps = heard.windows(2).filter(|w| w[0].1 == w[1].1).map(|w| w[1].0 - w[0].0);
    assert!(gaps.clone().all(|gap| gap <= 100), "a turn is a run of events 100 ms apart");
    let switches = heard.windows(2).filter(|w| w[0].1 != w[1].1).count();
    assert!(switches >= 5, "turns of 500 ms over 3 s: {switches} in {heard:?}");
}

/// Serves one service with one characteristic (`uuid` with
/// `properties`), then reads events until 2 s pass without one: exits
/// with the first byte a central last wrote, or 0.
fn gatt_app(service: &str, uuid: &str, properties: u8) -> String {
    format!(
        r#"(module
        (import "akira:ble" "gatt_service" (func $svc (param i32 i32) (result i32)))
        (import "akira:ble" "gatt_characteristic" (func $chr (param i32 i32 i32 i32 i32) (result i32)))
        (import "akira:ble" "gatt_start" (func $start (param i32 i32 i32) (result i32)))
        (import "akira:ble" "gatt_next_event" (func $next (param i32 i32 i64) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 0) "{service}{uuid}")
        (data (i32.const 8) "\02\01\06")
        (func (export "akira_main") (result i32)
            (if (i32.ne (call $svc (i32.const 0) (i32.const 2)) (i32.const 0)) (then (return (i32.const -100))))
            (if (i32.ne (call $chr (i32.const 0) (i32.const 2) (i32.const 2) (i32.const {properties}) (i32.const 2)) (i32.const 0))
                (then (return (i32.const -101))))
            (if (i32.ne (call $start (i32.const 8) (i32.const 3) (i32.const 100)) (i32.const 0)) (then (return (i32.const -102))))
            (loop $l
                (if (i32.gt_s (call $next (i32.const 64) (i32.const 64) (i64.const 2000000)) (i32.const 0))
                    (then
                        ;; A write (kind 3) to its handle 0: keeps the first byte.
                        (if (i32.and (i32.eq (i32.load8_u (i32.const 64)) (i32.const 3)) (i32.eqz (i32.load8_u (i32.const 65))))
                            (then (i32.store8 (i32.const 100) (i32.load8_u (i32.const 68)))))
                        (br $l))))
            (i32.load8_u (i32.const 100))))"#
    )
}

#[test]
fn two_apps_serve_gatt_at_once_and_a_central_writes_to_each() {
    let runtime = akira_sim::runtime(Policy::development());
    let apps = [
        // A thermometer (181a) with a writable setpoint (2a1f) and a
        // cycling service (1816) with a writable control point (2a55).
        load(&runtime, "thermo", &[ble::PERIPHERAL], &gatt_app(r"\1a\18", r"\1f\2a", 0x08)),
        load(&runtime, "cycle", &[ble::PERIPHERAL], &gatt_app(r"\16\18", r"\55\2a", 0x08)),
    ];
    let board = SimBoard::virtual_time();
    let mut sim = Simulation::new(runtime, board.clone());
    for app in apps {
        sim.spawn(app, RestartPolicy::never()).unwrap();
    }
    for (ms, op) in [(500, "connect"), (600, "write:2a1f=11"), (700, "write:2a55=22")] {
        sim.gatt_client_at(op.parse().unwrap(), Duration::from_millis(ms));
    }
    assert_eq!(sim.run(Some(Duration::from_secs(10))), End::AllStopped);
    let records = board.records();
    let exit = |app: &str| {
        records.iter().find_map(|r| match (r.app.as_deref(), &r.what) {
            (Some(a), What::Exited(c)) if a == app => Some(*c),
            _ => None,
        })
    };
    // Each write reached the app that declared the characteristic, in its
    // own handle 0.
    assert_eq!((exit("thermo"), exit("cycle")), (Some(0x11), Some(0x22)), "{records:#?}");
    let central: Vec<&str> = records
        .iter()
        .filter_map(|r| match &r.what {
            What::GattCentral(seen) => Some(seen.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(central[1..3], ["wrote 2a1f [11]", "wrote 2a55 [22]"], "{central:?}");
}

/// Scans, sleeps 2 s in a timer without reading, then takes one queued
/// report at once: exits with its length (0 if none was queued).
const SLEEPING_SCANNER: &str = r#"(module
    (import "akira:ble" "scan" (func $scan (param i32 i32 i32) (result i32)))
    (import "akira:ble" "next_report" (func $next (param i32 i32 i64) (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (memory (export "memory") 1)
    (func (export "akira_main") (result i32) (local $r i32)
        (drop (call $scan (i32.const 0) (i32.const 100) (i32.const 100)))
        (drop (call $sleep (i64.const 2000000)))
        (local.set $r (call $next (i32.const 64) (i32.const 41) (i64.const 0)))
        (select (local.get $r) (i32.const 0) (i32.gt_s (local.get $r) (i32.const 0)))))"#;

#[test]
fn a_scanner_asleep_in_a_timer_beside_a_beacon_lets_virtual_time_move() {
    // Before the fix the simulation spun at the first advertising event
    // nobody collected: run it on a thread and give it a generous bound.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = akira_sim::runtime(Policy::development());
        let apps = [
            load(&runtime, "scanner", &[ble::SCAN], SLEEPING_SCANNER),
            load(&runtime, "a", &[ble::ADVERTISE], &beacon('A')),
        ];
        let board = SimBoard::virtual_time();
        let mut sim = Simulation::new(runtime, board.clone());
        for app in apps {
            sim.spawn(app, RestartPolicy::never()).unwrap();
        }
        let end = sim.run(Some(Duration::from_secs(10)));
        let exits: Vec<_> = board
            .records()
            .iter()
            .filter_map(|r| match r.what {
                What::Exited(code) => Some((r.app.clone().unwrap_or_default(), code, r.at.as_micros() / 1000)),
                _ => None,
            })
            .collect();
        let _ = done.send((end, exits));
    });
    let (end, exits) = finished.recv_timeout(Duration::from_secs(60)).expect("the simulation ends");
    assert_eq!(end, End::AllStopped);
    let scanner = exits.iter().find(|(app, ..)| app == "scanner").expect("the scanner exits");
    assert!(scanner.1 > 0, "a report was queued while the scanner slept: {exits:?}");
    assert_eq!(scanner.2, 2000, "the scanner woke on time: {exits:?}");
    assert!(exits.iter().any(|(app, code, at)| app == "a" && *code == 0 && *at == 3000), "{exits:?}");
}
