//! Fixtures and the reader driver shared by the package tests.
#![allow(dead_code)]

use akira_caps::scope::GpioScope;
use akira_caps::sets::PinSet;
use akira_caps::{Manifest, Policy, Version, manifest::AppName};
use akira_ota::package::{
    Accepted, DIGEST_LEN, Event, HEADER_LEN, KeyId, PackageError, PackageReader, Rights, TrustPolicy, TrustedKey,
    Verified, build_chunked, key_id, signed_message,
};
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- fixtures

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn public(key: &SigningKey) -> [u8; 32] {
    key.verifying_key().to_bytes()
}

pub fn id_of(key: &SigningKey) -> KeyId {
    key_id(&public(key))
}

/// A policy allowing log, gpio output pins 0-3, 64 KiB and 10⁶ fuel.
pub fn signer_policy() -> Policy {
    let mut p = Policy::deny_all();
    p.allow.log = true;
    p.allow.gpio = Some(GpioScope::new(PinSet::EMPTY, (0..4).collect(), PinSet::EMPTY));
    p.max_memory = 64 * 1024;
    p.max_cpu_budget = 1_000_000;
    p
}

/// Allows log only: narrower than what `manifest()` asks for.
pub fn log_only_policy() -> Policy {
    let mut p = signer_policy();
    p.allow.gpio = None;
    p
}

/// Asks for log and output pin `pin`.
pub fn manifest_with_pin(pin: u32) -> Manifest {
    let mut m = Manifest::new(AppName::try_from("blinky").unwrap(), Version::new(1, 2, 3));
    m.capabilities.log = true;
    m.capabilities.gpio = Some(GpioScope::new(PinSet::EMPTY, [pin].into_iter().collect(), PinSet::EMPTY));
    m.memory_limit = 16 * 1024;
    m.cpu_budget = 100_000;
    m
}

pub fn manifest() -> Manifest {
    manifest_with_pin(2)
}

/// 300 bytes: five 64-byte chunks, the last 44 bytes.
pub fn wasm() -> Vec<u8> {
    let mut w = b"\0asm\x01\0\0\0".to_vec();
    w.extend((0u16..292).map(|i| (i as u8).wrapping_mul(37)));
    w
}

/// The chunk size most tests use: 64 bytes, so `wasm()` is a chain of five.
pub const LOG2: u8 = 6;

/// A package of `manifest` and `wasm()` in 64-byte chunks.
pub fn package(manifest: &Manifest, signer: Option<&SigningKey>) -> Vec<u8> {
    build_chunked(manifest, &wasm(), signer, LOG2)
}

/// Fixed keys, policies and trust lists for one test.
pub struct World {
    pub a: SigningKey,
    pub b: SigningKey,
    pub stranger: SigningKey,
    pub policy: Policy,
    pub dev: Policy,
    pub narrow: Policy,
}

impl World {
    pub fn new() -> World {
        World {
            a: key(1),
            b: key(2),
            stranger: key(3),
            policy: signer_policy(),
            dev: Policy::development(),
            narrow: log_only_policy(),
        }
    }

    pub fn trust<'a>(&'a self, keys: &'a [TrustedKey<'a>], unsigned: Option<&'a Policy>) -> TrustPolicy<'a> {
        TrustPolicy { keys, unsigned, ..TrustPolicy::default() }
    }

    pub fn keys(&self) -> [TrustedKey<'_>; 2] {
        [
            TrustedKey { name: "release", public_key: public(&self.a), policy: &self.policy, rights: Rights::OWNER },
            TrustedKey { name: "ci", public_key: public(&self.b), policy: &self.narrow, rights: Rights::INSTALL },
        ]
    }
}

// ------------------------------------------------------------ the driver

#[derive(Debug, Default)]
pub struct Outcome {
    pub accepted: Option<Accepted>,
    pub wasm: Vec<u8>,
    pub wasm_events: usize,
    pub verified: Option<Verified>,
    /// The first error, from `next` or (input used up) from `finish`.
    pub error: Option<PackageError>,
    pub position: u64,
}

/// Feeds `chunks` one by one, checking the reader's contract on the way:
/// progress on every call, `None` only when everything was consumed,
/// Accepted first, Wasm only after Accepted and only bytes of the signed
/// module, in order.
pub fn drive<'a>(reader: &mut PackageReader<'_>, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    drive_from(reader, chunks, Outcome::default())
}

