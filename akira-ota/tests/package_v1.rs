//! The `.akpkg` format 1 (digest and signature after the wasm), read only
//! when the device's trust policy still accepts it.
#![cfg(feature = "alloc")]

mod pkg_fixture;

use akira_ota::package::{
    DIGEST_LEN, FORMAT_V1, HEADER_LEN, Header, PackageError, PackageReader, TRAILER_LEN, TrustPolicy, Verified,
    build_v1, signed_message_v1,
};
use ed25519_dalek::Signer;
use pkg_fixture::*;
use sha2::{Digest, Sha256};

fn digest_v1(pkg: &[u8]) -> [u8; 32] {
    Sha256::digest(&pkg[..pkg.len() - TRAILER_LEN]).into()
}

#[test]
fn format_1_is_refused_at_the_header_unless_the_policy_accepts_it() {
    let w = World::new();
    let keys = w.keys();
    let strict = w.trust(&keys, None);
    let pkg = build_v1(&manifest(), &wasm(), Some(&w.a));
    assert_eq!(Header::parse(pkg[..HEADER_LEN].try_into().unwrap()).unwrap().format, FORMAT_V1);
    let out = run(&pkg, &strict, 4096);
    assert_eq!(out.error, Some(PackageError::FormatRefused(1)));
    assert_eq!(out.wasm_events, 0);
    assert_eq!(run(&pkg[..HEADER_LEN], &strict, 4096).error, Some(PackageError::FormatRefused(1)));
    assert_eq!(
        PackageError::FormatRefused(1).to_string(),
        "package format 1 is refused by this device's trust policy (repack it with a newer akira)"
    );

    let legacy = TrustPolicy { accept_v1: true, ..strict };
    for (pkg, signer) in [(pkg.clone(), Some(id_of(&w.a))), (build_v1(&manifest(), &wasm(), None), None)] {
        let trust = TrustPolicy { unsigned: Some(&w.dev), ..legacy };
        for pieces in [vec![&pkg[..]], pkg.chunks(1).collect(), pkg.chunks(37).collect()] {
            let out = drive(&mut PackageReader::new(&trust, 4096), pieces);
            assert_eq!(out.error, None);
            assert_eq!(out.wasm, wasm());
            assert_eq!(out.verified, Some(Verified { digest: digest_v1(&pkg), signer }));
        }
    }
}

#[test]
fn format_1_authenticates_only_at_the_end() {
    let w = World::new();
    let keys = w.keys();
    let trust = TrustPolicy { accept_v1: true, ..w.trust(&keys, None) };
    let pkg = build_v1(&manifest(), &wasm(), Some(&w.a));
    let body = pkg.len() - TRAILER_LEN;
    // A flipped wasm bit: every byte was handed out before the digest said no.
    let mut corrupt = pkg.clone();
    corrupt[body - 1] ^= 0x10;
    let out = run(&corrupt, &trust, 4096);
    assert_eq!(out.error, Some(PackageError::BadDigest));
    assert_eq!(out.wasm.len(), wasm().len());
    assert!(out.verified.is_none());
    // A bad signature, and a format-2 signature over the right digest.
    let mut sig = pkg.clone();
    sig[body + 40] ^= 1;
    assert_eq!(run(&sig, &trust, 4096).error, Some(PackageError::BadSignature));
    let mut v2_context = pkg.clone();
    let digest = digest_v1(&pkg);
    let signature = w.a.sign(&akira_ota::package::signed_message(&digest)).to_bytes();
    v2_context[body + DIGEST_LEN..].copy_from_slice(&signature);
    assert_eq!(run(&v2_context, &trust, 4096).error, Some(PackageError::BadSignature));
    // The right one verifies.
    let mut resigned = pkg.clone();
    resigned[body + DIGEST_LEN..].copy_from_slice(&w.a.sign(&signed_message_v1(&digest)).to_bytes());
    assert_eq!(resigned, pkg);
    // Every flipped bit is caught, if only at the end.
    for i in 0..pkg.len() {
        let mut bad = pkg.clone();
        bad[i] ^= 1 << (i % 8);
        let out = run(&bad, &trust, 4096);
        assert!(out.verified.is_none() && out.error.is_some(), "byte {i}");
    }
}
