//! Reading a package as it arrives.

use core::fmt;

use akira_caps::{Manifest, Policy};
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use super::{
    DIGEST_LEN, HEADER_LEN, Header, KeyId, MAX_MANIFEST_LEN, PackageError, SIGNATURE_LEN, TrustPolicy, signed_message,
};

/// What [`PackageReader::next`] found.
// `Accepted` holds the decoded manifest inline (no allocator to box it); it
// happens once per package and is moved out by the caller.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event<'d> {
    /// Header and manifest read and accepted: signer known (or unsigned
    /// allowed), manifest decodes, ABI matches, and
    /// [`akira_caps::grant`]`(&manifest, signer_policy)` succeeds. The caller
    /// now checks its own limits (size, downgrade) before writing anything.
    Accepted(Accepted),
    /// Wasm bytes to store, in order. Not yet verified: nothing may be
    /// committed before [`Event::Verified`].
    Wasm(&'d [u8]),
    /// The whole package was read; digest and signature are valid.
    Verified(Verified),
}

/// A package's header and manifest, accepted under the trust policy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Accepted {
    /// The package header.
    pub header: Header,
    /// The decoded manifest; granted under the signer's policy.
    pub manifest: Manifest,
    /// The signer's key id; `None` for an unsigned package accepted under
    /// the development policy.
    pub signer: Option<KeyId>,
}

/// A package read to its end, with a valid digest and signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Verified {
    /// SHA-256 of header, manifest and wasm.
    pub digest: [u8; DIGEST_LEN],
    /// The signer's key id; `None` when unsigned.
    pub signer: Option<KeyId>,
}

/// Where the reader is in the package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Stage {
    Header,
    Manifest,
    /// Wasm bytes still to hand out.
    Wasm(u32),
    Digest,
    Signature,
    Done,
    Poisoned,
}

/// Streaming reader: the device feeds bytes as they arrive and never
/// buffers the wasm.
///
/// It holds a SHA-256 state and a [`MAX_MANIFEST_LEN`]-byte buffer (about
/// 2.4 KiB in all). It is `Clone`, so a transfer can be checkpointed and
/// resumed from the clone.
///
/// ```text
/// header ─► trust ─► manifest ─► grant ─► Accepted ─► Wasm… ─► digest ─► signature ─► Verified
/// ```
///
/// Every check on header, signer and manifest happens before the first
/// [`Event::Wasm`], so a device refuses a package before it writes flash.
/// After an error, every call returns [`PackageError::Poisoned`].
#[derive(Clone)]
pub struct PackageReader<'t> {
    trust: &'t TrustPolicy<'t>,
    max_wasm_len: u32,
    hasher: Sha256,
    stage: Stage,
    /// Bytes of the current fixed-size part (header, manifest, digest,
    /// signature) already in `buf`.
    fill: usize,
    buf: [u8; MAX_MANIFEST_LEN],
    header: Option<Header>,
    /// The policy apps from this signer (or unsigned) are granted under.
    policy: Option<&'t Policy>,
    /// The signer's key, once trusted; `None` when unsigned.
    key: Option<VerifyingKey>,
    /// SHA-256 of header, manifest and wasm, once the wasm is read.
    digest: [u8; DIGEST_LEN],
    position: u64,
    /// Whether `Verified` was returned (it stays set if trailing bytes
    /// poison the reader afterwards).
    verified: bool,
}

impl fmt::Debug for PackageReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackageReader")
            .field("stage", &self.stage)
            .field("position", &self.position)
            .field("header", &self.header)
            .field("max_wasm_len", &self.max_wasm_len)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for PackageReader<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "PackageReader {{ stage: {}, position: {}, header: {} }}",
            self.stage,
            self.position,
            self.header
        )
    }
}

impl<'t> PackageReader<'t> {
    /// A reader for one package, accepting signers from `trust` and wasm
    /// modules of at most `max_wasm_len` bytes (typically the app slot's
    /// size; checked with the header).
    pub fn new(trust: &'t TrustPolicy<'t>, max_wasm_len: u32) -> Self {
        PackageReader {
            trust,
            max_wasm_len,
            hasher: Sha256::new(),
            stage: Stage::Header,
            fill: 0,
            buf: [0; MAX_MANIFEST_LEN],
            header: None,
            policy: None,
            key: None,
            digest: [0; DIGEST_LEN],
            position: 0,
            verified: false,
        }
    }

