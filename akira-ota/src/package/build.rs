//! Building packages on the host.

use alloc::vec;
use alloc::vec::Vec;

use akira_caps::Manifest;
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

use super::{
    DEFAULT_CHUNK_LOG2, DIGEST_LEN, FLAG_SIGNED, FORMAT_V1, FORMAT_VERSION, HEADER_LEN, Header, SEAL_LEN,
    SIGNATURE_LEN, key_id, signed_message, signed_message_v1,
};

/// Builds a format-2 package from a manifest and the wasm module that
/// carries it, signed by `signer` or unsigned, in chunks of 1 KiB
/// ([`DEFAULT_CHUNK_LOG2`]).
///
/// The header's ABI is the manifest's. Nothing is checked here: a manifest
/// whose encoding is longer than [`MAX_MANIFEST_LEN`](super::MAX_MANIFEST_LEN),
/// a module shorter than [`MIN_WASM_LEN`](super::MIN_WASM_LEN) or a
/// manifest for another ABI gives a package every device refuses, with the
/// reason. `akira pack` validates the module first: with the
/// skip-validation right, a device trusts the signer to have done so.
pub fn build(manifest: &Manifest, wasm: &[u8], signer: Option<&SigningKey>) -> Vec<u8> {
    build_chunked(manifest, wasm, signer, DEFAULT_CHUNK_LOG2)
}

/// [`build`] with chunks of `1 << chunk_log2` bytes (devices take
/// [`MIN_CHUNK_LOG2`](super::MIN_CHUNK_LOG2) to
/// [`MAX_CHUNK_LOG2`](super::MAX_CHUNK_LOG2)).
pub fn build_chunked(manifest: &Manifest, wasm: &[u8], signer: Option<&SigningKey>, chunk_log2: u8) -> Vec<u8> {
    let encoded = manifest.encode();
    let header = header(FORMAT_VERSION, manifest, encoded.len(), wasm.len(), signer, chunk_log2);
    let chunk_len = header.chunk_len() as usize;
    // The chain, from the last chunk back: h(i) = SHA-256(chunk(i) || h(i + 1)).
    let chunks: Vec<&[u8]> = wasm.chunks(chunk_len).collect();
    let mut links = vec![[0u8; DIGEST_LEN]; chunks.len()];
    for i in (0..chunks.len()).rev() {
        let mut hasher = Sha256::new();
        hasher.update(chunks[i]);
        if let Some(next) = links.get(i + 1) {
            hasher.update(next);
        }
        links[i] = hasher.finalize().into();
    }
    let root = links.first().copied().unwrap_or_default();
    let mut out = Vec::with_capacity(header.total_len() as usize);
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(&encoded);
    out.extend_from_slice(&root);
    let digest: [u8; 32] = Sha256::digest(&out).into();
    match signer {
        Some(key) => out.extend_from_slice(&key.sign(&signed_message(&digest)).to_bytes()),
        // Unsigned: the digest (against corruption in transit) and zeros.
        None => {
            out.extend_from_slice(&digest);
            out.extend_from_slice(&[0; SIGNATURE_LEN - DIGEST_LEN]);
        }
    }
    for (i, chunk) in chunks.iter().enumerate() {
        out.extend_from_slice(chunk);
        if let Some(next) = links.get(i + 1) {
            out.extend_from_slice(next);
        }
    }
    out
}

/// Builds a package in format 1: the wasm is followed by the SHA-256 of
/// everything before it and the signature, so a device can authenticate it
/// only after its last byte. Devices take it only when their trust policy
/// says [`accept_v1`](super::TrustPolicy::accept_v1); use [`build`].
pub fn build_v1(manifest: &Manifest, wasm: &[u8], signer: Option<&SigningKey>) -> Vec<u8> {
    let encoded = manifest.encode();
    let header = header(FORMAT_V1, manifest, encoded.len(), wasm.len(), signer, 0);
    let mut out = Vec::with_capacity(HEADER_LEN + encoded.len() + wasm.len() + SEAL_LEN);
    out.extend_from_slice(&header.to_bytes());
    out.extend_from_slice(&encoded);
    out.extend_from_slice(wasm);
    let digest: [u8; 32] = Sha256::digest(&out).into();
    out.extend_from_slice(&digest);
    let signature = signer.map_or([0; SIGNATURE_LEN], |key| key.sign(&signed_message_v1(&digest)).to_bytes());
    out.extend_from_slice(&signature);
    out
}

fn header(
    format: u8,
    manifest: &Manifest,
    manifest_len: usize,
    wasm_len: usize,
    signer: Option<&SigningKey>,
    chunk_log2: u8,
) -> Header {
    // Lengths beyond u32 cannot be represented; saturating gives a package
    // the device refuses rather than a silently different one.
    let len32 = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
    Header {
        format,
        flags: if signer.is_some() { FLAG_SIGNED } else { 0 },
        abi: manifest.abi,
        manifest_len: len32(manifest_len),
        wasm_len: len32(wasm_len),
        key_id: signer.map(|k| key_id(&k.verifying_key().to_bytes())),
        chunk_log2,
    }
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
