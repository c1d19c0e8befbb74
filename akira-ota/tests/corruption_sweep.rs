//! A corrupted package leaves the flash byte-identical: every byte of the
//! signed header (header, manifest, chain root, signature), a sample of
//! body bits, truncations, transfers abandoned half way, and valid headers
//! with another package's body, pushed through the protocol session into a
//! store that already holds apps. Prints how many corruptions it tried.

#![cfg(feature = "std")]

use akira_caps::manifest::AppName;
use akira_caps::{Manifest, Policy, Version};
use akira_ota::block_on;
use akira_ota::package::{self, Rights, TrustPolicy, TrustedKey};
use akira_ota::protocol::{Request, Response};
use akira_ota::server::{AcceptAll, Session, SessionConfig};
use akira_ota::store::{BlockingStore, Region, StoreConfig};
use akira_ota::testing::SimFlash;
use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

const SECTORS: usize = 2 + 4 * 8;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn manifest(name: &str, minor: u16) -> Manifest {
    let mut m = Manifest::new(AppName::try_from(name).unwrap(), Version::new(1, minor, 0));
    m.capabilities.log = true;
    m
}

fn wasm(seed: u8, len: usize) -> Vec<u8> {
    let mut w = b"\0asm\x01\0\0\0".to_vec();
    w.extend((0..len).map(|i| (i as u8).wrapping_mul(31) ^ seed));
    w
}

fn open(flash: SimFlash) -> BlockingStore<SimFlash> {
    let region = Region { offset: 0, size: (SECTORS * 4096) as u32 };
    BlockingStore::open(flash, region, StoreConfig { meta_sectors: 2, slots: 4 }).unwrap()
}

/// Sends `pkg` as a transfer of `pkg.len()` bytes; the last response.
fn push(session: &mut Session<'_>, store: &mut BlockingStore<SimFlash>, pkg: &[u8]) -> Response {
    let mut ask = |r| block_on(session.handle(r, 0, store.as_async(), &mut AcceptAll)).0;
    let id: [u8; 32] = Sha256::digest(pkg).into();
    let r = ask(Request::Begin { size: pkg.len() as u32, id });
    let Response::Resume { offset: 0 } = r else { return r };
    let mut at = 0;
    loop {
        let end = (at + 512).min(pkg.len());
        match ask(Request::Chunk { offset: at as u32, data: &pkg[at..end] }) {
            Response::Ack { next } => at = next as usize,
            other => return other,
        }
    }
}

/// Counts what the sweep did.
#[derive(Default)]
struct Tally {
    tried: usize,
    /// Refusals after authentic chunks were written (and erased again).
    erased_after_writing: usize,
    sector_erases: u64,
}

/// A store with apps installed, updated and confirmed (its free slots hold
/// old images until the store erases them), and the flash under it.
fn device_flash(trust: &TrustPolicy<'_>) -> SimFlash {
    let mut store = open(SimFlash::new(SECTORS));
    let mut session = Session::new(trust, SessionConfig::default());
    for (name, minor, len) in [("led", 1, 9000), ("led", 2, 12_000), ("thermo", 1, 3000)] {
        let pkg = package::build(&manifest(name, minor), &wasm(minor as u8, len), Some(&key(1)));
        assert!(matches!(push(&mut session, &mut store, &pkg), Response::Installed { .. }));
        store.confirm(&AppName::try_from(name).unwrap()).unwrap();
    }
    store.into_flash()
}

/// Pushes `bad` on a copy of `flash`: it must be refused (or, for an
/// abandoned transfer, dropped) and the flash must read exactly as before.
fn assert_untouched(flash: &SimFlash, trust: &TrustPolicy<'_>, bad: &[u8], what: &str, tally: &mut Tally) {
    let mut store = open(flash.clone());
    let erases_before: u64 = store.flash_mut().erase_counts().iter().map(|c| u64::from(*c)).sum();
    let mut session = Session::new(trust, SessionConfig::default());
    let r = push(&mut session, &mut store, bad);
    assert!(matches!(r, Response::Error { .. }), "{what}: not refused: {r:?}");
    let after = store.into_flash();
    assert!(after.bytes() == flash.bytes(), "{what}: the flash changed ({r:?})");
    assert_eq!(after.violations(), 0);
    let erases: u64 = after.erase_counts().iter().map(|c| u64::from(*c)).sum::<u64>() - erases_before;
    if erases > 0 {
        tally.erased_after_writing += 1;
        tally.sector_erases += erases;
    }
    tally.tried += 1;
}

