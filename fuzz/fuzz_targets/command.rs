//! Arbitrary bytes as a signed management command: parsing and
//! verification never panic, a command that parses encodes back to the
//! same signed bytes, and nothing verifies without the trusted key's
//! signature. Seeds in `fuzz/seeds/command` (written by `cargo run -p
//! akira-ota --features std --example fuzz_seeds`).

#![no_main]

use std::sync::OnceLock;

use akira_caps::Policy;
use akira_ota::command::{Command, COMMAND_LEN};
use akira_ota::package::{Rights, TrustPolicy, TrustedKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    static PUBLIC: OnceLock<[u8; 32]> = OnceLock::new();
    let policy = POLICY.get_or_init(Policy::development);
    let public_key = *PUBLIC.get_or_init(|| ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes());
    let keys = [TrustedKey { name: "fuzz", public_key, policy, rights: Rights::ALL }];
    let trust = TrustPolicy { keys: &keys, ..TrustPolicy::default() };
    if let Ok((command, signer)) = Command::parse(data) {
        assert_eq!(data.len(), COMMAND_LEN);
        assert_eq!(command.signed_bytes(&signer)[..], data[..72], "parse and encode agree");
    }
    let _ = Command::verify(data, &trust, &[1; 8]);
});