    /// Consumes a prefix of `data` and returns how many bytes it consumed
    /// and what happened (`None` = needs more bytes; it consumed everything
    /// given). Call repeatedly until `data` is used up. Bytes after the end
    /// of the package are an error ([`PackageError::TrailingData`]).
    ///
    /// At most one event comes from each call. After an error the reader is
    /// poisoned: every later call returns [`PackageError::Poisoned`].
    pub fn next<'d>(&mut self, data: &'d [u8]) -> Result<(usize, Option<Event<'d>>), PackageError> {
        match self.step(data) {
            Ok((used, event)) => {
                self.position += used as u64;
                Ok((used, event))
            }
            Err(e) => {
                self.stage = Stage::Poisoned;
                Err(e)
            }
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Whether [`Event::Verified`] has been returned.
    ///
    /// A transfer is complete when this holds and the input ended without
    /// an error ([`PackageError::TrailingData`] may still follow Verified
    /// if more bytes arrive); [`PackageReader::finish`] checks both.
    pub fn is_done(&self) -> bool {
        self.verified
    }

    /// The header, once read and accepted.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Call when the input ends: `Ok` if the package was read to its end
    /// and verified, [`PackageError::Truncated`] if it stopped short,
    /// [`PackageError::Poisoned`] after an error.
    pub fn finish(&self) -> Result<(), PackageError> {
        match self.stage {
            Stage::Done => Ok(()),
            Stage::Poisoned => Err(PackageError::Poisoned),
            _ => Err(PackageError::Truncated { received: self.position }),
        }
    }

    /// Length of the fixed-size part being read, if any.
    fn part_len(&self) -> Option<usize> {
        match self.stage {
            Stage::Header => Some(HEADER_LEN),
            Stage::Manifest => self.header.map(|h| h.manifest_len as usize),
            Stage::Digest => Some(DIGEST_LEN),
            Stage::Signature => Some(SIGNATURE_LEN),
            Stage::Wasm(_) | Stage::Done | Stage::Poisoned => None,
        }
    }

    fn step<'d>(&mut self, data: &'d [u8]) -> Result<(usize, Option<Event<'d>>), PackageError> {
        let mut used = 0;
        loop {
            let rest = data.get(used..).unwrap_or_default();
            match self.stage {
                Stage::Poisoned => return Err(PackageError::Poisoned),
                Stage::Done => {
                    return if rest.is_empty() { Ok((used, None)) } else { Err(PackageError::TrailingData) };
                }
                Stage::Wasm(left) => {
                    if rest.is_empty() {
                        return Ok((used, None));
                    }
                    let n = rest.len().min(left as usize);
                    let chunk = rest.get(..n).unwrap_or_default();
                    self.hasher.update(chunk);
                    // n <= left, so this neither wraps nor truncates.
                    let left = left - n as u32;
                    if left == 0 {
                        self.digest = core::mem::take(&mut self.hasher).finalize().into();
                        self.stage = Stage::Digest;
                    } else {
                        self.stage = Stage::Wasm(left);
                    }
                    return Ok((used + n, Some(Event::Wasm(chunk))));
                }
                Stage::Header | Stage::Manifest | Stage::Digest | Stage::Signature => {
                    let len = self.part_len().ok_or(PackageError::Poisoned)?;
                    let n = rest.len().min(len.saturating_sub(self.fill));
                    let (Some(dst), Some(src)) = (self.buf.get_mut(self.fill..self.fill + n), rest.get(..n)) else {
                        return Err(PackageError::Poisoned);
                    };
                    dst.copy_from_slice(src);
                    self.fill += n;
                    used += n;
                    if self.fill < len {
                        return Ok((used, None));
                    }
                    self.fill = 0;
                    if let Some(event) = self.complete(len)? {
                        return Ok((used, Some(event)));
                    }
                }
            }
        }
    }

    /// The fixed-size part being read is complete in `buf[..len]`: checks it
    /// and moves on.
    fn complete<'d>(&mut self, len: usize) -> Result<Option<Event<'d>>, PackageError> {
        let part = self.buf.get(..len).ok_or(PackageError::Poisoned)?;
        match self.stage {
            Stage::Header => {
                let bytes: &[u8; HEADER_LEN] = part.try_into().map_err(|_| PackageError::Poisoned)?;
                let header = Header::parse(bytes)?;
                if header.wasm_len > self.max_wasm_len {
                    return Err(PackageError::WasmTooLarge { len: header.wasm_len, max: self.max_wasm_len });
                }
                match header.key_id {
                    Some(id) => {
                        let trusted = self.trust.find(&id).ok_or(PackageError::UnknownKey(id))?;
                        let key = VerifyingKey::from_bytes(&trusted.public_key)
                            .map_err(|_| PackageError::InvalidTrustedKey(id))?;
                        self.key = Some(key);
                        self.policy = Some(trusted.policy);
                    }
                    None => self.policy = Some(self.trust.unsigned.ok_or(PackageError::UnsignedRefused)?),
                }
                self.hasher.update(part);
                self.header = Some(header);
                self.stage = Stage::Manifest;
                Ok(None)
            }
            Stage::Manifest => {
                let (Some(header), Some(policy)) = (self.header, self.policy) else {
                    return Err(PackageError::Poisoned);
                };
                let manifest = Manifest::decode(part).map_err(PackageError::Manifest)?;
                if manifest.abi != header.abi {
                    return Err(PackageError::ManifestAbiMismatch);
                }
                akira_caps::grant(&manifest, policy).map_err(PackageError::Grant)?;
                self.hasher.update(part);
                self.stage = Stage::Wasm(header.wasm_len);
                Ok(Some(Event::Accepted(Accepted { header, manifest, signer: header.key_id })))
            }
            Stage::Digest => {
                if *part != self.digest {
                    return Err(PackageError::BadDigest);
                }
                self.stage = Stage::Signature;
                Ok(None)
            }
            Stage::Signature => {
                let signature: &[u8; SIGNATURE_LEN] = part.try_into().map_err(|_| PackageError::Poisoned)?;
                match &self.key {
                    Some(key) => key
                        .verify_strict(&signed_message(&self.digest), &Signature::from_bytes(signature))
                        .map_err(|_| PackageError::BadSignature)?,
                    None if signature.iter().all(|b| *b == 0) => {}
                    None => return Err(PackageError::BadSignature),
                }
                self.stage = Stage::Done;
                self.verified = true;
                let signer = self.header.and_then(|h| h.key_id);
                Ok(Some(Event::Verified(Verified { digest: self.digest, signer })))
            }
            Stage::Wasm(_) | Stage::Done | Stage::Poisoned => Err(PackageError::Poisoned),
        }
    }
}
