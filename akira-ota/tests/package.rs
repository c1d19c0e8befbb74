//! The `.akpkg` format: building, streaming verification and every way a
//! package is refused.
#![cfg(feature = "alloc")]

use akira_caps::scope::GpioScope;
use akira_caps::sets::PinSet;
use akira_caps::{ABI_VERSION, GrantError, Manifest, ManifestError, Policy, Version, manifest::AppName};
use akira_ota::package::{
    Accepted, DIGEST_LEN, Event, HEADER_LEN, Header, KeyId, MAGIC, MAX_MANIFEST_LEN, PackageError, PackageReader,
    TRAILER_LEN, TrustPolicy, TrustedKey, Verified, build, key_id, signed_message,
};
use ed25519_dalek::{Signer, SigningKey};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- fixtures

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public(key: &SigningKey) -> [u8; 32] {
    key.verifying_key().to_bytes()
}

fn id_of(key: &SigningKey) -> KeyId {
    key_id(&public(key))
}

/// A policy allowing log, gpio output pins 0-3, 64 KiB and 10⁶ fuel.
fn signer_policy() -> Policy {
    let mut p = Policy::deny_all();
    p.allow.log = true;
    p.allow.gpio = Some(GpioScope::new(PinSet::EMPTY, (0..4).collect(), PinSet::EMPTY));
    p.max_memory = 64 * 1024;
    p.max_cpu_budget = 1_000_000;
    p
}

/// Allows log only: narrower than what `manifest()` asks for.
fn log_only_policy() -> Policy {
    let mut p = signer_policy();
    p.allow.gpio = None;
    p
}

/// Asks for log and output pin `pin`.
fn manifest_with_pin(pin: u32) -> Manifest {
    let mut m = Manifest::new(AppName::try_from("blinky").unwrap(), Version::new(1, 2, 3));
    m.capabilities.log = true;
    m.capabilities.gpio = Some(GpioScope::new(PinSet::EMPTY, [pin].into_iter().collect(), PinSet::EMPTY));
    m.memory_limit = 16 * 1024;
    m.cpu_budget = 100_000;
    m
}

fn manifest() -> Manifest {
    manifest_with_pin(2)
}

fn wasm() -> Vec<u8> {
    let mut w = b"\0asm\x01\0\0\0".to_vec();
    w.extend((0u8..40).map(|i| i.wrapping_mul(37)));
    w
}

/// Fixed keys, policies and trust lists for one test.
struct World {
    a: SigningKey,
    b: SigningKey,
    stranger: SigningKey,
    policy: Policy,
    dev: Policy,
    narrow: Policy,
}

impl World {
    fn new() -> World {
        World {
            a: key(1),
            b: key(2),
            stranger: key(3),
            policy: signer_policy(),
            dev: Policy::development(),
            narrow: log_only_policy(),
        }
    }

    fn keys(&self) -> [TrustedKey<'_>; 2] {
        [
            TrustedKey { name: "release", public_key: public(&self.a), policy: &self.policy },
            TrustedKey { name: "ci", public_key: public(&self.b), policy: &self.narrow },
        ]
    }
}

// ------------------------------------------------------------ the driver

#[derive(Debug, Default)]
struct Outcome {
    accepted: Option<Accepted>,
    wasm: Vec<u8>,
    wasm_events: usize,
    verified: Option<Verified>,
    /// The first error, from `next` or (input used up) from `finish`.
    error: Option<PackageError>,
    position: u64,
}

/// Feeds `chunks` one by one, checking the reader's contract on the way:
/// progress on every call, `None` only when everything was consumed,
/// Accepted first, Wasm only after Accepted, Verified last.
fn drive<'a>(reader: &mut PackageReader<'_>, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    drive_from(reader, chunks, Outcome::default())
}

