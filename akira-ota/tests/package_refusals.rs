//! The `.akpkg` format 2: every way a package is refused, and the rights
//! it is read under.
#![cfg(feature = "alloc")]

mod pkg_fixture;

use akira_caps::{ABI_VERSION, GrantError, ManifestError};
use akira_ota::package::{
    DIGEST_LEN, HEADER_LEN, MAX_MANIFEST_LEN, PackageError, PackageReader, Rights, TrustPolicy, TrustedKey, build,
    key_id, signed_message,
};
use ed25519_dalek::Signer;
use pkg_fixture::*;

// -------------------------------------------------------------- rejections

#[test]
fn wrong_key_is_a_bad_signature() {
    // Signed by A, the header claims trusted key B: B's key does not verify.
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, None);
    // B's policy is log only: use a manifest it grants.
    let mut m = manifest();
    m.capabilities.gpio = None;
    let mut pkg_b = package(&m, Some(&w.a));
    pkg_b[16..24].copy_from_slice(&id_of(&w.b));
    reseal(&mut pkg_b, Some(&w.a));
    assert_refused_early(&run(&pkg_b, &trust, 4096), &PackageError::BadSignature);
    // A signature from someone else over the right digest.
    let mut forged = package(&manifest(), Some(&w.a));
    let at = seal_at(&forged) + DIGEST_LEN;
    let digest = digest_of(&forged);
    forged[at..at + 64].copy_from_slice(&w.stranger.sign(&signed_message(&digest)).to_bytes());
    assert_refused_early(&run(&forged, &trust, 4096), &PackageError::BadSignature);
    // Signature without the context prefix, or with format 1's.
    for message in [digest.to_vec(), akira_ota::package::signed_message_v1(&digest).to_vec()] {
        let mut raw = package(&manifest(), Some(&w.a));
        raw[at..at + 64].copy_from_slice(&w.a.sign(&message).to_bytes());
        assert_refused_early(&run(&raw, &trust, 4096), &PackageError::BadSignature);
    }
}

#[test]
fn unknown_key() {
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, Some(&w.dev));
    let pkg = package(&manifest(), Some(&w.stranger));
    let out = run(&pkg, &trust, 4096);
    assert_refused_early(&out, &PackageError::UnknownKey(id_of(&w.stranger)));
    assert_eq!(run(&pkg[..HEADER_LEN], &trust, 4096).error, out.error, "refused at the header");
    let id = id_of(&w.stranger);
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(out.error.unwrap().to_string(), format!("package signed by unknown key {hex}"));
    // A device that trusts no one refuses every signed package.
    let nobody = TrustPolicy::default();
    assert_refused_early(
        &run(&package(&manifest(), Some(&w.a)), &nobody, 4096),
        &PackageError::UnknownKey(id_of(&w.a)),
    );
}

#[test]
fn a_key_without_the_install_right_is_refused_at_the_header() {
    let w = World::new();
    let keys = [TrustedKey { name: "ops", public_key: public(&w.a), policy: &w.policy, rights: Rights::REMOVE }];
    let trust = w.trust(&keys, None);
    let pkg = package(&manifest(), Some(&w.a));
    assert_refused_early(&run(&pkg, &trust, 4096), &PackageError::MayNotInstall(id_of(&w.a)));
    assert_refused_early(&run(&pkg[..HEADER_LEN], &trust, 4096), &PackageError::MayNotInstall(id_of(&w.a)));
}

#[test]
fn without_a_validator_only_trusted_signers_get_past_the_header() {
    let w = World::new();
    let rights = Rights::INSTALL | Rights::SKIP_VALIDATION;
    let keys = [
        TrustedKey { name: "firmware", public_key: public(&w.a), policy: &w.policy, rights },
        TrustedKey { name: "ci", public_key: public(&w.b), policy: &w.dev, rights: Rights::OWNER },
    ];
    let trust = w.trust(&keys, Some(&w.dev));
    let reader = || PackageReader::new(&trust, 4096).without_validator();
    let pkg = package(&manifest(), Some(&w.a));
    let out = drive(&mut reader(), [&pkg[..]]);
    assert_verified(&out, &pkg, Some(id_of(&w.a)));
    assert!(out.accepted.unwrap().rights.contains(Rights::SKIP_VALIDATION));
    for other in [package(&manifest(), Some(&w.b)), package(&manifest(), None)] {
        assert_refused_early(&drive(&mut reader(), [&other[..]]), &PackageError::NeedsValidation);
        assert_refused_early(&drive(&mut reader(), [&other[..HEADER_LEN]]), &PackageError::NeedsValidation);
    }
    // With a validator, both are read.
    assert_eq!(run(&package(&manifest(), Some(&w.b)), &trust, 4096).error, None);
}