#[test]
fn a_corrupted_package_leaves_the_flash_byte_identical() {
    let policy = Policy::development();
    let keys = [
        TrustedKey {
            name: "release",
            public_key: key(1).verifying_key().to_bytes(),
            policy: &policy,
            rights: Rights::OWNER,
        },
        TrustedKey {
            name: "ci",
            public_key: key(2).verifying_key().to_bytes(),
            policy: &policy,
            rights: Rights::INSTALL,
        },
    ];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    let flash = device_flash(&trust);
    let good = package::build(&manifest("led", 3), &wasm(3, 20_000), Some(&key(1)));
    let body = 32 + manifest("led", 3).encode().len() + package::SEAL_LEN;
    let mut tally = Tally::default();

    // The good package installs: the sweep below is about corruption only.
    let mut store = open(flash.clone());
    let mut session = Session::new(&trust, SessionConfig::default());
    assert!(matches!(push(&mut session, &mut store, &good), Response::Installed { .. }));

    // Every byte of the signed header: one bit, and all bits.
    for i in 0..body {
        for mask in [1u8 << (i % 8), 0xFF] {
            let mut bad = good.clone();
            bad[i] ^= mask;
            assert_untouched(&flash, &trust, &bad, &format!("header byte {i} ^ {mask:#04x}"), &mut tally);
        }
    }
    let header_cases = tally.tried;

    // A sample of body bits: every 41st byte (chunk data and links), one
    // bit each, and the last byte.
    for i in (body..good.len()).step_by(41).chain([good.len() - 1]) {
        let mut bad = good.clone();
        bad[i] ^= 1 << (i % 8);
        assert_untouched(&flash, &trust, &bad, &format!("body byte {i}"), &mut tally);
    }
    let body_cases = tally.tried - header_cases;

    // Truncated files, sent as complete transfers of their length.
    for cut in (1..good.len()).step_by(257).chain([good.len() - 1, body, body - 1]) {
        assert_untouched(&flash, &trust, &good[..cut], &format!("truncated at {cut}"), &mut tally);
    }
    // Transfers abandoned half way (the host sends Abort): what they wrote
    // is erased again.
    for stop in [body + 10, body + 5000, good.len() - 1] {
        let mut store = open(flash.clone());
        let mut session = Session::new(&trust, SessionConfig::default());
        let id: [u8; 32] = Sha256::digest(&good).into();
        let mut ask = |r| block_on(session.handle(r, 0, store.as_async(), &mut AcceptAll)).0;
        ask(Request::Begin { size: good.len() as u32, id });
        for at in (0..stop).step_by(512) {
            ask(Request::Chunk { offset: at as u32, data: &good[at..(at + 512).min(stop)] });
        }
        assert_eq!(ask(Request::Abort), Response::Done);
        assert!(store.into_flash().bytes() == flash.bytes(), "abandoned at {stop}: the flash changed");
        tally.tried += 1;
    }

    // A valid header and seal with another package's body: the same app
    // and length with other bytes, another app's from another signer, an
    // older version's, an unsigned one's.
    let seal = |pkg: &[u8]| pkg[..body].to_vec();
    let others = [
        package::build(&manifest("led", 3), &wasm(7, 20_000), Some(&key(1))),
        package::build(&manifest("thermo", 3), &wasm(9, 20_000), Some(&key(2))),
        package::build(&manifest("led", 1), &wasm(1, 20_000), Some(&key(1))),
        package::build(&manifest("led", 3), &wasm(5, 20_000), None),
    ];
    for (n, other) in others.iter().enumerate() {
        let mut spliced = seal(&good);
        spliced.extend_from_slice(&other[body.min(other.len())..]);
        assert_untouched(&flash, &trust, &spliced, &format!("header of led 1.3 with body {n}"), &mut tally);
    }

    eprintln!(
        "corruption sweep: {} corrupted packages ({header_cases} header bytes, {body_cases} body bits, truncations, \
         abandoned transfers, spliced bodies), flash byte-identical after each; {} refused after writing authentic \
         chunks, which were erased again ({} sector erases in all)",
        tally.tried, tally.erased_after_writing, tally.sector_erases
    );
    assert!(tally.tried > 600, "{}", tally.tried);
}
