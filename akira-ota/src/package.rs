//! The `.akpkg` package: an app's manifest and wasm module, signed, with
//! integrity data for every chunk of the wasm (see `docs/package.md`).
//!
//! Format 2 (what [`build`] writes):
//!
//! ```text
//! offset size
//! 0      4   magic "AKPK"
//! 4      1   format version = 2
//! 5      1   flags: bit 0 = signed; other bits must be 0
//! 6      2   abi (u16): akira_caps::ABI_VERSION, and the manifest's abi
//! 8      4   manifest_len (u32), 1..=MAX_MANIFEST_LEN
//! 12     4   wasm_len (u32), >= 8
//! 16     8   key_id: first 8 bytes of SHA-256(signer's public key); zero when unsigned
//! 24     1   chunk_log2: the wasm travels in chunks of 1 << chunk_log2 bytes (6..=10)
//! 25     7   reserved, zero
//! 32     manifest_len  the binary manifest
//! ..     32  root: the hash chain's first link, h(0)
//! ..     64  signature: Ed25519 over SIGNATURE_CONTEXT || SHA-256(header || manifest || root); zero when unsigned
//! ..     the wasm, chunk by chunk; each chunk but the last is followed by the next link:
//!            chunk(i) || h(i + 1)        h(i) = SHA-256(chunk(i) || h(i + 1)), h(last) = SHA-256(chunk(last))
//! ```
//!
//! All integers are little-endian. A device reads a package with
//! [`PackageReader`], which takes bytes as they arrive and buffers one
//! chunk at most: it checks the header and the signer against the
//! [`TrustPolicy`], verifies the signature over the header, manifest and
//! chain root, grants the manifest under the signer's policy
//! ([`Event::Accepted`]), and then hands out each chunk of wasm only after
//! its hash matched the link the signed data (or the chunk before) named
//! ([`Event::Wasm`]). No unauthenticated byte ever reaches the caller.
//!
//! Format 1 (a SHA-256 digest and the signature after the wasm) is read
//! only when the [`TrustPolicy`] says so ([`TrustPolicy::accept_v1`]).
//!
//! Host tools build packages with [`build`] (feature `alloc`).

// `PackageError` carries the manifest or grant error inline, naming the
// culprit; there is no allocator to box it. It is returned once per
// install, never on a hot path.
#![allow(clippy::result_large_err)]

mod error;
mod reader;

#[cfg(feature = "alloc")]
mod build;

#[cfg(feature = "std")]
pub use build::generate_signing_key;
#[cfg(feature = "alloc")]
pub use build::{build, build_chunked, build_v1};
pub use error::PackageError;
pub use reader::{Accepted, Event, PackageReader, Verified};

pub use crate::trust::{KeyId, Rights, TrustPolicy, TrustedKey, key_id};
pub use crate::vouch::Vouched;

/// The first four bytes of every package.
pub const MAGIC: [u8; 4] = *b"AKPK";

/// The package format [`build`] writes: chunks authenticated before they
/// are written.
pub const FORMAT_VERSION: u8 = 2;

/// The older format, read only when [`TrustPolicy::accept_v1`] is set:
/// the wasm is authenticated after its last byte.
pub const FORMAT_V1: u8 = 1;

/// Header flag: the package is signed.
pub const FLAG_SIGNED: u8 = 0x01;

/// Length of the fixed header, in bytes.
pub const HEADER_LEN: usize = 32;

/// Length of a SHA-256 hash: a chain link, the format-1 digest.
pub const DIGEST_LEN: usize = 32;

/// Length of the signature (Ed25519), in bytes.
pub const SIGNATURE_LEN: usize = 64;

/// Length of what follows the manifest in format 2 before the wasm: the
/// chain root and the signature.
pub const SEAL_LEN: usize = DIGEST_LEN + SIGNATURE_LEN;

/// Length of format 1's trailer (digest and signature), in bytes.
pub const TRAILER_LEN: usize = DIGEST_LEN + SIGNATURE_LEN;

/// Longest binary manifest a package may carry, in bytes.
pub const MAX_MANIFEST_LEN: usize = 2048;

/// Shortest wasm module a package may carry, in bytes (the wasm preamble:
/// magic and version).
pub const MIN_WASM_LEN: u32 = 8;

/// Smallest chunk (`chunk_log2`) a format-2 package may use: 64 bytes.
pub const MIN_CHUNK_LOG2: u8 = 6;

/// Largest chunk (`chunk_log2`) a format-2 package may use: 1 KiB, which
/// bounds the reader's buffer.
pub const MAX_CHUNK_LOG2: u8 = 10;