/// [`drive`], continuing a transfer that produced `out` so far.
fn drive_from<'a>(
    reader: &mut PackageReader<'_>,
    chunks: impl IntoIterator<Item = &'a [u8]>,
    mut out: Outcome,
) -> Outcome {
    out.error = None;
    for mut chunk in chunks {
        while !chunk.is_empty() {
            match reader.next(chunk) {
                Ok((n, event)) => {
                    assert!(n > 0 && n <= chunk.len(), "consumed {n} of {}", chunk.len());
                    if event.is_none() {
                        assert_eq!(n, chunk.len(), "None must mean everything was consumed");
                    }
                    assert!(out.verified.is_none(), "event after Verified");
                    match event {
                        Some(Event::Accepted(a)) => {
                            assert!(out.accepted.is_none() && out.wasm_events == 0, "Accepted out of order");
                            out.accepted = Some(a);
                        }
                        Some(Event::Wasm(w)) => {
                            assert!(out.accepted.is_some(), "wasm before Accepted");
                            assert!(!w.is_empty());
                            out.wasm.extend_from_slice(w);
                            out.wasm_events += 1;
                        }
                        Some(Event::Verified(v)) => {
                            assert!(out.accepted.is_some());
                            assert!(reader.is_done());
                            out.verified = Some(v);
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
    out.error = reader.finish().err();
    out.position = reader.position();
    out
}

fn run(pkg: &[u8], trust: &TrustPolicy<'_>, max_wasm_len: u32) -> Outcome {
    drive(&mut PackageReader::new(trust, max_wasm_len), [pkg])
}

/// The package split into pieces of the given sizes (cycled).
fn chunks<'a>(pkg: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
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

/// Recomputes digest and signature after the test edited the package.
fn reseal(pkg: &mut [u8], signer: Option<&SigningKey>) {
    let body = pkg.len() - TRAILER_LEN;
    let digest: [u8; 32] = Sha256::digest(&pkg[..body]).into();
    pkg[body..body + DIGEST_LEN].copy_from_slice(&digest);
    let signature = signer.map_or([0; 64], |k| k.sign(&signed_message(&digest)).to_bytes());
    pkg[body + DIGEST_LEN..].copy_from_slice(&signature);
}

fn digest_of(pkg: &[u8]) -> [u8; 32] {
    Sha256::digest(&pkg[..pkg.len() - TRAILER_LEN]).into()
}

fn assert_verified(out: &Outcome, pkg: &[u8], signer: Option<KeyId>) {
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
fn assert_refused_early(out: &Outcome, expected: &PackageError) {
    assert_eq!(out.error.as_ref(), Some(expected));
    assert_eq!(out.wasm_events, 0, "a wasm byte was handed out before refusing with {expected}");
    assert!(out.accepted.is_none());
    assert!(out.verified.is_none());
}

// ------------------------------------------------------------- round trip

#[test]
fn round_trip_signed_and_unsigned() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: Some(&w.dev) };
    let signed = build(&manifest(), &wasm(), Some(&w.a));
    let unsigned = build(&manifest(), &wasm(), None);
    assert_eq!(signed.len(), HEADER_LEN + manifest().encode().len() + wasm().len() + TRAILER_LEN);

    for (pkg, signer) in [(&signed, Some(id_of(&w.a))), (&unsigned, None)] {
        // One slice.
        assert_verified(&run(pkg, &trust, 4096), pkg, signer);
        // Byte by byte.
        let out = drive(&mut PackageReader::new(&trust, 4096), pkg.chunks(1));
        assert_verified(&out, pkg, signer);
        assert_eq!(out.wasm_events, wasm().len());
        // Irregular pieces, straddling every boundary.
        for sizes in [&[3, 7, 1][..], &[31, 2, 64], &[33], &[100, 1], &[95, 97]] {
            assert_verified(&drive(&mut PackageReader::new(&trust, 4096), chunks(pkg, sizes)), pkg, signer);
        }
    }
}

#[test]
fn header_round_trip() {
    let pkg = build(&manifest(), &wasm(), Some(&key(1)));
    let header = Header::parse(pkg[..HEADER_LEN].try_into().unwrap()).unwrap();
    assert!(header.is_signed());
    assert_eq!(header.key_id, Some(id_of(&key(1))));
    assert_eq!(header.abi, ABI_VERSION);
    assert_eq!(header.wasm_len as usize, wasm().len());
    assert_eq!(header.to_bytes()[..], pkg[..HEADER_LEN]);
    assert_eq!(&pkg[..4], &MAGIC);
}

#[test]
fn key_id_is_a_sha256_prefix() {
    let k = key(9);
    let hash = Sha256::digest(public(&k));
    assert_eq!(id_of(&k)[..], hash[..8]);
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    assert_eq!(trust.find(&id_of(&w.b)).map(|k| k.name), Some("ci"));
    assert!(trust.find(&id_of(&w.stranger)).is_none());
}

#[test]
fn a_checkpoint_resumes() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let pkg = build(&manifest(), &wasm(), Some(&w.a));
    for cut in [10, HEADER_LEN + 5, pkg.len() - 50, pkg.len() - 1] {
        let mut reader = PackageReader::new(&trust, 4096);
        let first = drive(&mut reader, [&pkg[..cut]]);
        assert!(first.error == Some(PackageError::Truncated { received: cut as u64 }));
        let mut resumed = reader.clone();
        let rest = drive_from(&mut resumed, [&pkg[cut..]], first);
        assert_verified(&rest, &pkg, Some(id_of(&w.a)));
        // The original reader is untouched by its clone's progress.
        assert_eq!(reader.position(), cut as u64);
        assert!(!reader.is_done());
    }
}

// -------------------------------------------------------------- rejections

#[test]
fn truncated_at_every_length() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: Some(&w.dev) };
    for pkg in [build(&manifest(), &wasm(), Some(&w.a)), build(&manifest(), &wasm(), None)] {
        for cut in 0..pkg.len() {
            for out in
                [run(&pkg[..cut], &trust, 4096), drive(&mut PackageReader::new(&trust, 4096), pkg[..cut].chunks(1))]
            {
                assert!(out.verified.is_none(), "verified when cut at {cut}");
                assert_eq!(out.error, Some(PackageError::Truncated { received: cut as u64 }), "cut at {cut}");
            }
        }
    }
}

#[test]
fn every_flipped_bit_is_caught() {
    let w = World::new();
    let keys = w.keys();
    let with_dev = TrustPolicy { keys: &keys, unsigned: Some(&w.dev) };
    for pkg in [build(&manifest(), &wasm(), Some(&w.a)), build(&manifest(), &wasm(), None)] {
        for i in 0..pkg.len() {
            for bit in 0..8 {
                let mut bad = pkg.clone();
                bad[i] ^= 1 << bit;
                let out = run(&bad, &with_dev, 4096);
                assert!(out.verified.is_none(), "verified with byte {i} bit {bit} flipped");
                assert!(out.error.is_some(), "no error with byte {i} bit {bit} flipped");
                // A corrupt header or manifest is refused before any wasm
                // byte, except where only the digest can tell.
                if i < HEADER_LEN && !(8..16).contains(&i) {
                    assert_eq!(out.wasm_events, 0, "byte {i} bit {bit}: {:?}", out.error);
                }
            }
        }
    }
}

#[test]
fn wrong_key_is_a_bad_signature() {
    // Signed by A, the header claims trusted key B: B's key does not verify.
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    // B's policy is log only: use a manifest it grants.
    let mut m = manifest();
    m.capabilities.gpio = None;
    let mut pkg_b = build(&m, &wasm(), Some(&w.a));
    pkg_b[16..24].copy_from_slice(&id_of(&w.b));
    reseal(&mut pkg_b, Some(&w.a));
    let out = run(&pkg_b, &trust, 4096);
    assert_eq!(out.error, Some(PackageError::BadSignature));
    assert!(out.verified.is_none());
    assert_eq!(out.accepted.map(|a| a.signer), Some(Some(id_of(&w.b))));
    // Untouched digest but a signature from someone else.
    let mut forged = build(&manifest(), &wasm(), Some(&w.a));
    let body = forged.len() - TRAILER_LEN;
    let digest: [u8; 32] = forged[body..body + 32].try_into().unwrap();
    forged[body + 32..].copy_from_slice(&w.stranger.sign(&signed_message(&digest)).to_bytes());
    assert_eq!(run(&forged, &trust, 4096).error, Some(PackageError::BadSignature));
    // Signature without the context prefix.
    let mut raw = build(&manifest(), &wasm(), Some(&w.a));
    raw[body + 32..].copy_from_slice(&w.a.sign(&digest).to_bytes());
    assert_eq!(run(&raw, &trust, 4096).error, Some(PackageError::BadSignature));
}

#[test]
fn unknown_key() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: Some(&w.dev) };
    let pkg = build(&manifest(), &wasm(), Some(&w.stranger));
    let out = run(&pkg, &trust, 4096);
    assert_refused_early(&out, &PackageError::UnknownKey(id_of(&w.stranger)));
    let id = id_of(&w.stranger);
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(out.error.unwrap().to_string(), format!("package signed by unknown key {hex}"));
    // A device that trusts no one refuses every signed package.
    let nobody = TrustPolicy { keys: &[], unsigned: None };
    assert_refused_early(
        &run(&build(&manifest(), &wasm(), Some(&w.a)), &nobody, 4096),
        &PackageError::UnknownKey(id_of(&w.a)),
    );
}

