//! Arbitrary bytes as an `.akpkg` stream: the reader must return an error
//! or verify, never panic, hand out at most the declared wasm bytes, and
//! (format 2) hand them out only in whole verified chunks. The first byte
//! picks the piece size, so streaming splits are fuzzed too; the second
//! whether the reader runs as on a firmware without a validator. Seeds in
//! `fuzz/seeds/package_reader` (signed and unsigned packages in both
//! formats, written by `cargo run -p akira-ota --features std --example
//! fuzz_seeds`) let the fuzzer start past the header.

#![no_main]

use std::sync::OnceLock;

use akira_caps::Policy;
use akira_ota::package::{Event, PackageReader, Rights, TrustPolicy, TrustedKey};
use libfuzzer_sys::fuzz_target;

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::development)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else { return };
    let Some((&mode, stream)) = rest.split_first() else { return };
    let chunk = usize::from(split).max(1);
    // A fixed trusted key (a valid Ed25519 point: the key of seed [7; 32])
    // with every right, unsigned packages and format 1 allowed, so every
    // path is reachable.
    static PUBLIC: OnceLock<[u8; 32]> = OnceLock::new();
    let public_key = *PUBLIC.get_or_init(|| ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes());
    let keys = [TrustedKey { name: "fuzz", public_key, policy: policy(), rights: Rights::ALL }];
    let trust = TrustPolicy { keys: &keys, unsigned: Some(policy()), accept_v1: true, list_needs_signature: false };
    let mut reader = PackageReader::new(&trust, 1 << 20);
    if mode & 1 == 1 {
        reader = reader.without_validator();
    }
    let mut wasm = 0u64;
    let mut declared = None;
    for piece in stream.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            match reader.next(rest) {
                Ok((used, event)) => {
                    match event {
                        Some(Event::Accepted(a)) => {
                            declared = Some((u64::from(a.header.wasm_len), a.header.format, a.header.chunk_len()))
                        }
                        Some(Event::Wasm(bytes)) => {
                            wasm += bytes.len() as u64;
                            let Some((len, format, chunk_len)) = declared else { panic!("wasm before acceptance") };
                            assert!(wasm <= len, "wasm beyond its declared length");
                            if format == 2 {
                                assert!(
                                    bytes.len() as u32 == chunk_len || wasm == len,
                                    "format 2 hands out whole chunks only"
                                );
                            }
                        }
                        None => {}
                    }
                    rest = &rest[used..];
                }
                Err(_) => return,
            }
        }
    }
    if reader.finish().is_ok() {
        assert_eq!(Some(wasm), declared.map(|d| d.0), "verified, yet not every wasm byte was handed out");
    }
});
