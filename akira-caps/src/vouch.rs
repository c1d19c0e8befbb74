//! Proof, handed to the sandbox, that a trusted signer vouched for a wasm
//! module, so the device may compile it without validating it
//! (trusted-signer mode).
//!
//! The trait is `unsafe` to implement: the sandbox relies on it to skip
//! wasmi's validation, and wasmi's behaviour on invalid wasm is undefined.
//! `akira-ota` implements it for `package::Vouched`, which only its package
//! reader and app store make; `akira-sandbox` takes any implementation in
//! `Runtime::load_vouched`.

/// Proof that some wasm bytes were validated by a signer the device trusts
/// with skipping validation.
///
/// # Safety
///
/// [`covers`](Self::covers) may return `true` only for the exact bytes of
/// a module that arrived in a package whose signature verified under a key
/// the device's trust policy allows to skip validation (a key that signs
/// only what it validated, as `akira pack` does). A wrong `true` lets
/// malformed wasm into an interpreter that is not hardened against it.
#[allow(unsafe_code)]
pub unsafe trait VouchedWasm {
    /// Whether this proof is for exactly `wasm`.
    fn covers(&self, wasm: &[u8]) -> bool;
}
