//! The device loop on the simulated board with virtual time: install over
//! the protocol, auto-confirm, crash-loop rollback, corrupt image at boot.

mod common;

use std::time::Duration;

use akira_bridge::{OtaMailbox, OtaStatus};
use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Policy, Version};
use akira_device::{DeviceConfig, Note};
use akira_ota::package::{self, Rights, TrustPolicy, TrustedKey};
use akira_ota::protocol::Response;
use akira_ota::testing::SimFlash;
use akira_sim::SimBoard;
use common::*;
use ed25519_dalek::SigningKey;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[3; 32])
}

fn manifest(minor: u16) -> Manifest {
    let mut m = Manifest::new(AppName::try_from("led").unwrap(), Version::new(1, minor, 0));
    m.capabilities.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    m.capabilities.timer = true;
    m
}

fn package(wat: &str, minor: u16) -> Vec<u8> {
    package_with(wat, manifest(minor))
}

fn package_with(wat: &str, m: Manifest) -> Vec<u8> {
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(m.custom_section());
    package::build(&m, &wasm, Some(&key()))
}

#[test]
fn install_confirm_crash_loop_rollback_and_boot() {
    let policy = Policy::development();
    let keys = [TrustedKey {
        name: "k",
        public_key: key().verifying_key().to_bytes(),
        policy: &policy,
        rights: Rights::OWNER,
    }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let board = SimBoard::virtual_time();
    let config = DeviceConfig { confirm_after: Duration::from_secs(2), ..DeviceConfig::default() };
    let mut log = Vec::new();
    let mut device: Dev<'_> = boot(SimFlash::new(SECTORS), &policy, &board, &trust, config, &mut log);
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
    let device2: Dev<'_> = boot(flash.clone(), &policy, &board2, &trust, config, &mut log2);
    assert!(log2.iter().any(|l| l.starts_with("Started")), "{log2:#?}");
    drop(device2);
    let (offset, _) = open_store(flash.clone()).location(&image);
    let mut bytes = flash.bytes().to_vec();
    bytes[offset as usize + 10] ^= 0xFF;
    let corrupt = SimFlash::from_bytes(bytes);
    let mut log3 = Vec::new();
    let _device3: Dev<'_> = boot(corrupt, &policy, &SimBoard::virtual_time(), &trust, config, &mut log3);
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
    let keys = [TrustedKey {
        name: "k",
        public_key: key().verifying_key().to_bytes(),
        policy: &policy,
        rights: Rights::OWNER,
    }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let board = SimBoard::virtual_time();
    board.set_ota(&MAILBOX);
    // The healthy-run timer is far away: only the apps' own calls act.
    let config = DeviceConfig { confirm_after: Duration::from_secs(3600), ..DeviceConfig::default() };
    let mut log = Vec::new();
    let mut device: Dev<'_> = boot(SimFlash::new(SECTORS), &policy, &board, &trust, config, &mut log);
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

/// Powers a device up on `flash` (the store reopened, the apps booted) on
/// a fresh board; returns it with its board and log.
fn power_up<'t>(flash: SimFlash, trust: &'t TrustPolicy<'t>, config: DeviceConfig) -> (Dev<'t>, SimBoard, Vec<String>) {
    let board = SimBoard::virtual_time();
    let mut log = Vec::new();
    let device = boot(flash, &Policy::development(), &board, trust, config, &mut log);
    (device, board, log)
}

fn active(device: &Dev<'_>) -> (Version, bool) {
    let app = device.store().app("led").unwrap();
    (app.active.version, app.confirmed)
}

#[test]
fn a_reboot_during_a_trial_reverts_it_and_confirmed_versions_survive_reboots() {
    let policy = Policy::development();
    let keys = [TrustedKey {
        name: "k",
        public_key: key().verifying_key().to_bytes(),
        policy: &policy,
        rights: Rights::OWNER,
    }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let config = DeviceConfig { confirm_after: Duration::from_secs(2), ..DeviceConfig::default() };
    let (mut device, board, mut log) = power_up(SimFlash::new(SECTORS), &trust, config);
    push(&mut device, &package(BLINK, 1), &mut log);
    run_for(&mut device, &board, Duration::from_secs(3), &mut log);
    assert_eq!(active(&device), (Version::new(1, 1, 0), true));

    // 1.2.0 on trial; the device resets 1 s later, before confirming it.
    push(&mut device, &package(BLINK, 2), &mut log);
    run_for(&mut device, &board, Duration::from_secs(1), &mut log);
    assert_eq!(active(&device), (Version::new(1, 2, 0), false));
    let (device, _, log) = power_up(device.into_store().into_flash().0, &trust, config);
    assert_eq!(active(&device), (Version::new(1, 1, 0), true), "{log:#?}");
    let expired = log.iter().position(|l| l.starts_with("TrialExpired") && l.contains("minor: 2")).expect("expired");
    assert!(log[expired + 1].starts_with("RolledBack"), "{log:#?}");
    assert!(log[expired + 2].starts_with("Started") && log[expired + 2].contains("minor: 1"), "{log:#?}");
    assert!(!log.iter().any(|l| l.starts_with("Started") && l.contains("minor: 2")), "1.2.0 never runs again");

    // The confirmed 1.1.0 survives reboots.
    let (mut device, board, mut log) = power_up(device.into_store().into_flash().0, &trust, config);
    assert!(log.iter().any(|l| l.starts_with("Started") && l.contains("trial: false")), "{log:#?}");
    // 1.3.0 is confirmed after its healthy run, then survives two reboots.
    push(&mut device, &package(BLINK, 3), &mut log);
    run_for(&mut device, &board, Duration::from_secs(3), &mut log);
    let mut flash = device.into_store().into_flash().0;
    for _ in 0..2 {
        let (device, _, log) = power_up(flash, &trust, config);
        assert_eq!(active(&device), (Version::new(1, 3, 0), true), "{log:#?}");
        assert!(!log.iter().any(|l| l.starts_with("TrialExpired")));
        flash = device.into_store().into_flash().0;
    }

    // A policy of two trial boots: 1.4.0 runs again after one reset, is
    // confirmed in that boot, and stays.
    let two = DeviceConfig { max_trial_boots: 2, ..config };
    let (mut device, board, mut log) = power_up(flash, &trust, two);
    push(&mut device, &package(BLINK, 4), &mut log);
    let (mut device, board2, mut log) = {
        drop(board);
        power_up(device.into_store().into_flash().0, &trust, two)
    };
    assert!(log.iter().any(|l| l.starts_with("Started") && l.contains("minor: 4") && l.contains("trial: true")));
    assert_eq!(device.store().app("led").unwrap().trial_boots, 2);
    run_for(&mut device, &board2, Duration::from_secs(3), &mut log);
    let (device, _, log) = power_up(device.into_store().into_flash().0, &trust, two);
    assert_eq!(active(&device), (Version::new(1, 4, 0), true), "{log:#?}");

    // A first version never confirmed is uninstalled at the next boot.
    let fresh = DeviceConfig { confirm_after: Duration::from_secs(3600), ..config };
    let (mut device, _, mut log) = power_up(SimFlash::new(SECTORS), &trust, fresh);
    push(&mut device, &package(BLINK, 1), &mut log);
    let (device, _, log) = power_up(device.into_store().into_flash().0, &trust, fresh);
    assert!(device.store().app("led").is_none(), "{log:#?}");
    assert!(log.iter().any(|l| l.starts_with("TrialExpired")) && log.iter().any(|l| l.starts_with("Removed")));
}
