//! Native crypto and randomness from an app: checks an Ed25519 signature
//! (RFC 8032, test 2) and refuses a tampered message, then answers a
//! random challenge with an HMAC-SHA-256, as a device proving it holds a
//! key would. Exits with 0 when every result is as expected.
#![no_std]

use akira_app::{crypto, error, info, rng};

const PUBLIC_KEY: [u8; 32] = hex32("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
const MESSAGE: [u8; 1] = [0x72];
const SIGNATURE: [u8; 64] = hex64(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
);

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not hex"),
    }
}

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn hex64(s: &str) -> [u8; 64] {
    let b = s.as_bytes();
    let mut out = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

fn run() -> akira_app::Result<i32> {
    let valid = crypto::ed25519_verify(&PUBLIC_KEY, &MESSAGE, &SIGNATURE)?;
    let tampered = crypto::ed25519_verify(&PUBLIC_KEY, b"s", &SIGNATURE)?;
    info!("signature of the message: {}; of another: {}", ok(valid), ok(tampered));
    if !valid || tampered {
        error!("Ed25519 verification is wrong");
        return Ok(1);
    }

    let mut challenge = [0u8; 16];
    rng::fill(&mut challenge)?;
    let response = crypto::hmac_sha256(b"device secret", &challenge)?;
    let again = crypto::hmac_sha256(b"device secret", &challenge)?;
    let [a, b, c, d, ..] = response;
    info!("challenge answered: {a:02x}{b:02x}{c:02x}{d:02x}...");
    if !crypto::constant_time_eq(&response, &again) {
        return Ok(2);
    }
    let digest = crypto::sha256(b"abc")?;
    info!("sha256(\"abc\") starts {:02x}{:02x}", digest[0], digest[1]);
    Ok(if digest[..2] == [0xba, 0x78] { 0 } else { 3 })
}

fn ok(valid: bool) -> &'static str {
    if valid { "valid" } else { "invalid" }
}

fn main() -> i32 {
    run().unwrap_or_else(|e| e.code())
}

akira_app::main!(main);
