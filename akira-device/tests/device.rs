//! The device loop on the simulated board with virtual time: install over
//! the protocol, auto-confirm, crash-loop rollback, corrupt image at boot.

use std::time::Duration;

use akira_bridge::{Board, OtaMailbox, OtaStatus};
use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Policy, Version};
use akira_device::{Device, DeviceConfig, Note};
use akira_ota::block_on;
use akira_ota::frame;
use akira_ota::package::{self, TrustPolicy, TrustedKey};
use akira_ota::protocol::{Request, Response};
use akira_ota::store::{BlockingFlash, Region, Store, StoreConfig};
use akira_ota::testing::SimFlash;
use akira_sim::SimBoard;
use ed25519_dalek::SigningKey;

mod common;
use common::frames;

const SECTORS: usize = 2 + 4 * 4;

type Dev<'t> = Device<'t, SimBoard, BlockingFlash<SimFlash>>;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[3; 32])
}

fn manifest(minor: u16) -> Manifest {
    let mut m = Manifest::new(AppName::try_from("led").unwrap(), Version::new(1, minor, 0));
    m.capabilities.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    m.capabilities.timer = true;
    m
}

/// Blinks pin 2 every 100 ms forever.
const BLINK: &str = r#"(module
    (import "akira:gpio" "toggle" (func $toggle (param i32) (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main") (loop $l (drop (call $toggle (i32.const 2))) (drop (call $sleep (i64.const 100000))) (br $l))))"#;
/// Traps at once.
const CRASH: &str = r#"(module (import "akira:timer" "sleep_us" (func (param i64) (result i32))) (func (export "akira_main") unreachable))"#;

fn package(wat: &str, minor: u16) -> Vec<u8> {
    package_with(wat, manifest(minor))
}

fn package_with(wat: &str, m: Manifest) -> Vec<u8> {
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(m.custom_section());
    package::build(&m, &wasm, Some(&key()))
}

/// Sends `pkg` as the host would and returns the device's last answer.
fn push(device: &mut Dev<'_>, pkg: &[u8], log: &mut Vec<String>) -> Response {
    let mut requests = vec![Request::Begin { size: pkg.len() as u32, id: [7; 32] }];
    for (i, chunk) in pkg.chunks(512).enumerate() {
        requests.push(Request::Chunk { offset: (i * 512) as u32, data: chunk });
    }
    let bytes = frames(&requests);
    let mut data = bytes.as_slice();
    let mut last = None;
    while !data.is_empty() {
        let (used, reply) = block_on(device.receive(data, |n| log.push(format!("{n:?}"))));
        data = &data[used..];
        if let Some(mut frame) = reply {
            let len = frame.len() - 1; // without the delimiter
            last = Some(frame::decode::<Response>(&mut frame[..len]).unwrap());
        }
    }
    last.unwrap()
}

/// Runs the device for `d` of virtual time.
fn run_for(device: &mut Dev<'_>, board: &SimBoard, d: Duration, log: &mut Vec<String>) {
    let end = board.now().saturating_add(d);
    while board.now() < end {
        let round = block_on(device.round(board.now(), |n| log.push(format!("{n:?}"))));
        if !round.busy {
            board.advance_to(round.next_wake.map_or(end, |w| w.min(end)));
        }
    }
}

fn open_store(flash: SimFlash) -> Store<BlockingFlash<SimFlash>> {
    block_on(Store::open(
        BlockingFlash(flash),
        Region { offset: 0, size: (SECTORS * 4096) as u32 },
        StoreConfig { meta_sectors: 2, slots: 4 },
    ))
    .unwrap()
}

#[test]
fn install_confirm_crash_loop_rollback_and_boot() {
    let policy = Policy::development();
    let keys = [TrustedKey { name: "k", public_key: key().verifying_key().to_bytes(), policy: &policy }];
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let board = SimBoard::virtual_time();
    let config = DeviceConfig { confirm_after: Duration::from_secs(2), ..DeviceConfig::default() };
    let mut log = Vec::new();
    let mut device: Dev<'_> = block_on(Device::new(
        open_store(SimFlash::new(SECTORS)),
        akira_sim::runtime(policy.clone()),
        board.clone(),
        &trust,
        config,
        |n| log.push(format!("{n:?}")),
    ));
    assert!(device.store().apps().is_empty());

    // Install 1.1.0: it starts at once, on trial, and blinks.
    let r = push(&mut device, &package(BLINK, 1), &mut log);
    assert!(matches!(r, Response::Installed { .. }), "{r:?}");
    assert!(log.iter().any(|l| l.starts_with("Started") && l.contains("trial: true")), "{log:#?}");
    run_for(&mut device, &board, Duration::from_secs(3), &mut log);
    assert!(device.store().app("led").unwrap().confirmed, "confirmed after 2 s without a fault");
    assert!(log.iter().any(|l| l.starts_with("Confirmed")));

    // Install 1.2.0 that crashes: restarts with backoff, crash loop,
    // automatic rollback to 1.1.0, which runs again.
    let r = push(&mut device, &package(CRASH, 2), &mut log);
    assert!(matches!(r, Response::Installed { .. }));
    run_for(&mut device, &board, Duration::from_secs(5), &mut log);
    let app = device.store().app("led").unwrap();
    assert_eq!((app.active.version, app.confirmed), (Version::new(1, 1, 0), true), "{log:#?}");
    assert!(log.iter().any(|l| l.contains("CrashLoop")));
    assert!(log.iter().any(|l| l.starts_with("RolledBack")));
    let writes_before = board.records().len();
    run_for(&mut device, &board, Duration::from_secs(1), &mut log);
    assert!(board.records().len() > writes_before, "1.1.0 blinks again");

    // A reboot on the same flash starts the installed app; a corrupted
    // image (one flipped byte in its slot) is detected before it runs.
    let flash = device.into_store().into_flash().0;
    let image = {
        let store = open_store(flash.clone());
        store.app("led").unwrap().active.clone()
    };
    let board2 = SimBoard::virtual_time();
    let mut log2 = Vec::new();
    let device2: Dev<'_> = block_on(Device::new(
        open_store(flash.clone()),
        akira_sim::runtime(policy.clone()),
        board2.clone(),
        &trust,
        config,
        |n| log2.push(format!("{n:?}")),
    ));
    assert!(log2.iter().any(|l| l.starts_with("Started")), "{log2:#?}");
    drop(device2);
    let (offset, _) = open_store(flash.clone()).location(&image);
    let mut bytes = flash.bytes().to_vec();
    bytes[offset as usize + 10] ^= 0xFF;
    let corrupt = SimFlash::from_bytes(bytes);
    let mut log3 = Vec::new();
    let _device3: Dev<'_> = block_on(Device::new(
        open_store(corrupt),
        akira_sim::runtime(policy.clone()),
        SimBoard::virtual_time(),
        &trust,
        config,
        |n| log3.push(format!("{n:?}")),
    ));
    assert!(log3.iter().any(|l| l.starts_with("Corrupt")), "{log3:#?}");
    assert!(!log3.iter().any(|l| l.starts_with("Started")), "a corrupt image never runs");
}

