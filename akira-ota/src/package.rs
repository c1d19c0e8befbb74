//! The `.akpkg` package: an app's manifest and wasm module, with a SHA-256
//! digest and an optional Ed25519 signature (see `docs/package.md`).
//!
//! ```text
//! offset size
//! 0      4   magic "AKPK"
//! 4      1   format version = 1
//! 5      1   flags: bit 0 = signed; other bits must be 0
//! 6      2   abi (u16): akira_caps::ABI_VERSION, and the manifest's abi
//! 8      4   manifest_len (u32), 1..=MAX_MANIFEST_LEN
//! 12     4   wasm_len (u32), >= 8
//! 16     8   key_id: first 8 bytes of SHA-256(signer's public key); zero when unsigned
//! 24     8   reserved, zero
//! 32     manifest_len  the binary manifest
//! ..     wasm_len      the wasm module
//! ..     32  digest = SHA-256 over every byte before it
//! ..     64  signature: Ed25519 over (SIGNATURE_CONTEXT || digest); zero when unsigned
//! ```
//!
//! All integers are little-endian. A device reads a package with
//! [`PackageReader`], which takes bytes as they arrive and never buffers the
//! wasm: it checks the header, the signer against the [`TrustPolicy`], and
//! grants the manifest under that signer's policy before it hands out a
//! single wasm byte ([`Event::Accepted`]), then streams the wasm
//! ([`Event::Wasm`]) and checks digest and signature at the end
//! ([`Event::Verified`]). Nothing written before `Verified` may be committed.
//!
//! Host tools build packages with [`build`] (feature `alloc`).

// `PackageError` carries the manifest or grant error inline, naming the
// culprit; there is no allocator to box it. It is returned once per
// install, never on a hot path.
#![allow(clippy::result_large_err)]

use sha2::{Digest, Sha256};

mod error;
mod reader;

#[cfg(feature = "alloc")]
mod build;

#[cfg(feature = "alloc")]
pub use build::build;
#[cfg(feature = "std")]
pub use build::generate_signing_key;
pub use error::PackageError;
pub use reader::{Accepted, Event, PackageReader, Verified};

/// The first four bytes of every package.
pub const MAGIC: [u8; 4] = *b"AKPK";

/// The package format this crate reads and writes.
pub const FORMAT_VERSION: u8 = 1;

/// Header flag: the package is signed.
pub const FLAG_SIGNED: u8 = 0x01;

/// Length of the fixed header, in bytes.
pub const HEADER_LEN: usize = 32;

/// Length of the trailer (digest and signature), in bytes.
pub const TRAILER_LEN: usize = DIGEST_LEN + SIGNATURE_LEN;

/// Length of the digest (SHA-256), in bytes.
pub const DIGEST_LEN: usize = 32;

/// Length of the signature (Ed25519), in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// Longest binary manifest a package may carry, in bytes.
pub const MAX_MANIFEST_LEN: usize = 2048;

/// Shortest wasm module a package may carry, in bytes (the wasm preamble:
/// magic and version).
pub const MIN_WASM_LEN: u32 = 8;

/// The domain-separation prefix of the signed message: the signature is
/// over `SIGNATURE_CONTEXT || digest`.
pub const SIGNATURE_CONTEXT: &[u8; 16] = b"akira-package-v1";

/// Names a signer: the first 8 bytes of SHA-256 of its Ed25519 public key.
pub type KeyId = [u8; 8];

/// A public key written as 64 hex digits (what `akira keygen` writes to
/// `NAME.pub`), parsed at compile time:
/// `const KEY: [u8; 32] = public_key_from_hex(include_str!("../trusted-key.pub"));`
/// Surrounding whitespace is ignored; anything else than 64 hex digits
/// stops the build.
pub const fn public_key_from_hex(text: &str) -> [u8; 32] {
    const fn digit(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("a public key file holds 64 hex digits"),
        }
    }
    let bytes = text.as_bytes();
    let (mut start, mut end) = (0, bytes.len());
    while start < end && bytes[start].is_ascii_whitespace() {
        start += 1;
    }
    while end > start && bytes[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    assert!(end - start == 64, "a public key file holds 64 hex digits");
    let mut key = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        key[i] = digit(bytes[start + 2 * i]) << 4 | digit(bytes[start + 2 * i + 1]);
        i += 1;
    }
    key
}

/// The [`KeyId`] of an Ed25519 public key.
pub fn key_id(public_key: &[u8; 32]) -> KeyId {
    let hash = Sha256::digest(public_key);
    let mut id = [0; 8];
    id.copy_from_slice(&hash[..8]);
    id
}

