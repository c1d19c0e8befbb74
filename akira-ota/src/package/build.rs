//! Building packages on the host.

use alloc::vec::Vec;

use akira_caps::Manifest;
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

use super::{FLAG_SIGNED, HEADER_LEN, Header, SIGNATURE_LEN, TRAILER_LEN, key_id, signed_message};

/// Builds a package from a manifest and the wasm module that carries it,
/// signed by `signer` or unsigned.
///
/// The header's ABI is the manifest's. Nothing is checked here: a manifest
/// whose encoding is longer than [`MAX_MANIFEST_LEN`](super::MAX_MANIFEST_LEN),
/// a module shorter than [`MIN_WASM_LEN`](super::MIN_WASM_LEN) or a
/// manifest for another ABI gives a package every device refuses, with the
/// reason.
pub fn build(manifest: &Manifest, wasm: &[u8], signer: Option<&SigningKey>) -> Vec<u8> {
    let encoded = manifest.encode();
    // Lengths beyond u32 cannot be represented; saturating gives a package
    // the device refuses rather than a silently different one.
    let len32 = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
    let header = Header {
        flags: if signer.is_some() { FLAG_SIGNED } else { 0 },
        abi: manifest.abi,
        manifest_len: len32(encoded.len()),
        wasm_len: len32(wasm.len()),
        key_id: signer.map(|k| key_id(&k.verifying_key().to_bytes())),
    };
    let mut out = Vec::with_capacity(HEADER_LEN + encoded.len() + wasm.len() + TRAILER_LEN);
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(&encoded);
    out.extend_from_slice(wasm);
    let digest: [u8; 32] = Sha256::digest(&out).into();
    out.extend_from_slice(&digest);
    let signature = match signer {
        Some(key) => key.sign(&signed_message(&digest)).to_bytes(),
        None => [0; SIGNATURE_LEN],
    };
    out.extend_from_slice(&signature);
    out
}

/// A new Ed25519 signing key from the operating system's random source.
///
/// Keep its 32 bytes ([`SigningKey::to_bytes`]) secret; give devices
/// `signing_key.verifying_key().to_bytes()`.
#[cfg(feature = "std")]
pub fn generate_signing_key() -> Result<SigningKey, getrandom::Error> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)?;
    let key = SigningKey::from_bytes(&seed);
    // Best effort only (the compiler may elide it): the seed is the secret key.
    seed.fill(0);
    Ok(key)
}