#[test]
fn invalid_trusted_key_is_reported_before_writing() {
    let w = World::new();
    // Not a point on the curve (y = 2 has no x).
    let mut bogus = [0u8; 32];
    bogus[0] = 2;
    assert!(ed25519_dalek::VerifyingKey::from_bytes(&bogus).is_err());
    let keys = [TrustedKey { name: "broken", public_key: bogus, policy: &w.dev }];
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let mut pkg = build(&manifest(), &wasm(), Some(&w.a));
    pkg[16..24].copy_from_slice(&key_id(&bogus));
    reseal(&mut pkg, Some(&w.a));
    assert_refused_early(&run(&pkg, &trust, 4096), &PackageError::InvalidTrustedKey(key_id(&bogus)));
}

#[test]
fn unsigned_needs_a_development_policy() {
    let w = World::new();
    let keys = w.keys();
    let pkg = build(&manifest(), &wasm(), None);
    let strict = TrustPolicy { keys: &keys, unsigned: None };
    assert_refused_early(&run(&pkg, &strict, 4096), &PackageError::UnsignedRefused);

    // Accepted with one, granted under it.
    let dev = TrustPolicy { keys: &keys, unsigned: Some(&w.policy) };
    assert_verified(&run(&pkg, &dev, 4096), &pkg, None);
    let narrow = TrustPolicy { keys: &keys, unsigned: Some(&w.narrow) };
    let out = run(&pkg, &narrow, 4096);
    assert!(matches!(out.error, Some(PackageError::Grant(GrantError::BeyondPolicy(ref b))) if b.capability == "gpio"));
    assert_eq!(out.wasm_events, 0);

    // An unsigned package carries no key id and no signature.
    let mut named = pkg.clone();
    named[16] = 1;
    reseal(&mut named, None);
    assert_refused_early(&run(&named, &dev, 4096), &PackageError::UnsignedWithKeyId);
    let mut with_sig = pkg.clone();
    let last = with_sig.len() - 1;
    with_sig[last] = 1;
    assert_eq!(run(&with_sig, &dev, 4096).error, Some(PackageError::BadSignature));
}