#[test]
fn invalid_trusted_key_is_reported_before_writing() {
    let w = World::new();
    // Not a point on the curve (y = 2 has no x).
    let mut bogus = [0u8; 32];
    bogus[0] = 2;
    assert!(ed25519_dalek::VerifyingKey::from_bytes(&bogus).is_err());
    let keys = [TrustedKey { name: "broken", public_key: bogus, policy: &w.dev, rights: Rights::INSTALL }];
    let trust = w.trust(&keys, None);
    let mut pkg = package(&manifest(), Some(&w.a));
    pkg[16..24].copy_from_slice(&key_id(&bogus));
    reseal(&mut pkg, Some(&w.a));
    assert_refused_early(&run(&pkg, &trust, 4096), &PackageError::InvalidTrustedKey(key_id(&bogus)));
}

#[test]
fn unsigned_needs_a_development_policy() {
    let w = World::new();
    let keys = w.keys();
    let pkg = package(&manifest(), None);
    let strict = w.trust(&keys, None);
    assert_refused_early(&run(&pkg, &strict, 4096), &PackageError::UnsignedRefused);

    // Accepted with one, granted under it.
    let dev = w.trust(&keys, Some(&w.policy));
    assert_verified(&run(&pkg, &dev, 4096), &pkg, None);
    let narrow = w.trust(&keys, Some(&w.narrow));
    let out = run(&pkg, &narrow, 4096);
    assert!(matches!(out.error, Some(PackageError::Grant(GrantError::BeyondPolicy(ref b))) if b.capability == "gpio"));
    assert_eq!(out.wasm_events, 0);

    // An unsigned package carries no key id and no signature.
    let mut named = pkg.clone();
    named[16] = 1;
    assert_refused_early(&run(&named, &dev, 4096), &PackageError::UnsignedWithKeyId);
    let mut with_sig = pkg.clone();
    with_sig[seal_at(&pkg) + DIGEST_LEN + 5] = 1;
    assert_refused_early(&run(&with_sig, &dev, 4096), &PackageError::BadSignature);
}

#[test]
fn capability_beyond_the_signers_policy() {
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, None);
    // Key A allows output pins 0-3: pin 7 is refused, by name.
    let out = run(&package(&manifest_with_pin(7), Some(&w.a)), &trust, 4096);
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
    let out = run(&package(&manifest(), Some(&w.b)), &trust, 4096);
    assert_eq!(
        out.error.as_ref().map(ToString::to_string).as_deref(),
        Some("capability `gpio` is not allowed by the device policy")
    );
    // Resource limits are the signer's too.
    let mut hungry = manifest();
    hungry.memory_limit = 128 * 1024;
    let out = run(&package(&hungry, Some(&w.a)), &trust, 4096);
    assert_refused_early(&out, &PackageError::Grant(GrantError::Memory { asked: 128 * 1024, allowed: 64 * 1024 }));
}

#[test]
fn wrong_abi_and_manifest_errors() {
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, None);
    let mut m = manifest();
    m.abi = ABI_VERSION + 1;
    let out = run(&package(&m, Some(&w.a)), &trust, 4096);
    assert_refused_early(&out, &PackageError::WrongAbi { package: ABI_VERSION + 1, device: ABI_VERSION });
    assert_eq!(
        out.error.unwrap().to_string(),
        format!("package is built for app ABI {}, this firmware provides ABI {ABI_VERSION}", ABI_VERSION + 1)
    );
    // Header and manifest disagree (both signed).
    let mut pkg = package(&m, Some(&w.a));
    pkg[6..8].copy_from_slice(&ABI_VERSION.to_le_bytes());
    reseal(&mut pkg, Some(&w.a));
    assert_refused_early(&run(&pkg, &trust, 4096), &PackageError::ManifestAbiMismatch);
    // A signed manifest that does not decode.
    let mut pkg = package(&manifest(), Some(&w.a));
    pkg[HEADER_LEN] = 9;
    reseal(&mut pkg, Some(&w.a));
    assert_refused_early(&run(&pkg, &trust, 4096), &PackageError::Manifest(ManifestError::UnsupportedFormat(9)));
}

