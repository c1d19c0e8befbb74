//! Reading a package as it arrives.

use core::fmt;

use akira_caps::{Manifest, Policy};
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use super::{
    DIGEST_LEN, FORMAT_V1, HEADER_LEN, Header, KeyId, MAX_CHUNK_LOG2, MAX_MANIFEST_LEN, PackageError, Rights, SEAL_LEN,
    SIGNATURE_LEN, TrustPolicy, signed_message, signed_message_v1,
};

/// Bytes the reader buffers: the manifest with the chain root and the
/// signature, or one chunk with the next link.
const BUF_LEN: usize = {
    let seal = MAX_MANIFEST_LEN + SEAL_LEN;
    let chunk = (1 << MAX_CHUNK_LOG2) + DIGEST_LEN;
    if seal > chunk { seal } else { chunk }
};

/// What [`PackageReader::next`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event<'d> {
    /// Header, signature and manifest read and accepted: signer known (or
    /// unsigned allowed) with the right to install, signature valid over
    /// header, manifest and chain root (format 2), manifest decodes, ABI
    /// matches, and [`akira_caps::grant`]`(&manifest, signer_policy)`
    /// succeeds. The caller now checks its own limits (size, downgrade,
    /// the app's signer) before writing anything. (The reader keeps it,
    /// see [`PackageReader::accepted`]: a manifest is about 2.6 KiB, too
    /// much to move around on the stack.)
    Accepted(&'d Accepted),
    /// Wasm bytes to store, in order. Format 2: this chunk matched its
    /// link in the hash chain, so it is exactly what the signer signed.
    /// Format 1: not yet verified; nothing may be committed before
    /// [`PackageReader::finish`] returns `Ok`.
    Wasm(&'d [u8]),
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
    /// What the signer may do ([`Rights::INSTALL`] for an unsigned package).
    pub rights: Rights,
}

/// A package read to its end, every byte verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Verified {
    /// The digest the signature covers: format 2, SHA-256 of header,
    /// manifest and chain root; format 1, SHA-256 of header, manifest and
    /// wasm.
    pub digest: [u8; DIGEST_LEN],
    /// The signer's key id; `None` when unsigned.
    pub signer: Option<KeyId>,
}

/// Where the reader is in the package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Stage {
    Header,
    /// Format 2: manifest, chain root and signature.
    Seal,
    /// Format 2: the chunk (with its next link) that starts this many wasm
    /// bytes before the end.
    Chunk(u32),
    /// Format 1: manifest.
    Manifest,
    /// Format 1: wasm bytes still to hand out.
    Wasm(u32),
    /// Format 1: digest and signature.
    Trailer,
    Done,
    Poisoned,
}

