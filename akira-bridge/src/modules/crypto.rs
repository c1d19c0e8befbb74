//! `akira:crypto`: SHA-256, HMAC-SHA-256 and Ed25519 signature checks,
//! done natively.
//!
//! Interpreted, SHA-256 costs an app tens of wasm instructions per byte
//! and an Ed25519 verification millions; natively (the `sha2` and
//! `ed25519-dalek` crates the OTA store already uses) they are one host
//! call. The module touches no hardware and nothing outside the app's own
//! memory, so there is no resource to guard: it is unlocked by the `sys`
//! capability (the app's own runtime services) rather than a capability of
//! its own; `docs/abi.md` records that choice.
//!
//! Work done natively would escape the app's CPU budget, so each call
//! charges fuel for it: per byte hashed, and a verification's fixed part
//! (100 000 fuel, about what it costs natively in interpreted
//! instructions), as `akira-abi` declares ([`crate::charge`]); the budget
//! keeps its meaning.
//!
//! Built with the `crypto` feature (on by default).

use crate::host::{Caller, Linker};
use akira_caps::{Capability, ModuleCapability, ModuleSpec};
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::board::Board;
use crate::errno::Errno;
use crate::host_fn;
use crate::memory::GuestMemory;
use crate::module::{HostModule, LinkContext, LinkError};
use crate::state::{AppState, Refusal, memory_and_state, reply};

/// The module's import name.
pub const IMPORT: &str = "akira:crypto";

/// The module's spec.
pub static SPEC: ModuleSpec = ModuleSpec {
    import: akira_abi::CRYPTO.import,
    capability: ModuleCapability::Builtin(Capability::Sys),
    functions: akira_abi::CRYPTO.functions,
};

/// The `akira:crypto` module; needs nothing from the board.
#[derive(Clone, Copy, Debug, Default)]
pub struct CryptoModule;

/// HMAC-SHA-256 (RFC 2104), by RustCrypto's `hmac` (32 bytes more flash
/// than the hand-written one, QEMU firmware with `akira:crypto`). HMAC takes a key of
/// any length, so [`Errno::Invalid`] never happens in practice; it is
/// what a key `hmac` refused would get.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Result<[u8; 32], Errno> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| Errno::Invalid)?;
    mac.update(msg);
    Ok(mac.finalize().into_bytes().into())
}

/// Whether `signature` is a valid Ed25519 signature of `msg` by `key`
/// (strict verification: no malleable or small-order encodings).
/// [`Errno::Invalid`] if `key` is not a curve point.
pub fn ed25519_verify(key: &[u8; 32], msg: &[u8], signature: &[u8; 64]) -> Result<bool, Errno> {
    let key = VerifyingKey::from_bytes(key).map_err(|_| Errno::Invalid)?;
    Ok(key.verify_strict(msg, &Signature::from_bytes(signature)).is_ok())
}

/// A call's result and the bytes it hashed (its work, charged at the
/// function's declared rate).
type Charged = Result<(i32, u64), Refusal>;

fn sha256(memory: &mut GuestMemory<'_>, ptr: u32, len: u32, out: u32) -> Charged {
    // The output is checked first: a bad one costs no hashing.
    memory.bytes_mut(out, 32)?;
    let digest: [u8; 32] = Sha256::digest(memory.bytes(ptr, len)?).into();
    memory.write(out, &digest)?;
    Ok((0, u64::from(len)))
}

fn hmac(memory: &mut GuestMemory<'_>, key: (u32, u32), msg: (u32, u32), out: u32) -> Charged {
    memory.bytes_mut(out, 32)?;
    let mac = hmac_sha256(memory.bytes(key.0, key.1)?, memory.bytes(msg.0, msg.1)?)?;
    memory.write(out, &mac)?;
    Ok((0, u64::from(key.1) + u64::from(msg.1)))
}

fn verify(memory: &mut GuestMemory<'_>, key: u32, msg: (u32, u32), signature: u32) -> Charged {
    let mut k = [0u8; 32];
    k.copy_from_slice(memory.bytes(key, 32)?);
    let mut s = [0u8; 64];
    s.copy_from_slice(memory.bytes(signature, 64)?);
    let valid = ed25519_verify(&k, memory.bytes(msg.0, msg.1)?, &s)?;
    Ok((i32::from(valid), u64::from(msg.1)))
}

