//! Whom a device trusts, and with what: each trusted Ed25519 key has a
//! capability [`Policy`] (what the apps it signs may be granted) and
//! [`Rights`] (what it may do to the device: install, take over another
//! key's app, each management command, skip validation).
//!
//! A key is never trusted with more than its entry says. The rights are
//! one small bit set, checked once per package or command, never per call.

use core::fmt;
use core::ops::BitOr;

use akira_caps::Policy;
use sha2::{Digest, Sha256};

/// Names a signer: the first 8 bytes of SHA-256 of its Ed25519 public key.
pub type KeyId = [u8; 8];

/// The [`KeyId`] of an Ed25519 public key.
pub fn key_id(public_key: &[u8; 32]) -> KeyId {
    let hash = Sha256::digest(public_key);
    let mut id = [0; 8];
    id.copy_from_slice(&hash[..8]);
    id
}

/// What a trusted key may do to a device, beyond the capabilities its
/// [`Policy`] lets its apps have.
///
/// | right | lets the key |
/// |---|---|
/// | [`INSTALL`](Self::INSTALL) | install apps, and update the apps it installed |
/// | [`TAKE_OVER`](Self::TAKE_OVER) | update an app another key installed (the app is then bound to this key) |
/// | [`REMOVE`](Self::REMOVE), [`ROLLBACK`](Self::ROLLBACK), [`CONFIRM`](Self::CONFIRM) | sign that management command |
/// | [`DOWNGRADE`](Self::DOWNGRADE) | sign a one-time permission to install a version below an app's anti-rollback floor |
/// | [`POLICY`](Self::POLICY) | sign trust-policy changes: revoke or restore a key |
/// | [`LIST`](Self::LIST) | sign a request for the app list, on devices whose list is not open |
/// | [`SKIP_VALIDATION`](Self::SKIP_VALIDATION) | have its packages installed without validating the wasm (trusted-signer mode) |
/// | [`NATIVE_CODE`](Self::NATIVE_CODE) | ship native code (an `akira.aot` blob in the wasm, compiled by `akira-aot-build`) that the device may run |
///
/// Bits 10–15 are free. [`SKIP_VALIDATION`](Self::SKIP_VALIDATION) and
/// [`NATIVE_CODE`](Self::NATIVE_CODE) make the key as trusted as the
/// firmware's own signing key: whoever holds it can run malformed wasm,
/// which the interpreter is not hardened against, or native code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rights(u16);

impl Rights {
    /// No rights.
    pub const NONE: Rights = Rights(0);
    /// Install apps and update the apps this key installed.
    pub const INSTALL: Rights = Rights(1 << 0);
    /// Update apps another key installed.
    pub const TAKE_OVER: Rights = Rights(1 << 1);
    /// Sign `remove` commands.
    pub const REMOVE: Rights = Rights(1 << 2);
    /// Sign `rollback` commands.
    pub const ROLLBACK: Rights = Rights(1 << 3);
    /// Sign `confirm` commands.
    pub const CONFIRM: Rights = Rights(1 << 4);
    /// Sign one-time downgrade permissions.
    pub const DOWNGRADE: Rights = Rights(1 << 5);
    /// Sign trust-policy changes (revoke, restore a key).
    pub const POLICY: Rights = Rights(1 << 6);
    /// Sign requests for the app list when the list is not open.
    pub const LIST: Rights = Rights(1 << 7);
    /// Packages from this key are installed without validating the wasm.
    pub const SKIP_VALIDATION: Rights = Rights(1 << 8);
    /// This key's packages may carry native code the device runs (the AOT
    /// tier, crate `akira-aot`). A device runs native code only from a
    /// package whose signer has this right ([`Accepted::rights`](crate::package::Accepted::rights));
    /// like [`SKIP_VALIDATION`](Self::SKIP_VALIDATION), it trusts the key
    /// as much as the firmware's own.
    pub const NATIVE_CODE: Rights = Rights(1 << 9);

    /// Install and every management command: what a device owner's key
    /// usually has. Neither [`TAKE_OVER`](Self::TAKE_OVER) nor
    /// [`SKIP_VALIDATION`](Self::SKIP_VALIDATION): those are given
    /// explicitly.
    pub const OWNER: Rights = Rights(
        Self::INSTALL.0
            | Self::REMOVE.0
            | Self::ROLLBACK.0
            | Self::CONFIRM.0
            | Self::DOWNGRADE.0
            | Self::POLICY.0
            | Self::LIST.0,
    );

