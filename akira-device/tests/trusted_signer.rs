//! Trusted-signer mode on the simulated board: a package from a key with
//! the skip-validation right installs and runs without the wasm being
//! validated, before and after a reboot; a package from another key is
//! validated as before.
//!
//! The workspace builds `akira-sandbox` with `validate` (other crates turn
//! it on), so these tests run on a firmware that could validate. What a
//! firmware without the validator does with other keys' packages (refused
//! at the header, nothing written) is tested through `akira-ota`'s session
//! (`tests/trust.rs` there); the QEMU firmware built without the validator
//! runs it end to end.

mod common;

use std::time::Duration;

use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Policy, Version};
use akira_device::{DeviceConfig, VALIDATES};
use akira_ota::block_on;
use akira_ota::package::{self, Rights, TrustPolicy, TrustedKey};
use akira_ota::protocol::Response;
use akira_ota::testing::SimFlash;
use akira_sim::SimBoard;
use common::*;
use ed25519_dalek::SigningKey;

/// Blinks pin 2 every 100 ms forever.
const BLINK: &str = r#"(module
    (import "akira:gpio" "toggle" (func $toggle (param i32) (result i32)))
    (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
    (func (export "akira_main") (loop $l (drop (call $toggle (i32.const 2))) (drop (call $sleep (i64.const 100000))) (br $l))))"#;

fn firmware_key() -> SigningKey {
    SigningKey::from_bytes(&[11; 32])
}

fn publisher_key() -> SigningKey {
    SigningKey::from_bytes(&[12; 32])
}

fn package(name: &str, key: &SigningKey) -> Vec<u8> {
    let mut m = Manifest::new(AppName::try_from(name).unwrap(), Version::new(1, 0, 0));
    m.capabilities.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    m.capabilities.timer = true;
    let mut wasm = wat::parse_str(BLINK).unwrap();
    wasm.extend(m.custom_section());
    package::build(&m, &wasm, Some(key))
}

fn toggles(board: &SimBoard, app: &str) -> usize {
    board.records().iter().filter(|r| r.to_string().contains(app) && r.to_string().contains("gpio 2")).count()
}

#[test]
fn a_trusted_signers_package_installs_and_runs_without_validation() {
    const { assert!(VALIDATES, "the workspace builds akira-device with the validator") };
    let policy = Policy::development();
    let keys = [
        TrustedKey {
            name: "firmware",
            public_key: firmware_key().verifying_key().to_bytes(),
            policy: &policy,
            rights: Rights::INSTALL | Rights::SKIP_VALIDATION,
        },
        TrustedKey {
            name: "publisher",
            public_key: publisher_key().verifying_key().to_bytes(),
            policy: &policy,
            rights: Rights::INSTALL,
        },
    ];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let board = SimBoard::virtual_time();
    let config = DeviceConfig { confirm_after: Duration::from_secs(1), ..DeviceConfig::default() };
    let mut log = Vec::new();
    let mut device: Dev<'_> = boot(SimFlash::new(SECTORS), &policy, &board, &trust, config, &mut log);

    let r = push(&mut device, &package("blinky", &firmware_key()), &mut log);
    assert!(matches!(r, Response::Installed { .. }), "{r:?}");
    let installed = log.iter().find(|l| l.starts_with("Installed")).unwrap();
    assert!(installed.contains("validated: false"), "the trusted-signer path was taken: {installed}");
    let r = push(&mut device, &package("other", &publisher_key()), &mut log);
    assert!(matches!(r, Response::Installed { .. }), "{r:?}");
    assert!(log.iter().any(|l| l.starts_with("Installed") && l.contains("other") && l.contains("validated: true")));
    run_for(&mut device, &board, Duration::from_secs(2), &mut log);
    assert!(toggles(&board, "blinky") >= 10, "the trusted-signer app runs: {log:#?}");
    assert!(device.store().app("blinky").unwrap().confirmed);

    // After a reboot the store vouches for the installed image (its bytes
    // still match their digest, its signer may still skip validation).
    let flash = device.into_store().into_flash().0;
    let board = SimBoard::virtual_time();
    let mut log = Vec::new();
    let mut device: Dev<'_> = boot(flash.clone(), &policy, &board, &trust, config, &mut log);
    run_for(&mut device, &board, Duration::from_secs(1), &mut log);
    assert!(toggles(&board, "blinky") >= 5, "{log:#?}");

    // A corrupted image is never vouched for: it is found corrupt first.
    let image = open_store(flash.clone()).app("blinky").unwrap().active.clone();
    let (offset, _) = open_store(flash.clone()).location(&image);
    let mut bytes = flash.bytes().to_vec();
    bytes[offset as usize + 20] ^= 0x01;
    let mut store = open_store(SimFlash::from_bytes(bytes));
    assert_eq!(block_on(store.vouch(&image, &trust)).unwrap(), None);
    // Nor is an image whose signer lost the right.
    let demoted = [TrustedKey { rights: Rights::INSTALL, ..keys[0] }, keys[1]];
    let demoted = TrustPolicy { keys: &demoted, ..trust };
    let mut store = open_store(flash);
    assert_eq!(block_on(store.vouch(&image, &demoted)).unwrap(), None);
    assert!(block_on(store.vouch(&image, &trust)).unwrap().is_some());
}
