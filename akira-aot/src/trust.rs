//! Native code only from signers trusted with it (feature `ota`).

use core::fmt;

use akira_ota::package::{Accepted, Rights};

use crate::format::{Blob, FormatError, find_in_wasm};

/// Why a package's native code is not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TrustError {
    /// The signer's policy does not include [`Rights::NATIVE_CODE`] (or
    /// the package is unsigned): the app runs interpreted only.
    NotTrusted,
    /// The package carries no native code.
    NoNativeCode,
    /// The native code is malformed.
    Format(FormatError),
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::NotTrusted => f.write_str("the signer is not trusted with native code"),
            TrustError::NoNativeCode => f.write_str("the package carries no native code"),
            TrustError::Format(e) => write!(f, "malformed native code: {e}"),
        }
    }
}

impl core::error::Error for TrustError {}

/// The native code in `wasm`, the verified wasm of the package `accepted`
/// describes, if that package's signer may ship native code. The right is
/// checked first: nothing of the blob is read for any other signer.
pub fn blob_from_package<'w>(accepted: &Accepted, wasm: &'w [u8]) -> Result<Blob<'w>, TrustError> {
    blob_for_signer(accepted.signer.map(|_| accepted.rights), wasm)
}

/// The native code in `wasm`, the verified wasm of an installed app whose
/// signer has `rights` in the device's trust policy (`None`: unsigned, or
/// a signer the policy no longer lists), if those rights include
/// [`Rights::NATIVE_CODE`]. The right is checked first.
pub fn blob_for_signer(rights: Option<Rights>, wasm: &[u8]) -> Result<Blob<'_>, TrustError> {
    if !rights.is_some_and(|r| r.contains(Rights::NATIVE_CODE)) {
        return Err(TrustError::NotTrusted);
    }
    let bytes = find_in_wasm(wasm).map_err(TrustError::Format)?.ok_or(TrustError::NoNativeCode)?;
    Blob::parse(bytes).map_err(TrustError::Format)
}