    /// Every right this crate knows.
    pub const ALL: Rights = Rights(Self::OWNER.0 | Self::TAKE_OVER.0 | Self::SKIP_VALIDATION.0 | Self::NATIVE_CODE.0);

    /// The names [`Rights::parse`] reads and `Display` writes, one per right.
    pub const NAMES: [(&'static str, Rights); 10] = [
        ("install", Self::INSTALL),
        ("take-over", Self::TAKE_OVER),
        ("remove", Self::REMOVE),
        ("rollback", Self::ROLLBACK),
        ("confirm", Self::CONFIRM),
        ("downgrade", Self::DOWNGRADE),
        ("policy", Self::POLICY),
        ("list", Self::LIST),
        ("skip-validation", Self::SKIP_VALIDATION),
        ("native-code", Self::NATIVE_CODE),
    ];

    /// The rights in `bits`; `None` if a bit this crate does not know is set.
    pub const fn from_bits(bits: u16) -> Option<Rights> {
        if bits & !Self::ALL.0 != 0 { None } else { Some(Rights(bits)) }
    }

    /// The bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Both sets of rights.
    pub const fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    /// Whether every right in `other` is in `self`.
    pub const fn contains(self, other: Rights) -> bool {
        self.0 & other.0 == other.0
    }

    /// Reads a comma-separated list of right names (`install,remove`), or
    /// `owner` / `all`. An unknown name is an error naming it.
    pub fn parse(text: &str) -> Result<Rights, &str> {
        let mut rights = Rights::NONE;
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            rights = rights.union(match name {
                "owner" => Rights::OWNER,
                "all" => Rights::ALL,
                _ => Self::NAMES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r).ok_or(name)?,
            });
        }
        Ok(rights)
    }
}

impl BitOr for Rights {
    type Output = Rights;
    fn bitor(self, other: Rights) -> Rights {
        self.union(other)
    }
}

impl fmt::Display for Rights {
    /// The names, comma-separated (`install,remove`); `none` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        let mut first = true;
        for (name, right) in Self::NAMES {
            if self.contains(right) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rights({self})")
    }
}

/// A signer the device trusts: what apps it signs may be granted, and what
/// it may do to the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TrustedKey<'a> {
    /// A name for logs and diagnostics (`release`, `acme-ci`).
    pub name: &'a str,
    /// The signer's Ed25519 public key.
    pub public_key: [u8; 32],
    /// The most an app signed by this key may be granted.
    pub policy: &'a Policy,
    /// What the key may do: install, take over, management commands, skip
    /// validation.
    pub rights: Rights,
}

impl TrustedKey<'_> {
    /// This key's [`KeyId`].
    pub fn id(&self) -> KeyId {
        key_id(&self.public_key)
    }
}

/// Whom a device trusts.
///
/// `TrustPolicy { keys: &keys, ..TrustPolicy::default() }` trusts `keys`
/// and nothing else: no unsigned packages, no format-1 packages, an open
/// app list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TrustPolicy<'a> {
    /// The trusted signers, each with its own policy and rights.
    pub keys: &'a [TrustedKey<'a>],
    /// Development only: accept unsigned packages, granting at most this
    /// policy (with the [`Rights::INSTALL`] right only; management stays
    /// signed).
    pub unsigned: Option<&'a Policy>,
    /// Accept packages in format 1, whose wasm is authenticated only after
    /// its last byte (so it reaches the flash unverified). Off unless a
    /// fleet still has format-1 packages to install.
    pub accept_v1: bool,
    /// Answer the protocol's `List` only to a signed request from a key
    /// with [`Rights::LIST`]. Off: anyone on the link may read the app list.
    pub list_needs_signature: bool,
}

impl<'a> TrustPolicy<'a> {
    /// The trusted key whose [`key_id`] is `id` (the first, should two keys
    /// share an id).
    pub fn find(&self, id: &KeyId) -> Option<&'a TrustedKey<'a>> {
        self.keys.iter().find(|k| k.id() == *id)
    }

    /// The rights of the key `id` (`None`: unsigned, which has
    /// [`Rights::INSTALL`] when the development policy allows unsigned
    /// packages); [`Rights::NONE`] for a key not trusted.
    pub fn rights(&self, id: Option<&KeyId>) -> Rights {
        match id {
            Some(id) => self.find(id).map_or(Rights::NONE, |k| k.rights),
            None if self.unsigned.is_some() => Rights::INSTALL,
            None => Rights::NONE,
        }
    }
}