#[test]
fn capability_beyond_the_signers_policy() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    // Key A allows output pins 0-3: pin 7 is refused, by name.
    let pkg = build(&manifest_with_pin(7), &wasm(), Some(&w.a));
    let out = run(&pkg, &trust, 4096);
    let Some(PackageError::Grant(GrantError::BeyondPolicy(ref beyond))) = out.error else {
        panic!("expected a grant error, got {:?}", out.error)
    };
    assert_eq!(beyond.capability, "gpio");
    assert_eq!(out.wasm_events, 0);
    assert_eq!(
        out.error.as_ref().unwrap().to_string(),
        "capability `gpio`: output pin 7 is not allowed by the device policy"
    );
    // The same manifest under key B's (log only) policy: gpio itself is refused.
    let out = run(&build(&manifest(), &wasm(), Some(&w.b)), &trust, 4096);
    assert_eq!(
        out.error.as_ref().map(ToString::to_string).as_deref(),
        Some("capability `gpio` is not allowed by the device policy")
    );
    // Resource limits are the signer's too.
    let mut hungry = manifest();
    hungry.memory_limit = 128 * 1024;
    let out = run(&build(&hungry, &wasm(), Some(&w.a)), &trust, 4096);
    assert_refused_early(&out, &PackageError::Grant(GrantError::Memory { asked: 128 * 1024, allowed: 64 * 1024 }));
}

#[test]
fn wrong_abi() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let mut m = manifest();
    m.abi = ABI_VERSION + 1;
    let out = run(&build(&m, &wasm(), Some(&w.a)), &trust, 4096);
    assert_refused_early(&out, &PackageError::WrongAbi { package: ABI_VERSION + 1, device: ABI_VERSION });
    assert_eq!(
        out.error.unwrap().to_string(),
        format!("package is built for app ABI {}, this firmware provides ABI {ABI_VERSION}", ABI_VERSION + 1)
    );
}

