//! Why a package was refused.

use core::fmt;

use akira_caps::{GrantError, ManifestError};

use super::{FORMAT_VERSION, Hex, KeyId, MAX_CHUNK_LOG2, MAX_MANIFEST_LEN, MIN_CHUNK_LOG2, MIN_WASM_LEN};

/// Why a package was refused.
///
/// The messages are meant for the person pushing the app (`akira push`
/// prints them as they are).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PackageError {
    /// The bytes do not start with [`MAGIC`](super::MAGIC).
    BadMagic,
    /// A package format this firmware does not read.
    UnsupportedFormat(u8),
    /// Header flags other than [`FLAG_SIGNED`](super::FLAG_SIGNED) are set.
    BadFlags,
    /// The header's reserved bytes are not zero.
    ReservedNotZero,
    /// A format-2 header's chunk size (`chunk_log2`) is outside
    /// [`MIN_CHUNK_LOG2`]`..=`[`MAX_CHUNK_LOG2`].
    BadChunkSize(u8),
    /// A package format this firmware reads but its trust policy refuses
    /// (format 1, unless [`TrustPolicy::accept_v1`](super::TrustPolicy::accept_v1)).
    FormatRefused(u8),
    /// The package is built for an app ABI this firmware does not provide.
    WrongAbi {
        /// The ABI in the package header.
        package: u16,
        /// The ABI this firmware provides.
        device: u16,
    },
    /// The manifest is longer than [`MAX_MANIFEST_LEN`].
    ManifestTooLong(u32),
    /// The wasm module is shorter than [`MIN_WASM_LEN`] bytes.
    WasmTooShort(u32),
    /// The wasm module is larger than this device takes.
    WasmTooLarge {
        /// The module's length, in bytes.
        len: u32,
        /// The most this device takes, in bytes.
        max: u32,
    },
    /// An unsigned package names a signer key (it must be zero).
    UnsignedWithKeyId,
    /// The package is signed by a key this device does not trust.
    UnknownKey(KeyId),
    /// A trusted key in the device's configuration is not a valid Ed25519
    /// public key (a firmware configuration error).
    InvalidTrustedKey(KeyId),
    /// The package is unsigned and this device accepts only signed packages.
    UnsignedRefused,
    /// The key is trusted, but not with the right to install apps.
    MayNotInstall(KeyId),
    /// The key was revoked by a signed policy change.
    Revoked(KeyId),
    /// This firmware has no wasm validator: it installs only packages from
    /// keys trusted to skip validation (trusted-signer mode).
    NeedsValidation,
    /// The manifest could not be read.
    Manifest(ManifestError),
    /// The manifest's ABI differs from the package header's.
    ManifestAbiMismatch,
    /// The manifest asks for more than the signer's policy allows.
    Grant(GrantError),
    /// Format 1: the digest does not match the package's content: it is
    /// corrupt.
    BadDigest,
    /// Format 2: a chunk of wasm does not match its link in the signed hash
    /// chain: it is corrupt or was tampered with. Nothing of it was handed
    /// out.
    BadChunk {
        /// The chunk's index, from 0.
        index: u32,
    },
    /// The signature is not valid for the digest and the named key (or an
    /// unsigned package's signature field is not zero).
    BadSignature,
    /// Bytes follow the end of the package.
    TrailingData,
    /// The input ended before the package did ([`PackageReader::finish`](super::PackageReader::finish)).
    Truncated {
        /// Bytes received.
        received: u64,
    },
    /// The reader already returned an error; start a new one.
    Poisoned,
}

impl fmt::Display for PackageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PackageError::BadMagic => f.write_str("not an Akira package (bad magic)"),
            PackageError::UnsupportedFormat(v) => {
                write!(f, "package format {v} is not supported (this firmware reads formats 1 to {FORMAT_VERSION})")
            }
            PackageError::BadFlags => f.write_str("package header has unknown flags set"),
            PackageError::ReservedNotZero => f.write_str("package header has non-zero reserved bytes"),
            PackageError::BadChunkSize(log2) => write!(
                f,
                "package chunk size 2^{log2} is not supported (2^{MIN_CHUNK_LOG2} to 2^{MAX_CHUNK_LOG2} bytes)"
            ),
            PackageError::FormatRefused(v) => {
                write!(f, "package format {v} is refused by this device's trust policy (repack it with a newer akira)")
            }
            PackageError::WrongAbi { package, device } => {
                write!(f, "package is built for app ABI {package}, this firmware provides ABI {device}")
            }
            PackageError::ManifestTooLong(len) => {
                write!(f, "manifest is {len} bytes, at most {MAX_MANIFEST_LEN} are allowed")
            }
            PackageError::WasmTooShort(len) => {
                write!(f, "wasm module is {len} bytes, shorter than a module can be ({MIN_WASM_LEN})")
            }
            PackageError::WasmTooLarge { len, max } => {
                write!(f, "wasm module is {len} bytes, this device takes at most {max}")
            }
            PackageError::UnsignedWithKeyId => f.write_str("unsigned package names a signing key"),
            PackageError::UnknownKey(id) => write!(f, "package signed by unknown key {}", Hex(id)),
            PackageError::InvalidTrustedKey(id) => {
                write!(f, "trusted key {} in the device configuration is not a valid Ed25519 key", Hex(id))
            }
            PackageError::UnsignedRefused => {
                f.write_str("package is unsigned and this device accepts only signed packages")
            }
            PackageError::MayNotInstall(id) => write!(f, "key {} may not install apps on this device", Hex(id)),
            PackageError::Revoked(id) => write!(f, "key {} was revoked on this device", Hex(id)),
            PackageError::NeedsValidation => f.write_str(
                "this firmware has no wasm validator: it installs only packages from trusted signers (keys with the skip-validation right)",
            ),
            PackageError::Manifest(e) => write!(f, "invalid manifest: {e}"),
            PackageError::ManifestAbiMismatch => {
                f.write_str("the manifest's app ABI differs from the package header's")
            }
            PackageError::Grant(e) => e.fmt(f),
            PackageError::BadDigest => f.write_str("package is corrupt (digest mismatch)"),
            PackageError::BadChunk { index } => {
                write!(f, "package is corrupt or tampered with: wasm chunk {index} does not match its signed hash")
            }
            PackageError::BadSignature => f.write_str("package signature is not valid"),
            PackageError::TrailingData => f.write_str("unexpected bytes after the end of the package"),
            PackageError::Truncated { received } => {
                write!(f, "package ended early, after {received} bytes")
            }
            PackageError::Poisoned => f.write_str("package reader already failed; start the transfer again"),
        }
    }
}

impl core::error::Error for PackageError {}
