//! [`Vouched`]: proof for the sandbox that wasm bytes came from a package
//! of a trusted signer (trusted-signer mode).

use akira_caps::VouchedWasm;
use sha2::{Digest, Sha256};

use crate::trust::KeyId;

/// Proof that a wasm module is exactly the bytes a package from a
/// trusted-signer key (one with [`Rights::SKIP_VALIDATION`]) carried,
/// authenticated chunk by chunk: the sandbox's `Runtime::load_vouched`
/// then compiles it without validating it.
///
/// Only this crate makes one: the protocol [`Session`](crate::server::Session)
/// when such a package verified (it hands it to the firmware's
/// [`Verifier`](crate::server::Verifier)), and
/// [`Store::vouch`](crate::store::Store::vouch) for an installed image
/// whose bytes still match their recorded digest and whose signer the
/// trust policy still lets skip validation. It holds the SHA-256 of the
/// wasm, so it covers those bytes and no others.
///
/// [`Rights::SKIP_VALIDATION`]: crate::trust::Rights::SKIP_VALIDATION
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vouched {
    digest: [u8; 32],
    signer: KeyId,
}

impl Vouched {
    /// Made only where the bytes behind `digest` were authenticated under
    /// `signer`, a key with the skip-validation right.
    pub(crate) fn new(digest: [u8; 32], signer: KeyId) -> Vouched {
        Vouched { digest, signer }
    }

    /// The key that vouched.
    pub fn signer(&self) -> KeyId {
        self.signer
    }

    /// SHA-256 of the wasm it covers.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
}

// SAFETY: a `Vouched` is made only by the session, after a format-2
// package verified chunk by chunk under a key whose rights include
// SKIP_VALIDATION (the digest is of the bytes the store wrote from those
// chunks), and by `Store::vouch`, for an image the store committed from
// such a session and whose bytes still hash to its recorded digest, signed
// by a key the policy still lets skip validation. `covers` compares the
// full SHA-256, so it is true only for those exact bytes.
#[allow(unsafe_code)]
unsafe impl VouchedWasm for Vouched {
    fn covers(&self, wasm: &[u8]) -> bool {
        Sha256::digest(wasm)[..] == self.digest[..]
    }
}