#[test]
fn manifest_abi_mismatch() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let mut m = manifest();
    m.abi = ABI_VERSION + 1;
    let mut pkg = build(&m, &wasm(), Some(&w.a));
    pkg[6..8].copy_from_slice(&ABI_VERSION.to_le_bytes());
    reseal(&mut pkg, Some(&w.a));
    assert_refused_early(&run(&pkg, &trust, 4096), &PackageError::ManifestAbiMismatch);
}

#[test]
fn malformed_manifest() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let mut pkg = build(&manifest(), &wasm(), Some(&w.a));
    // Manifest format byte.
    pkg[HEADER_LEN] = 9;
    reseal(&mut pkg, Some(&w.a));
    assert_refused_early(&run(&pkg, &trust, 4096), &PackageError::Manifest(ManifestError::UnsupportedFormat(9)));
}

#[test]
fn size_limits() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let pkg = build(&manifest(), &wasm(), Some(&w.a));
    let len = wasm().len() as u32;
    assert_verified(&run(&pkg, &trust, len), &pkg, Some(id_of(&w.a)));
    let out = run(&pkg, &trust, len - 1);
    assert_refused_early(&out, &PackageError::WasmTooLarge { len, max: len - 1 });
    assert_eq!(
        out.error.unwrap().to_string(),
        format!("wasm module is {len} bytes, this device takes at most {}", len - 1)
    );

    assert_refused_early(
        &run(&build(&manifest(), &wasm()[..7], Some(&w.a)), &trust, 4096),
        &PackageError::WasmTooShort(7),
    );

    let mut long = pkg.clone();
    long[8..12].copy_from_slice(&(MAX_MANIFEST_LEN as u32 + 1).to_le_bytes());
    assert_refused_early(&run(&long, &trust, 4096), &PackageError::ManifestTooLong(MAX_MANIFEST_LEN as u32 + 1));
    let mut empty = pkg.clone();
    empty[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert_refused_early(&run(&empty, &trust, 4096), &PackageError::Manifest(ManifestError::Malformed));
}

#[test]
fn header_fields() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: Some(&w.dev) };
    let pkg = build(&manifest(), &wasm(), Some(&w.a));
    let edit = |at: usize, value: u8| {
        let mut p = pkg.clone();
        p[at] = value;
        reseal(&mut p, Some(&w.a));
        run(&p, &trust, 4096)
    };
    assert_refused_early(&edit(0, b'X'), &PackageError::BadMagic);
    assert_refused_early(&edit(4, 2), &PackageError::UnsupportedFormat(2));
    assert_refused_early(&edit(5, 0x03), &PackageError::BadFlags);
    assert_refused_early(&edit(5, 0x80), &PackageError::BadFlags);
    for at in 24..32 {
        assert_refused_early(&edit(at, 1), &PackageError::ReservedNotZero);
    }
}

#[test]
fn trailing_data() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let pkg = build(&manifest(), &wasm(), Some(&w.a));
    let mut longer = pkg.clone();
    longer.push(0);
    let mut reader = PackageReader::new(&trust, 4096);
    let out = drive(&mut reader, [&longer[..]]);
    // Verified comes when the package ends; the extra byte is an error.
    assert!(out.verified.is_some());
    assert_eq!(out.error, Some(PackageError::TrailingData));
    assert_eq!(out.position, pkg.len() as u64);
    assert!(reader.is_done());
    assert_eq!(reader.finish(), Err(PackageError::Poisoned));
    // Also when the extra byte arrives in a later piece.
    let mut reader = PackageReader::new(&trust, 4096);
    let out = drive(&mut reader, [&pkg[..], &[0u8][..]]);
    assert_eq!(out.error, Some(PackageError::TrailingData));
    // An empty piece after the end is fine.
    let mut reader = PackageReader::new(&trust, 4096);
    assert_eq!(drive(&mut reader, [&pkg[..]]).error, None);
    assert!(matches!(reader.next(&[]), Ok((0, None))));
    assert_eq!(reader.finish(), Ok(()));
}

#[test]
fn digest_and_signature_errors() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let pkg = build(&manifest(), &wasm(), Some(&w.a));
    let body = pkg.len() - TRAILER_LEN;
    let mut corrupt = pkg.clone();
    corrupt[body - 1] ^= 0x10;
    let out = run(&corrupt, &trust, 4096);
    assert_eq!(out.error, Some(PackageError::BadDigest));
    // The wasm was streamed (the digest can only be checked at the end) but
    // never verified.
    assert_eq!(out.wasm.len(), wasm().len());
    assert!(out.verified.is_none());
    let mut sig = pkg.clone();
    sig[body + 40] ^= 1;
    assert_eq!(run(&sig, &trust, 4096).error, Some(PackageError::BadSignature));
}