#[test]
fn notes_name_what_happened() {
    // The Note type carries references: printing one must not need
    // anything else.
    let name = AppName::try_from("x").unwrap();
    let note = Note::Removed { name: &name };
    assert!(format!("{note:?}").contains("Removed"));
}

/// Confirms itself if on trial, checks the confirmation took, then idles.
const SELF_CONFIRM: &str = r#"(module
    (import "akira:ota" "is_trial" (func $is_trial (result i32)))
    (import "akira:ota" "confirm" (func $confirm (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main")
        (if (i32.eq (call $is_trial) (i32.const 1)) (then
            (if (i32.ne (call $confirm) (i32.const 0)) (then unreachable))
            (drop (call $sleep (i64.const 10000)))
            (if (i32.ne (call $is_trial) (i32.const 0)) (then unreachable))))
        (loop $l (drop (call $sleep (i64.const 100000))) (br $l))))"#;

/// Checks it is 1.2.0 on trial over 1.1.0, asks to go back, then idles.
const SELF_ROLLBACK: &str = r#"(module
    (import "akira:ota" "is_trial" (func $is_trial (result i32)))
    (import "akira:ota" "version" (func $version (result i64)))
    (import "akira:ota" "previous_version" (func $previous (result i64)))
    (import "akira:ota" "request_rollback" (func $rollback (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main")
        (if (i32.ne (call $is_trial) (i32.const 1)) (then unreachable))
        (if (i64.ne (call $version) (i64.const 0x100020000)) (then unreachable))
        (if (i64.ne (call $previous) (i64.const 0x100010000)) (then unreachable))
        (if (i32.ne (call $rollback) (i32.const 0)) (then unreachable))
        (loop $l (drop (call $sleep (i64.const 100000))) (br $l))))"#;

fn ota_manifest(minor: u16) -> Manifest {
    let mut m = Manifest::new(AppName::try_from("led").unwrap(), Version::new(1, minor, 0));
    m.capabilities.ota = true;
    m.capabilities.timer = true;
    m
}

#[test]
fn an_app_confirms_itself_and_asks_for_its_own_rollback() {
    static MAILBOX: OtaMailbox<{ akira_sim::OTA_APPS }> = OtaMailbox::new();
    let policy = Policy::development();
    let keys = [TrustedKey { name: "k", public_key: key().verifying_key().to_bytes(), policy: &policy }];
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let board = SimBoard::virtual_time();
    board.set_ota(&MAILBOX);
    // The healthy-run timer is far away: only the apps' own calls act.
    let config = DeviceConfig { confirm_after: Duration::from_secs(3600), ..DeviceConfig::default() };
    let mut log = Vec::new();
    let mut device: Dev<'_> = block_on(Device::new(
        open_store(SimFlash::new(SECTORS)),
        akira_sim::runtime(policy.clone()),
        board.clone(),
        &trust,
        config,
        |n| log.push(format!("{n:?}")),
    ));
    device.serve_app_requests(&MAILBOX);

    let r = push(&mut device, &package_with(SELF_CONFIRM, ota_manifest(1)), &mut log);
    assert!(matches!(r, Response::Installed { .. }), "{r:?}");
    assert!(!device.store().app("led").unwrap().confirmed, "installed on trial");
    run_for(&mut device, &board, Duration::from_millis(50), &mut log);
    assert!(device.store().app("led").unwrap().confirmed, "confirmed by the app itself: {log:#?}");
    assert!(log.iter().any(|l| l.starts_with("Confirmed")));

    // 1.2.0 finds itself on trial over 1.1.0 and asks to go back: rolled
    // back at the next round and 1.1.0 started, without a fault.
    let r = push(&mut device, &package_with(SELF_ROLLBACK, ota_manifest(2)), &mut log);
    assert!(matches!(r, Response::Installed { .. }), "{r:?}");
    let from = log.len();
    run_for(&mut device, &board, Duration::from_millis(50), &mut log);
    let app = device.store().app("led").unwrap();
    assert_eq!((app.active.version, app.confirmed), (Version::new(1, 1, 0), true), "{log:#?}");
    let after = &log[from..];
    let rolled = after.iter().position(|l| l.starts_with("RolledBack")).expect("rolled back");
    assert!(after[rolled..].iter().any(|l| l.starts_with("Started") && l.contains("minor: 1")), "{after:#?}");
    assert!(!log.iter().any(|l| l.contains("Faulted") || l.contains("CrashLoop")), "every check passed: {log:#?}");
    // 1.1.0 runs on, confirmed: nothing to roll back to.
    assert_eq!(MAILBOX.status("led"), OtaStatus { trial: false, previous: None });
    run_for(&mut device, &board, Duration::from_millis(200), &mut log);
    assert!(!log.iter().any(|l| l.contains("Faulted")), "{log:#?}");
}