/// Runs `f` on the app's memory, counts its work and replies.
fn charged<B: Board>(
    c: &mut Caller<'_, AppState<B>>,
    f: impl FnOnce(&mut GuestMemory<'_>) -> Charged,
) -> Result<i32, crate::host::Error> {
    reply(memory_and_state(c).and_then(|(mut mem, state)| {
        let (value, bytes) = f(&mut mem)?;
        state.work(bytes);
        Ok(value)
    }))
}

impl<B: Board> HostModule<B> for CryptoModule {
    fn spec(&self) -> &'static ModuleSpec {
        &SPEC
    }

    fn link(&self, linker: &mut Linker<AppState<B>>, _: &LinkContext<'_>) -> Result<(), LinkError> {
        type C<'a, B> = Caller<'a, AppState<B>>;
        host_fn!(linker, SPEC, "sha256", |c: C<'_, B>, ptr: u32, len: u32, out: u32| {
            charged(&mut c, |m| sha256(m, ptr, len, out))
        })?;
        host_fn!(linker, SPEC, "hmac_sha256", |c: C<'_, B>,
                                               key: u32,
                                               key_len: u32,
                                               msg: u32,
                                               msg_len: u32,
                                               out: u32| {
            charged(&mut c, |m| hmac(m, (key, key_len), (msg, msg_len), out))
        },)?;
        host_fn!(linker, SPEC, "ed25519_verify", |c: C<'_, B>, key: u32, msg: u32, len: u32, sig: u32| {
            charged(&mut c, |m| verify(m, key, (msg, len), sig))
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn ok(r: Charged) -> (i32, u64) {
        match r {
            Ok(v) => v,
            Err(Refusal::Errno(e)) => panic!("{e}"),
            Err(Refusal::Trap(t)) => panic!("{t}"),
        }
    }

    fn err(r: Charged) -> Errno {
        match r {
            Err(Refusal::Errno(e)) => e,
            _ => panic!("expected an error code"),
        }
    }

    #[test]
    fn sha256_of_app_memory() {
        let mut backing = [0u8; 64];
        backing[..3].copy_from_slice(b"abc");
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(ok(sha256(&mut mem, 0, 3, 16)), (0, 3));
        assert_eq!(mem.bytes(16, 32).unwrap(), hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        // In place: the digest replaces its input.
        assert_eq!(ok(sha256(&mut mem, 16, 32, 16)).0, 0);
        assert_eq!(err(sha256(&mut mem, 0, 3, 33)), Errno::Fault, "output past the end");
        assert_eq!(err(sha256(&mut mem, 60, 5, 0)), Errno::Fault);
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hmac_sha256(&[0x0b; 20], b"Hi There").unwrap().to_vec(),
            hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        );
        assert_eq!(
            hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First").unwrap().to_vec(),
            hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            "keys longer than a block are hashed first"
        );
        let mut backing = [0u8; 96];
        backing[..4].copy_from_slice(b"Jefe");
        backing[8..36].copy_from_slice(b"what do ya want for nothing?");
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(ok(hmac(&mut mem, (0, 4), (8, 28), 40)), (0, 32));
        assert_eq!(mem.bytes(40, 32).unwrap(), hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
        assert_eq!(err(hmac(&mut mem, (0, 4), (90, 28), 40)), Errno::Fault);
    }

    #[test]
    fn ed25519_matches_rfc_8032_and_refuses_tampering() {
        let key = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let sig = hex(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        );
        let mut backing = [0u8; 160];
        backing[..32].copy_from_slice(&key);
        backing[32..96].copy_from_slice(&sig);
        let mut mem = GuestMemory::new(&mut backing);
        assert_eq!(ok(verify(&mut mem, 0, (96, 0), 32)), (1, 0), "the empty message");
        assert_eq!(ok(verify(&mut mem, 0, (96, 1), 32)).0, 0, "another message");
        mem.bytes_mut(40, 1).unwrap()[0] ^= 1;
        assert_eq!(ok(verify(&mut mem, 0, (96, 0), 32)).0, 0, "a flipped signature bit");
        assert_eq!(err(verify(&mut mem, 0, (96, 0), 100)), Errno::Fault, "signature past the end");
        // A y coordinate whose x has no square root is not a point.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(ed25519_verify(&not_a_point, b"", &[0; 64]), Err(Errno::Invalid));
    }
}