#[test]
fn messages_read_well() {
    let cases = [
        (PackageError::BadMagic, "not an Akira package (bad magic)"),
        (PackageError::UnsupportedFormat(3), "package format 3 is not supported (this firmware reads format 1)"),
        (
            PackageError::UnknownKey([0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x7a, 0x8b]),
            "package signed by unknown key 1a2b3c4d5e6f7a8b",
        ),
        (PackageError::UnsignedRefused, "package is unsigned and this device accepts only signed packages"),
        (PackageError::BadDigest, "package is corrupt (digest mismatch)"),
        (PackageError::TrailingData, "unexpected bytes after the end of the package"),
        (PackageError::ManifestTooLong(4000), "manifest is 4000 bytes, at most 2048 are allowed"),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
    let e: &dyn core::error::Error = &PackageError::BadSignature;
    assert_eq!(e.to_string(), "package signature is not valid");
}

#[cfg(feature = "std")]
#[test]
fn generated_keys_sign_packages() {
    let a = akira_ota::package::generate_signing_key().unwrap();
    let b = akira_ota::package::generate_signing_key().unwrap();
    assert_ne!(a.to_bytes(), b.to_bytes());
    let policy = signer_policy();
    let keys = [TrustedKey { name: "fresh", public_key: public(&a), policy: &policy }];
    let trust = TrustPolicy { keys: &keys, unsigned: None };
    let pkg = build(&manifest(), &wasm(), Some(&a));
    assert_verified(&run(&pkg, &trust, 4096), &pkg, Some(id_of(&a)));
}

// ------------------------------------------------------------- properties

fn sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..200, 1..20)
}

proptest! {
    #[test]
    fn any_chunking_round_trips(sizes in sizes(), signed in any::<bool>()) {
        let w = World::new();
        let keys = w.keys();
        let trust = TrustPolicy { keys: &keys, unsigned: Some(&w.dev) };
        let signer = signed.then_some(&w.a);
        let pkg = build(&manifest(), &wasm(), signer);
        let out = drive(&mut PackageReader::new(&trust, 4096), chunks(&pkg, &sizes));
        assert_verified(&out, &pkg, signer.map(id_of));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), sizes in sizes()) {
        let w = World::new();
        let keys = w.keys();
        let trust = TrustPolicy { keys: &keys, unsigned: Some(&w.dev) };
        let out = drive(&mut PackageReader::new(&trust, u32::MAX), chunks(&bytes, &sizes));
        prop_assert!(out.verified.is_none());
    }

    #[test]
    fn arbitrary_header_then_bytes_never_panic(
        header in prop::array::uniform32(any::<u8>()),
        tail in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        // A header with valid magic and version, the rest arbitrary, so the
        // reader gets past the first check.
        let w = World::new();
        let keys = w.keys();
        let trust = TrustPolicy { keys: &keys, unsigned: Some(&w.dev) };
        let mut bytes = header.to_vec();
        bytes[..4].copy_from_slice(&MAGIC);
        bytes[4] = 1;
        bytes.extend(tail);
        let out = run(&bytes, &trust, u32::MAX);
        prop_assert!(out.verified.is_none());
    }

    #[test]
    fn mutated_packages_verify_only_when_unchanged(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let w = World::new();
        let keys = w.keys();
        let trust = TrustPolicy { keys: &keys, unsigned: Some(&w.dev) };
        let pkg = build(&manifest(), &wasm(), Some(&w.a));
        let mut bad = pkg.clone();
        for (at, value) in edits {
            bad[at.index(pkg.len())] = value;
        }
        if truncate {
            bad.truncate(cut.index(pkg.len()));
        }
        let out = run(&bad, &trust, 4096);
        if out.verified.is_some() {
            prop_assert_eq!(&bad, &pkg);
        } else {
            prop_assert!(out.error.is_some());
        }
    }
}

#[test]
fn public_keys_parse_from_hex_at_compile_time() {
    const KEY: [u8; 32] =
        akira_ota::package::public_key_from_hex("  00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n");
    assert_eq!(KEY[0], 0x00);
    assert_eq!(KEY[1], 0x11);
    assert_eq!(KEY[15], 0xff);
    assert_eq!(KEY[31], 0xff);
}