/// Streaming reader: the device feeds bytes as they arrive; it buffers one
/// chunk at most and never hands out a byte it has not authenticated
/// (format 2).
///
/// It holds a SHA-256 state, a buffer of [`MAX_MANIFEST_LEN`] + 96 bytes
/// and the accepted manifest (about 5.1 KiB in all: keep it in a `static`
/// or a session, not on a small stack). It is `Clone`, so a transfer can
/// be checkpointed and resumed from the clone.
///
/// ```text
/// header ─► trust ─► manifest, root, signature ─► grant ─► Accepted ─► chunk ─► link ok ─► Wasm ─► … ─► finish
/// ```
///
/// Every check on header, signer, signature and manifest happens before
/// [`Event::Accepted`], and each chunk is checked against the hash chain
/// before its [`Event::Wasm`], so a device never writes a byte the signer
/// did not sign. After an error, every call returns
/// [`PackageError::Poisoned`].
#[derive(Clone)]
pub struct PackageReader<'t> {
    trust: &'t TrustPolicy<'t>,
    max_wasm_len: u32,
    validator: bool,
    hasher: Sha256,
    stage: Stage,
    /// Bytes of the current buffered part already in `buf`.
    fill: usize,
    buf: [u8; BUF_LEN],
    header: Option<Header>,
    /// Header and manifest, once accepted (kept here rather than moved
    /// out: a manifest is about 2.6 KiB, too much to pass on the stack).
    accepted: Option<Accepted>,
    /// The policy apps from this signer (or unsigned) are granted under.
    policy: Option<&'t Policy>,
    rights: Rights,
    /// The signer's key, once trusted; `None` when unsigned.
    key: Option<VerifyingKey>,
    /// Format 2: the hash the next chunk must have. Format 1: the digest
    /// of header, manifest and wasm, once the wasm is read.
    link: [u8; DIGEST_LEN],
    /// The digest the signature covers.
    signed: [u8; DIGEST_LEN],
    position: u64,
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
            validator: true,
            hasher: Sha256::new(),
            stage: Stage::Header,
            fill: 0,
            buf: [0; BUF_LEN],
            header: None,
            accepted: None,
            policy: None,
            rights: Rights::NONE,
            key: None,
            link: [0; DIGEST_LEN],
            signed: [0; DIGEST_LEN],
            position: 0,
        }
    }

    /// For a firmware that cannot validate wasm (built without
    /// `akira-sandbox`'s `validate` feature): only packages from keys with
    /// [`Rights::SKIP_VALIDATION`] are read; any other is refused at the
    /// header ([`PackageError::NeedsValidation`]), before anything is
    /// written.
    pub fn without_validator(mut self) -> Self {
        self.validator = false;
        self
    }

    /// Consumes a prefix of `data` and returns how many bytes it consumed
    /// and what happened (`None` = needs more bytes; it consumed everything
    /// given). Call repeatedly until `data` is used up. Bytes after the end
    /// of the package are an error ([`PackageError::TrailingData`]).
    ///
    /// At most one event comes from each call. After an error the reader is
    /// poisoned: every later call returns [`PackageError::Poisoned`].
    // Never inlined: the signature check and the manifest decoding use
    // several KiB of stack, which must be gone again before the caller goes
    // on to the install check (which has its own deep stack).
    #[inline(never)]
    pub fn next<'d>(&'d mut self, data: &'d [u8]) -> Result<(usize, Option<Event<'d>>), PackageError> {
        match self.step(data) {
            Ok((used, done)) => {
                self.position += used as u64;
                let event = match done {
                    Done::Nothing => None,
                    Done::Accepted => self.accepted.as_ref().map(Event::Accepted),
                    Done::Given(from, to) => data.get(from..to).map(Event::Wasm),
                    Done::Buffered(to) => self.buf.get(..to).map(Event::Wasm),
                };
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

    /// Whether the whole package was read and verified.
    ///
    /// A transfer is complete when this holds and the input ended without
    /// an error ([`PackageError::TrailingData`] may still follow if more
    /// bytes arrive); [`PackageReader::finish`] checks both.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The header, once read and accepted.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Header, manifest and signer, once [`Event::Accepted`] was returned.
    pub fn accepted(&self) -> Option<&Accepted> {
        self.accepted.as_ref()
    }

    /// Call when the input ends: what was verified if the package was read
    /// to its end, [`PackageError::Truncated`] if it stopped short,
    /// [`PackageError::Poisoned`] after an error.
    pub fn finish(&self) -> Result<Verified, PackageError> {
        match self.stage {
            Stage::Done => Ok(Verified { digest: self.signed, signer: self.header.and_then(|h| h.key_id) }),
            Stage::Poisoned => Err(PackageError::Poisoned),
            _ => Err(PackageError::Truncated { received: self.position }),
        }
    }

    /// Length of the buffered part being read, if any.
    fn part_len(&self) -> Option<usize> {
        let header = self.header;
        match self.stage {
            Stage::Header => Some(HEADER_LEN),
            Stage::Seal => header.map(|h| h.manifest_len as usize + SEAL_LEN),
            Stage::Manifest => header.map(|h| h.manifest_len as usize),
            Stage::Trailer => Some(SEAL_LEN),
            Stage::Chunk(left) => header.map(|h| {
                let chunk = h.chunk_len();
                if left > chunk { chunk as usize + DIGEST_LEN } else { left as usize }
            }),
            Stage::Wasm(_) | Stage::Done | Stage::Poisoned => None,
        }
    }

    fn step(&mut self, data: &[u8]) -> Result<(usize, Done), PackageError> {
        let mut used = 0;
        loop {
            let rest = data.get(used..).unwrap_or_default();
            match self.stage {
                Stage::Poisoned => return Err(PackageError::Poisoned),
                Stage::Done => {
                    return if rest.is_empty() { Ok((used, Done::Nothing)) } else { Err(PackageError::TrailingData) };
                }
                Stage::Wasm(left) => {
                    if rest.is_empty() {
                        return Ok((used, Done::Nothing));
                    }
                    let n = rest.len().min(left as usize);
                    self.hasher.update(rest.get(..n).unwrap_or_default());
                    // n <= left, so this neither wraps nor truncates.
                    let left = left - n as u32;
                    if left == 0 {
                        self.link = core::mem::take(&mut self.hasher).finalize().into();
                        self.stage = Stage::Trailer;
                    } else {
                        self.stage = Stage::Wasm(left);
                    }
                    return Ok((used + n, Done::Given(used, used + n)));
                }
                Stage::Header | Stage::Seal | Stage::Chunk(_) | Stage::Manifest | Stage::Trailer => {
                    let len = self.part_len().ok_or(PackageError::Poisoned)?;
                    let n = rest.len().min(len.saturating_sub(self.fill));
                    let (Some(dst), Some(src)) = (self.buf.get_mut(self.fill..self.fill + n), rest.get(..n)) else {
                        return Err(PackageError::Poisoned);
                    };
                    dst.copy_from_slice(src);
                    self.fill += n;
                    used += n;
                    if self.fill < len {
                        return Ok((used, Done::Nothing));
                    }
                    self.fill = 0;
                    match self.complete(len)? {
                        Done::Nothing => {}
                        done => return Ok((used, done)),
                    }
                }
            }
        }
    }

    /// The buffered part is complete in `buf[..len]`: checks it and moves on.
    fn complete(&mut self, len: usize) -> Result<Done, PackageError> {
        let part = self.buf.get(..len).ok_or(PackageError::Poisoned)?;
        match self.stage {
            Stage::Header => {
                let bytes: &[u8; HEADER_LEN] = part.try_into().map_err(|_| PackageError::Poisoned)?;
                let header = Header::parse(bytes)?;
                self.hasher.update(part);
                self.trust_header(&header)?;
                self.header = Some(header);
                self.stage = if header.format == FORMAT_V1 { Stage::Manifest } else { Stage::Seal };
                Ok(Done::Nothing)
            }
            Stage::Seal => {
                let header = self.header.ok_or(PackageError::Poisoned)?;
                let (manifest, seal) = part.split_at(header.manifest_len as usize);
                let (root, signature) = seal.split_at(DIGEST_LEN);
                self.hasher.update(manifest);
                self.hasher.update(root);
                self.signed = core::mem::take(&mut self.hasher).finalize().into();
                match self.key {
                    Some(_) => self.check_signature(&signed_message(&self.signed), signature)?,
                    // Unsigned: the field holds the digest (corruption, not
                    // tampering, is caught) and zeros.
                    None if signature[..DIGEST_LEN] == self.signed
                        && signature[DIGEST_LEN..].iter().all(|b| *b == 0) => {}
                    None => return Err(PackageError::BadSignature),
                }
                self.link.copy_from_slice(root);
                let policy = self.policy.ok_or(PackageError::Poisoned)?;
                accept(&mut self.accepted, header, policy, self.rights, manifest)?;
                self.stage = Stage::Chunk(header.wasm_len);
                Ok(Done::Accepted)
            }
            Stage::Chunk(left) => {
                let header = self.header.ok_or(PackageError::Poisoned)?;
                if Sha256::digest(part)[..] != self.link[..] {
                    let index = (header.wasm_len - left) >> header.chunk_log2;
                    return Err(PackageError::BadChunk { index });
                }
                let chunk = left.min(header.chunk_len());
                if left > chunk {
                    self.link.copy_from_slice(part.get(chunk as usize..).ok_or(PackageError::Poisoned)?);
                    self.stage = Stage::Chunk(left - chunk);
                } else {
                    self.stage = Stage::Done;
                }
                Ok(Done::Buffered(chunk as usize))
            }
            Stage::Manifest => {
                let header = self.header.ok_or(PackageError::Poisoned)?;
                self.hasher.update(part);
                let policy = self.policy.ok_or(PackageError::Poisoned)?;
                accept(&mut self.accepted, header, policy, self.rights, part)?;
                self.stage = Stage::Wasm(header.wasm_len);
                Ok(Done::Accepted)
            }
            Stage::Trailer => {
                let (digest, signature) = part.split_at(DIGEST_LEN);
                if *digest != self.link {
                    return Err(PackageError::BadDigest);
                }
                self.signed = self.link;
                self.check_signature(&signed_message_v1(&self.signed), signature)?;
                self.stage = Stage::Done;
                Ok(Done::Nothing)
            }
            Stage::Wasm(_) | Stage::Done | Stage::Poisoned => Err(PackageError::Poisoned),
        }
    }

    /// The header names a format, a size and a signer this device takes:
    /// selects the signer's key, policy and rights.
    fn trust_header(&mut self, header: &Header) -> Result<(), PackageError> {
        if header.format == FORMAT_V1 && !self.trust.accept_v1 {
            return Err(PackageError::FormatRefused(FORMAT_V1));
        }
        if header.wasm_len > self.max_wasm_len {
            return Err(PackageError::WasmTooLarge { len: header.wasm_len, max: self.max_wasm_len });
        }
        match header.key_id {
            Some(id) => {
                let trusted = self.trust.find(&id).ok_or(PackageError::UnknownKey(id))?;
                if !trusted.rights.contains(Rights::INSTALL) {
                    return Err(PackageError::MayNotInstall(id));
                }
                let key =
                    VerifyingKey::from_bytes(&trusted.public_key).map_err(|_| PackageError::InvalidTrustedKey(id))?;
                self.key = Some(key);
                self.policy = Some(trusted.policy);
                self.rights = trusted.rights;
            }
            None => {
                self.policy = Some(self.trust.unsigned.ok_or(PackageError::UnsignedRefused)?);
                self.rights = Rights::INSTALL;
            }
        }
        if !self.validator && !self.rights.contains(Rights::SKIP_VALIDATION) {
            return Err(PackageError::NeedsValidation);
        }
        Ok(())
    }

    /// Checks `signature` over `message` under the signer's key, or that an
    /// unsigned package's signature field is zero. Never inlined: Ed25519
    /// needs a few KiB of stack of its own.
    #[inline(never)]
    fn check_signature(&self, message: &[u8; 48], signature: &[u8]) -> Result<(), PackageError> {
        let signature: &[u8; SIGNATURE_LEN] = signature.try_into().map_err(|_| PackageError::Poisoned)?;
        match &self.key {
            Some(key) => {
                key.verify_strict(message, &Signature::from_bytes(signature)).map_err(|_| PackageError::BadSignature)
            }
            None if signature.iter().all(|b| *b == 0) => Ok(()),
            None => Err(PackageError::BadSignature),
        }
    }
}

/// Decodes `manifest`, checks its ABI against the header's and grants it
/// under the signer's `policy`, into `slot`. Never inlined, like
/// [`PackageReader::check_signature`]: each needs a few KiB of stack, and
/// they run one after the other, not nested.
#[inline(never)]
fn accept(
    slot: &mut Option<Accepted>,
    header: Header,
    policy: &Policy,
    rights: Rights,
    manifest: &[u8],
) -> Result<(), PackageError> {
    let manifest = Manifest::decode(manifest).map_err(PackageError::Manifest)?;
    if manifest.abi != header.abi {
        return Err(PackageError::ManifestAbiMismatch);
    }
    akira_caps::grant(&manifest, policy).map_err(PackageError::Grant)?;
    *slot = Some(Accepted { header, manifest, signer: header.key_id, rights });
    Ok(())
}

/// What a step produced, before it is turned into an [`Event`] borrowing
/// the input or the buffer.
enum Done {
    Nothing,
    Accepted,
    /// Format 1: wasm bytes `data[from..to]` of the input.
    Given(usize, usize),
    /// Format 2: a verified chunk, `buf[..to]`.
    Buffered(usize),
}