#[test]
fn size_limits() {
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, None);
    let pkg = package(&manifest(), Some(&w.a));
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
    let trust = w.trust(&keys, Some(&w.dev));
    let pkg = package(&manifest(), Some(&w.a));
    let edit = |at: usize, value: u8| {
        let mut p = pkg.clone();
        p[at] = value;
        run(&p, &trust, 4096)
    };
    assert_refused_early(&edit(0, b'X'), &PackageError::BadMagic);
    assert_refused_early(&edit(4, 3), &PackageError::UnsupportedFormat(3));
    // Format 1 has no chunk size: byte 24 is reserved there.
    assert_refused_early(&edit(4, 1), &PackageError::ReservedNotZero);
    assert_refused_early(&edit(5, 0x03), &PackageError::BadFlags);
    assert_refused_early(&edit(5, 0x80), &PackageError::BadFlags);
    assert_refused_early(&edit(24, 5), &PackageError::BadChunkSize(5));
    assert_refused_early(&edit(24, 11), &PackageError::BadChunkSize(11));
    for at in 25..32 {
        assert_refused_early(&edit(at, 1), &PackageError::ReservedNotZero);
    }
    // A valid header change the signature does not cover any more.
    assert_refused_early(&edit(24, 7), &PackageError::BadSignature);
}

#[test]
fn trailing_data() {
    let w = World::new();
    let keys = w.keys();
    let trust = w.trust(&keys, None);
    let pkg = package(&manifest(), Some(&w.a));
    let mut longer = pkg.clone();
    longer.push(0);
    let mut reader = PackageReader::new(&trust, 4096);
    let out = drive(&mut reader, [&longer[..]]);
    // The whole module was handed out; the extra byte is an error.
    assert_eq!(out.wasm, wasm());
    assert_eq!(out.error, Some(PackageError::TrailingData));
    assert_eq!(out.position, pkg.len() as u64);
    assert_eq!(reader.finish(), Err(PackageError::Poisoned));
    // Also when the extra byte arrives in a later piece.
    let out = drive(&mut PackageReader::new(&trust, 4096), [&pkg[..], &[0u8][..]]);
    assert_eq!(out.error, Some(PackageError::TrailingData));
    // An empty piece after the end is fine.
    let mut reader = PackageReader::new(&trust, 4096);
    assert_eq!(drive(&mut reader, [&pkg[..]]).error, None);
    assert!(matches!(reader.next(&[]), Ok((0, None))));
    assert!(reader.is_done() && reader.finish().is_ok());
}

#[test]
fn messages_read_well() {
    let cases = [
        (PackageError::BadMagic, "not an Akira package (bad magic)"),
        (PackageError::UnsupportedFormat(3), "package format 3 is not supported (this firmware reads formats 1 to 2)"),
        (
            PackageError::UnknownKey([0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x7a, 0x8b]),
            "package signed by unknown key 1a2b3c4d5e6f7a8b",
        ),
        (PackageError::UnsignedRefused, "package is unsigned and this device accepts only signed packages"),
        (
            PackageError::BadChunk { index: 3 },
            "package is corrupt or tampered with: wasm chunk 3 does not match its signed hash",
        ),
        (PackageError::TrailingData, "unexpected bytes after the end of the package"),
        (PackageError::ManifestTooLong(4000), "manifest is 4000 bytes, at most 2048 are allowed"),
    ];
    for (error, text) in cases {
        assert_eq!(error.to_string(), text);
    }
    let e: &dyn core::error::Error = &PackageError::BadSignature;
    assert_eq!(e.to_string(), "package signature is not valid");
}