/// The message a package's signature covers: [`SIGNATURE_CONTEXT`]
/// followed by the package digest. An offline signer (an HSM, a signing
/// service) signs exactly these 48 bytes with Ed25519.
pub fn signed_message(digest: &[u8; DIGEST_LEN]) -> [u8; 48] {
    let mut message = [0; 48];
    message[..16].copy_from_slice(SIGNATURE_CONTEXT);
    message[16..].copy_from_slice(digest);
    message
}

/// Writes `id` as 16 lowercase hex digits.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl core::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A signer the device trusts, and what apps it signs may be granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TrustedKey<'a> {
    /// A name for logs and diagnostics (`release`, `acme-ci`).
    pub name: &'a str,
    /// The signer's Ed25519 public key.
    pub public_key: [u8; 32],
    /// The most an app signed by this key may be granted.
    pub policy: &'a akira_caps::Policy,
}

impl TrustedKey<'_> {
    /// This key's [`KeyId`].
    pub fn id(&self) -> KeyId {
        key_id(&self.public_key)
    }
}

/// Whom a device trusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TrustPolicy<'a> {
    /// The trusted signers, each with its own policy.
    pub keys: &'a [TrustedKey<'a>],
    /// Development only: accept unsigned packages, granting at most this policy.
    pub unsigned: Option<&'a akira_caps::Policy>,
}

impl<'a> TrustPolicy<'a> {
    /// The trusted key whose [`key_id`] is `id` (the first, should two keys
    /// share an id).
    pub fn find(&self, id: &KeyId) -> Option<&'a TrustedKey<'a>> {
        self.keys.iter().find(|k| k.id() == *id)
    }
}

/// A package's fixed header, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// Header flags: only [`FLAG_SIGNED`] is defined.
    pub flags: u8,
    /// The app ABI the package is built for.
    pub abi: u16,
    /// Length of the binary manifest, in bytes.
    pub manifest_len: u32,
    /// Length of the wasm module, in bytes.
    pub wasm_len: u32,
    /// The signer's [`KeyId`]; `None` when the package is unsigned.
    pub key_id: Option<KeyId>,
}

impl Header {
    /// Reads and validates a header: magic, format version, flags,
    /// reserved bytes, ABI (must be [`akira_caps::ABI_VERSION`]), lengths,
    /// and that an unsigned package names no key.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Header, PackageError> {
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        if bytes[..4] != MAGIC {
            return Err(PackageError::BadMagic);
        }
        if bytes[4] != FORMAT_VERSION {
            return Err(PackageError::UnsupportedFormat(bytes[4]));
        }
        let flags = bytes[5];
        if flags & !FLAG_SIGNED != 0 {
            return Err(PackageError::BadFlags);
        }
        if bytes[24..32].iter().any(|b| *b != 0) {
            return Err(PackageError::ReservedNotZero);
        }
        let abi = u16_at(6);
        if abi != akira_caps::ABI_VERSION {
            return Err(PackageError::WrongAbi { package: abi, device: akira_caps::ABI_VERSION });
        }
        let manifest_len = u32_at(8);
        if manifest_len == 0 {
            return Err(PackageError::Manifest(akira_caps::ManifestError::Malformed));
        }
        if manifest_len as usize > MAX_MANIFEST_LEN {
            return Err(PackageError::ManifestTooLong(manifest_len));
        }
        let wasm_len = u32_at(12);
        if wasm_len < MIN_WASM_LEN {
            return Err(PackageError::WasmTooShort(wasm_len));
        }
        let mut id = [0; 8];
        id.copy_from_slice(&bytes[16..24]);
        let key_id = if flags & FLAG_SIGNED != 0 {
            Some(id)
        } else if id != [0; 8] {
            return Err(PackageError::UnsignedWithKeyId);
        } else {
            None
        };
        Ok(Header { flags, abi, manifest_len, wasm_len, key_id })
    }

    /// The header's bytes. [`Header::parse`] reads them back if the fields
    /// are valid.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[..4].copy_from_slice(&MAGIC);
        out[4] = FORMAT_VERSION;
        out[5] = self.flags;
        out[6..8].copy_from_slice(&self.abi.to_le_bytes());
        out[8..12].copy_from_slice(&self.manifest_len.to_le_bytes());
        out[12..16].copy_from_slice(&self.wasm_len.to_le_bytes());
        out[16..24].copy_from_slice(&self.key_id.unwrap_or_default());
        out
    }

    /// Whether the package is signed.
    pub fn is_signed(&self) -> bool {
        self.flags & FLAG_SIGNED != 0
    }

    /// Length of the whole package, in bytes: header, manifest, wasm and
    /// trailer.
    pub fn total_len(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.manifest_len) + u64::from(self.wasm_len) + TRAILER_LEN as u64
    }
}