/// The chunk size [`build`] uses: 1 KiB, so the chain costs 32 bytes per
/// KiB (3 %).
pub const DEFAULT_CHUNK_LOG2: u8 = 10;

/// The domain-separation prefix of a format-2 signed message: the signature
/// is over `SIGNATURE_CONTEXT || SHA-256(header || manifest || root)`.
pub const SIGNATURE_CONTEXT: &[u8; 16] = b"akira-package-v2";

/// The domain-separation prefix of a format-1 signed message.
pub const SIGNATURE_CONTEXT_V1: &[u8; 16] = b"akira-package-v1";

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

/// The message a format-2 package's signature covers: [`SIGNATURE_CONTEXT`]
/// followed by `SHA-256(header || manifest || root)`. An offline signer (an
/// HSM, a signing service) signs exactly these 48 bytes with Ed25519.
pub fn signed_message(digest: &[u8; DIGEST_LEN]) -> [u8; 48] {
    context_message(SIGNATURE_CONTEXT, digest)
}

/// The message a format-1 package's signature covers:
/// [`SIGNATURE_CONTEXT_V1`] followed by the package digest.
pub fn signed_message_v1(digest: &[u8; DIGEST_LEN]) -> [u8; 48] {
    context_message(SIGNATURE_CONTEXT_V1, digest)
}

fn context_message(context: &[u8; 16], digest: &[u8; DIGEST_LEN]) -> [u8; 48] {
    let mut message = [0; 48];
    message[..16].copy_from_slice(context);
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

/// A package's fixed header, validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// The package format: [`FORMAT_VERSION`] or [`FORMAT_V1`].
    pub format: u8,
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
    /// Format 2: the wasm chunk size is `1 << chunk_log2` bytes. Zero in
    /// format 1.
    pub chunk_log2: u8,
}

impl Header {
    /// Reads and validates a header: magic, format version, flags,
    /// reserved bytes, ABI (must be [`akira_caps::ABI_VERSION`]), lengths,
    /// chunk size, and that an unsigned package names no key. Both formats
    /// parse; whether format 1 is accepted is the reader's policy.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Header, PackageError> {
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        if bytes[..4] != MAGIC {
            return Err(PackageError::BadMagic);
        }
        let format = bytes[4];
        if format != FORMAT_VERSION && format != FORMAT_V1 {
            return Err(PackageError::UnsupportedFormat(format));
        }
        let flags = bytes[5];
        if flags & !FLAG_SIGNED != 0 {
            return Err(PackageError::BadFlags);
        }
        // Format 2 uses byte 24 for the chunk size; the rest is reserved.
        let (chunk_log2, reserved) = match format {
            FORMAT_V1 => (0, &bytes[24..32]),
            _ => (bytes[24], &bytes[25..32]),
        };
        if reserved.iter().any(|b| *b != 0) {
            return Err(PackageError::ReservedNotZero);
        }
        if format != FORMAT_V1 && !(MIN_CHUNK_LOG2..=MAX_CHUNK_LOG2).contains(&chunk_log2) {
            return Err(PackageError::BadChunkSize(chunk_log2));
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
        Ok(Header { format, flags, abi, manifest_len, wasm_len, key_id, chunk_log2 })
    }

    /// The header's bytes. [`Header::parse`] reads them back if the fields
    /// are valid.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[..4].copy_from_slice(&MAGIC);
        out[4] = self.format;
        out[5] = self.flags;
        out[6..8].copy_from_slice(&self.abi.to_le_bytes());
        out[8..12].copy_from_slice(&self.manifest_len.to_le_bytes());
        out[12..16].copy_from_slice(&self.wasm_len.to_le_bytes());
        out[16..24].copy_from_slice(&self.key_id.unwrap_or_default());
        out[24] = self.chunk_log2;
        out
    }

    /// Whether the package is signed.
    pub fn is_signed(&self) -> bool {
        self.flags & FLAG_SIGNED != 0
    }

    /// Format 2: bytes of wasm per chunk (the last may be shorter).
    pub fn chunk_len(&self) -> u32 {
        1 << self.chunk_log2.min(MAX_CHUNK_LOG2)
    }

    /// Format 2: chunks of wasm.
    pub fn chunks(&self) -> u32 {
        self.wasm_len.div_ceil(self.chunk_len())
    }

    /// Length of the whole package, in bytes.
    pub fn total_len(&self) -> u64 {
        let fixed = HEADER_LEN as u64 + u64::from(self.manifest_len) + SEAL_LEN as u64 + u64::from(self.wasm_len);
        match self.format {
            FORMAT_V1 => fixed,
            // Every chunk but the last carries the next link.
            _ => fixed + u64::from(self.chunks().saturating_sub(1)) * DIGEST_LEN as u64,
        }
    }
}
