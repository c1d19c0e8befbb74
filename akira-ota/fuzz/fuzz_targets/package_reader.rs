//! Arbitrary bytes as an `.akpkg` stream: the reader must return an error
//! or verify, never panic, and hand out at most the declared wasm bytes.
//! The first byte picks the chunk size, so streaming splits are fuzzed too.
//! Seeds in `fuzz/seeds/package_reader` (a signed and an unsigned
//! package) let the fuzzer start past the header.

#![no_main]

use std::sync::OnceLock;

use akira_caps::Policy;
use akira_ota::package::{Event, PackageReader, TrustPolicy, TrustedKey};
use libfuzzer_sys::fuzz_target;

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::development)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else { return };
    let chunk = usize::from(split).max(1);
    // A fixed trusted key (a valid Ed25519 point: the key of seed [7; 32]),
    // and unsigned packages allowed, so both paths are reachable.
    static PUBLIC: OnceLock<[u8; 32]> = OnceLock::new();
    let public_key = *PUBLIC.get_or_init(|| ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes());
    let keys = [TrustedKey { name: "fuzz", public_key, policy: policy() }];
    let trust = TrustPolicy { keys: &keys, unsigned: Some(policy()) };
    let mut reader = PackageReader::new(&trust, 1 << 20);
    let mut wasm = 0u64;
    let mut declared = None;
    for piece in stream.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            match reader.next(rest) {
                Ok((used, event)) => {
                    match event {
                        Some(Event::Accepted(a)) => declared = Some(u64::from(a.header.wasm_len)),
                        Some(Event::Wasm(bytes)) => {
                            wasm += bytes.len() as u64;
                            assert!(declared.is_some_and(|d| wasm <= d), "wasm before acceptance or beyond its length");
                        }
                        Some(Event::Verified(_)) | None => {}
                    }
                    rest = &rest[used..];
                }
                Err(_) => return,
            }
        }
    }
    let _ = reader.finish();
});
