//! The AOT tier in the device loop (feature `aot`): an installed app's
//! native code is taken only when its signer has `Rights::NATIVE_CODE` in
//! the trust policy, at install and at every boot; malformed native code
//! from a trusted signer refuses the package. (On the host the native code
//! cannot run: the app runs interpreted; `Note::NativeCode` says whether
//! the device took it. The QEMU firmware runs it: examples/qemu-mps2-an386.)
#![cfg(feature = "aot")]

mod common;

use akira_aot::format::Arch;
use akira_aot::format::write::{BlobSpec, ExportSpec};
use akira_caps::manifest::AppName;
use akira_caps::scope::GpioScope;
use akira_caps::{Manifest, Policy, Version};
use akira_device::DeviceConfig;
use akira_ota::package::{self, Rights, TrustPolicy, TrustedKey};
use akira_ota::protocol::Response;
use akira_ota::testing::SimFlash;
use akira_sim::SimBoard;
use common::*;
use ed25519_dalek::SigningKey;
use std::time::Duration;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[5; 32])
}

/// A well-formed blob: `akira_main` is `bx lr`.
fn blob() -> Vec<u8> {
    BlobSpec {
        arch: Arch::ThumbV7em,
        image: vec![0x70, 0x47, 0x00, 0xbf],
        bss_len: 0,
        image_align: 4,
        stack_bound: 64,
        max_call_depth: 1,
        instantiate: 1,
        relocs: vec![],
        imports: vec![],
        exports: vec![ExportSpec { name: "akira_main".into(), entry: 1, params: vec![], results: vec![] }],
    }
    .to_bytes()
}

/// The blinking app with `native` in its `akira.aot` section.
fn package_with_native(native: &[u8]) -> Vec<u8> {
    let mut m = Manifest::new(AppName::try_from("fast").unwrap(), Version::new(1, 0, 0));
    m.capabilities.gpio = Some(GpioScope::new(Default::default(), [2].into_iter().collect(), Default::default()));
    m.capabilities.timer = true;
    let mut wasm = wat::parse_str(BLINK).unwrap();
    wasm.extend(m.custom_section());
    let wasm = akira_aot_build::embed(&wasm, native).unwrap();
    package::build(&m, &wasm, Some(&key()))
}

fn trust_with<R>(rights: Rights, f: impl FnOnce(&TrustPolicy<'_>, &Policy) -> R) -> R {
    let policy = Policy::development();
    let keys = [TrustedKey { name: "k", public_key: key().verifying_key().to_bytes(), policy: &policy, rights }];
    f(&TrustPolicy { keys: &keys, ..TrustPolicy::default() }, &policy)
}

/// Unconfirmed versions survive the test's reboots.
fn config() -> DeviceConfig {
    DeviceConfig { max_trial_boots: 3, ..DeviceConfig::default() }
}

fn native_notes(log: &[String]) -> usize {
    log.iter().filter(|l| l.starts_with("NativeCode")).count()
}

#[test]
fn a_signer_without_the_native_code_right_never_gets_native_code_run() {
    let flash = trust_with(Rights::OWNER, |trust, policy| {
        let board = SimBoard::virtual_time();
        let mut log = Vec::new();
        let mut device: Dev<'_> = boot(SimFlash::new(SECTORS), policy, &board, trust, config(), &mut log);
        let r = push(&mut device, &package_with_native(&blob()), &mut log);
        assert!(matches!(r, Response::Installed { .. }), "{r:?}");
        assert!(log.iter().any(|l| l.starts_with("Started")), "{log:#?}");
        assert_eq!(native_notes(&log), 0, "{log:#?}");
        // It runs, interpreted.
        run_for(&mut device, &board, Duration::from_millis(500), &mut log);
        assert!(!board.records().is_empty());
        device.into_store().into_flash().0
    });
    // The same installed app on a device whose policy now gives the key
    // the right: its native code is taken at boot.
    trust_with(Rights::OWNER | Rights::NATIVE_CODE, |trust, policy| {
        let mut log = Vec::new();
        let _device: Dev<'_> = boot(flash.clone(), policy, &SimBoard::virtual_time(), trust, config(), &mut log);
        assert_eq!(native_notes(&log), 1, "{log:#?}");
    });
}

#[test]
fn a_signer_with_the_right_gets_its_native_code_taken_at_install_and_at_boot() {
    trust_with(Rights::OWNER | Rights::NATIVE_CODE, |trust, policy| {
        let board = SimBoard::virtual_time();
        let mut log = Vec::new();
        let mut device: Dev<'_> = boot(SimFlash::new(SECTORS), policy, &board, trust, config(), &mut log);
        let r = push(&mut device, &package_with_native(&blob()), &mut log);
        assert!(matches!(r, Response::Installed { .. }), "{r:?}");
        let native = log.iter().position(|l| l.starts_with("NativeCode")).expect("native code taken");
        assert!(log[native + 1].starts_with("Started"), "{log:#?}");
        let flash = device.into_store().into_flash().0;
        let mut log = Vec::new();
        let _device: Dev<'_> = boot(flash, policy, &SimBoard::virtual_time(), trust, config(), &mut log);
        assert_eq!(native_notes(&log), 1, "{log:#?}");
    });
}

#[test]
fn malformed_native_code_from_a_trusted_signer_refuses_the_package() {
    trust_with(Rights::OWNER | Rights::NATIVE_CODE, |trust, policy| {
        let board = SimBoard::virtual_time();
        let mut log = Vec::new();
        let mut device: Dev<'_> = boot(SimFlash::new(SECTORS), policy, &board, trust, config(), &mut log);
        let mut bad = blob();
        bad[0] ^= 0xff; // the magic
        let r = push(&mut device, &package_with_native(&bad), &mut log);
        assert!(!matches!(r, Response::Installed { .. }), "{r:?}");
        assert!(device.store().apps().is_empty());
    });
}