/// [`drive`], continuing a transfer that produced `out` so far.
pub fn drive_from<'a>(
    reader: &mut PackageReader<'_>,
    chunks: impl IntoIterator<Item = &'a [u8]>,
    mut out: Outcome,
) -> Outcome {
    out.error = None;
    for mut chunk in chunks {
        while !chunk.is_empty() {
            let done_before = reader.is_done();
            match reader.next(chunk) {
                Ok((n, event)) => {
                    assert!(n > 0 && n <= chunk.len(), "consumed {n} of {}", chunk.len());
                    if event.is_none() {
                        assert_eq!(n, chunk.len(), "None must mean everything was consumed");
                    }
                    assert!(!done_before, "bytes accepted after the end");
                    match event {
                        Some(Event::Accepted(a)) => {
                            assert!(out.accepted.is_none() && out.wasm_events == 0, "Accepted out of order");
                            out.accepted = Some(a.clone());
                        }
                        Some(Event::Wasm(w)) => {
                            assert!(out.accepted.is_some(), "wasm before Accepted");
                            assert!(!w.is_empty());
                            out.wasm.extend_from_slice(w);
                            out.wasm_events += 1;
                        }
                        None => {}
                    }
                    chunk = &chunk[n..];
                }
                Err(e) => {
                    // Poisoned from now on.
                    assert_eq!(reader.next(&[]).unwrap_err(), PackageError::Poisoned);
                    assert_eq!(reader.next(&[0]).unwrap_err(), PackageError::Poisoned);
                    out.error = Some(e);
                    out.position = reader.position();
                    return out;
                }
            }
        }
    }
    match reader.finish() {
        Ok(v) => out.verified = Some(v),
        Err(e) => out.error = Some(e),
    }
    out.position = reader.position();
    out
}

pub fn run(pkg: &[u8], trust: &TrustPolicy<'_>, max_wasm_len: u32) -> Outcome {
    drive(&mut PackageReader::new(trust, max_wasm_len), [pkg])
}

/// The package split into pieces of the given sizes (cycled).
pub fn chunks<'a>(pkg: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = pkg;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
        i += 1;
    }
    out
}

/// Where the seal (root and signature) starts.
pub fn seal_at(pkg: &[u8]) -> usize {
    HEADER_LEN + u32::from_le_bytes(pkg[8..12].try_into().unwrap()) as usize
}

/// The digest the signature covers: header, manifest and root.
pub fn digest_of(pkg: &[u8]) -> [u8; 32] {
    Sha256::digest(&pkg[..seal_at(pkg) + DIGEST_LEN]).into()
}

/// Signs the package again after the test edited its header or manifest.
pub fn reseal(pkg: &mut [u8], signer: Option<&SigningKey>) {
    let at = seal_at(pkg) + DIGEST_LEN;
    let digest = digest_of(pkg);
    let signature = signer.map_or_else(
        || {
            let mut field = [0; 64];
            field[..32].copy_from_slice(&digest);
            field
        },
        |k| k.sign(&signed_message(&digest)).to_bytes(),
    );
    pkg[at..at + 64].copy_from_slice(&signature);
}

pub fn assert_verified(out: &Outcome, pkg: &[u8], signer: Option<KeyId>) {
    assert_eq!(out.error, None);
    assert_eq!(out.wasm, wasm());
    let accepted = out.accepted.as_ref().expect("accepted");
    assert_eq!(accepted.manifest, manifest());
    assert_eq!(accepted.signer, signer);
    assert_eq!(accepted.header.total_len(), pkg.len() as u64);
    assert_eq!(out.verified, Some(Verified { digest: digest_of(pkg), signer }));
    assert_eq!(out.position, pkg.len() as u64);
}

/// Asserts a refusal that must come before any wasm byte is handed out.
pub fn assert_refused_early(out: &Outcome, expected: &PackageError) {
    assert_eq!(out.error.as_ref(), Some(expected));
    assert_eq!(out.wasm_events, 0, "a wasm byte was handed out before refusing with {expected}");
    assert!(out.accepted.is_none());
    assert!(out.verified.is_none());
}
