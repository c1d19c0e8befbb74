//! Signed management commands: remove, rollback, confirm, a one-time
//! downgrade permission, revoking or restoring a key, and (on devices whose
//! app list is not open) listing the apps.
//!
//! A command is a self-contained blob of [`COMMAND_LEN`] bytes: it names
//! the device (or every device), the action, a counter against replay and
//! the signer, and carries an Ed25519 signature over all of it. A device
//! takes it from any link (the protocol's [`Request::Command`], or a fleet
//! agent relaying it from an MQTT broker it does not trust): the signature
//! and the signer's [`Rights`] decide, never the link.
//!
//! ```text
//! offset size
//! 0      4   magic "AKCM"
//! 4      1   format = 1
//! 5      1   action: 1 list, 2 remove, 3 rollback, 4 confirm, 5 allow-downgrade, 6 revoke key, 7 restore key
//! 6      1   name_len: the app name's length (0 for list, revoke, restore)
//! 7      1   reserved, zero
//! 8      8   device id; all zero = every device
//! 16     8   counter (u64): above the device's last accepted counter
//! 24     8   signer's key id
//! 32     32  app name, zero-padded
//! 64     8   argument: allow-downgrade: major, minor, patch (u16 each) and 2 zero bytes;
//!            revoke / restore: the key id; otherwise zero
//! 72     64  Ed25519 signature over COMMAND_CONTEXT || bytes 0..72
//! ```
//!
//! Integers are little-endian. The device accepts a command only if its
//! counter is above the last one it accepted ([`State::counter`], kept in
//! the store's journal, so a reboot does not reopen old commands): a
//! signer uses the device's counter plus one (`akira device` asks for it)
//! or the time in milliseconds (a fleet sending one command to many
//! devices). A signed list is the one command not written to flash: its
//! counter is kept in RAM only, as replaying it reveals nothing new.
//!
//! [`Request::Command`]: crate::protocol::Request::Command
//! [`State::counter`]: crate::store::State::counter

use core::fmt;

use akira_caps::Version;
use akira_caps::manifest::{AppName, is_app_name};
use ed25519_dalek::{Signature, VerifyingKey};

use crate::package::Hex;
use crate::trust::{KeyId, Rights, TrustPolicy};

/// Length of a signed command, in bytes.
pub const COMMAND_LEN: usize = SIGNED_LEN + 64;

/// Length of the part the signature covers.
const SIGNED_LEN: usize = 72;

/// The first four bytes of a command.
pub const COMMAND_MAGIC: [u8; 4] = *b"AKCM";

/// The command format this crate reads and writes.
pub const COMMAND_FORMAT: u8 = 1;

/// The domain-separation prefix of the signed message: the signature is
/// over `COMMAND_CONTEXT || bytes[..72]`, so no package signature (or any
/// other message signed with the same key) is a valid command.
pub const COMMAND_CONTEXT: &[u8; 16] = b"akira-command-v1";

/// A device's id, which commands name.
pub type DeviceId = [u8; 8];

/// The device id meaning "every device".
pub const ANY_DEVICE: DeviceId = [0; 8];

/// What a command asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Action {
    /// List the apps (needed only where the list is not open).
    List,
    /// Uninstall the app.
    Remove(AppName),
    /// Return the app to its previous version.
    Rollback(AppName),
    /// Confirm the app's version on trial.
    Confirm(AppName),
    /// Let the next package of the app at exactly this version in, even at
    /// or below its anti-rollback floor (once, until the device restarts).
    AllowDowngrade(AppName, Version),
    /// Stop trusting the key on this device (its packages and commands are
    /// refused; apps it installed keep running).
    Revoke(KeyId),
    /// Trust a revoked key again.
    Restore(KeyId),
}

impl Action {
    /// The right the signer needs.
    pub fn right(&self) -> Rights {
        match self {
            Action::List => Rights::LIST,
            Action::Remove(_) => Rights::REMOVE,
            Action::Rollback(_) => Rights::ROLLBACK,
            Action::Confirm(_) => Rights::CONFIRM,
            Action::AllowDowngrade(..) => Rights::DOWNGRADE,
            Action::Revoke(_) | Action::Restore(_) => Rights::POLICY,
        }
    }

    fn code(&self) -> u8 {
        match self {
            Action::List => 1,
            Action::Remove(_) => 2,
            Action::Rollback(_) => 3,
            Action::Confirm(_) => 4,
            Action::AllowDowngrade(..) => 5,
            Action::Revoke(_) => 6,
            Action::Restore(_) => 7,
        }
    }

    fn app(&self) -> Option<&AppName> {
        match self {
            Action::Remove(n) | Action::Rollback(n) | Action::Confirm(n) | Action::AllowDowngrade(n, _) => Some(n),
            Action::List | Action::Revoke(_) | Action::Restore(_) => None,
        }
    }
}

/// A management command, before or after signing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Command {
    /// What to do.
    pub action: Action,
    /// The device it is for; [`ANY_DEVICE`] for every device.
    pub device: DeviceId,
    /// Above the device's last accepted counter.
    pub counter: u64,
}

/// A command whose signature verified under a trusted key allowed to give
/// it, for this device.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Verified {
    /// The command.
    pub command: Command,
    /// Who signed it.
    pub signer: KeyId,
}

/// Why a command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CommandError {
    /// Not a command of this format (length, magic, format, action, name,
    /// reserved bytes).
    Malformed,
    /// Signed by a key the device does not trust.
    UnknownKey(KeyId),
    /// The signature does not verify.
    BadSignature,
    /// The command names another device.
    WrongDevice,
    /// The signer's rights do not include this command.
    NotAllowed {
        /// The signer.
        signer: KeyId,
        /// The right it lacks.
        needs: Rights,
    },
    /// The counter is not above the device's last accepted one.
    Replayed {
        /// The command's counter.
        counter: u64,
        /// The device's last accepted counter.
        last: u64,
    },
    /// The signer was revoked on this device.
    Revoked(KeyId),
    /// Revoke or restore names a key the device's trust policy does not
    /// hold, or the signer itself.
    BadKey(KeyId),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Malformed => f.write_str("not a signed Akira command (malformed)"),
            CommandError::UnknownKey(id) => write!(f, "command signed by unknown key {}", Hex(id)),
            CommandError::BadSignature => f.write_str("command signature is not valid"),
            CommandError::WrongDevice => f.write_str("command is for another device"),
            CommandError::NotAllowed { signer, needs } => {
                write!(f, "key {} lacks the `{needs}` right on this device", Hex(signer))
            }
            CommandError::Replayed { counter, last } => {
                write!(f, "command counter {counter} is not above {last}, the last accepted (replay?)")
            }
            CommandError::Revoked(id) => write!(f, "key {} was revoked on this device", Hex(id)),
            CommandError::BadKey(id) => write!(f, "key {} cannot be revoked or restored by this command", Hex(id)),
        }
    }
}

impl core::error::Error for CommandError {}

impl Command {
    /// The bytes the signature covers, for a command signed by `signer`.
    pub fn signed_bytes(&self, signer: &KeyId) -> [u8; SIGNED_LEN] {
        let mut out = [0u8; SIGNED_LEN];
        out[..4].copy_from_slice(&COMMAND_MAGIC);
        out[4] = COMMAND_FORMAT;
        out[5] = self.action.code();
        if let Some(name) = self.action.app() {
            out[6] = name.len() as u8;
            out[32..32 + name.len()].copy_from_slice(name.as_bytes());
        }
        out[8..16].copy_from_slice(&self.device);
        out[16..24].copy_from_slice(&self.counter.to_le_bytes());
        out[24..32].copy_from_slice(signer);
        match &self.action {
            Action::AllowDowngrade(_, v) => {
                out[64..66].copy_from_slice(&v.major.to_le_bytes());
                out[66..68].copy_from_slice(&v.minor.to_le_bytes());
                out[68..70].copy_from_slice(&v.patch.to_le_bytes());
            }
            Action::Revoke(key) | Action::Restore(key) => out[64..72].copy_from_slice(key),
            _ => {}
        }
        out
    }

    /// The signed command: what `akira device` sends, or a fleet publishes.
    #[cfg(feature = "alloc")]
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> [u8; COMMAND_LEN] {
        use ed25519_dalek::Signer;
        let signer = crate::trust::key_id(&key.verifying_key().to_bytes());
        let body = self.signed_bytes(&signer);
        let mut out = [0u8; COMMAND_LEN];
        out[..SIGNED_LEN].copy_from_slice(&body);
        out[SIGNED_LEN..].copy_from_slice(&key.sign(&message(&body)).to_bytes());
        out
    }

    /// Reads a command's fields and its signer's key id, without checking
    /// the signature.
    pub fn parse(bytes: &[u8]) -> Result<(Command, KeyId), CommandError> {
        let bytes: &[u8; COMMAND_LEN] = bytes.try_into().map_err(|_| CommandError::Malformed)?;
        let field = |at: usize| -> [u8; 8] { bytes[at..at + 8].try_into().unwrap_or_default() };
        if bytes[..4] != COMMAND_MAGIC || bytes[4] != COMMAND_FORMAT || bytes[7] != 0 {
            return Err(CommandError::Malformed);
        }
        let name_len = usize::from(bytes[6]);
        let (name, padding) = bytes[32..64].split_at(name_len.min(32));
        if name_len > 32 || padding.iter().any(|b| *b != 0) {
            return Err(CommandError::Malformed);
        }
        let app = || -> Result<AppName, CommandError> {
            let name = core::str::from_utf8(name).map_err(|_| CommandError::Malformed)?;
            if !is_app_name(name) {
                return Err(CommandError::Malformed);
            }
            AppName::try_from(name).map_err(|_| CommandError::Malformed)
        };
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let argument = field(64);
        // One encoding per command: unused bytes must be zero.
        let action = match bytes[5] {
            2 if argument == [0; 8] => Action::Remove(app()?),
            3 if argument == [0; 8] => Action::Rollback(app()?),
            4 if argument == [0; 8] => Action::Confirm(app()?),
            5 if argument[6..] == [0, 0] => {
                Action::AllowDowngrade(app()?, Version::new(u16_at(64), u16_at(66), u16_at(68)))
            }
            1 | 6 | 7 if name_len == 0 => match bytes[5] {
                1 if argument == [0; 8] => Action::List,
                6 => Action::Revoke(argument),
                7 => Action::Restore(argument),
                _ => return Err(CommandError::Malformed),
            },
            _ => return Err(CommandError::Malformed),
        };
        let command = Command { action, device: field(8), counter: u64::from_le_bytes(field(16)) };
        Ok((command, field(24)))
    }

    /// Checks a signed command for the device `device` under `trust`:
    /// format, signer trusted, signature, device, and that the signer's
    /// rights include the action. The counter is the caller's to check
    /// (against what the device last accepted).
    pub fn verify(bytes: &[u8], trust: &TrustPolicy<'_>, device: &DeviceId) -> Result<Verified, CommandError> {
        let (command, signer) = Command::parse(bytes)?;
        let key = trust.find(&signer).ok_or(CommandError::UnknownKey(signer))?;
        let public = VerifyingKey::from_bytes(&key.public_key).map_err(|_| CommandError::UnknownKey(signer))?;
        let (body, signature) = bytes.split_at(SIGNED_LEN);
        let body: &[u8; SIGNED_LEN] = body.try_into().map_err(|_| CommandError::Malformed)?;
        let signature: &[u8; 64] = signature.try_into().map_err(|_| CommandError::Malformed)?;
        public
            .verify_strict(&message(body), &Signature::from_bytes(signature))
            .map_err(|_| CommandError::BadSignature)?;
        if command.device != ANY_DEVICE && command.device != *device {
            return Err(CommandError::WrongDevice);
        }
        let needs = command.action.right();
        if !key.rights.contains(needs) {
            return Err(CommandError::NotAllowed { signer, needs });
        }
        Ok(Verified { command, signer })
    }
}

/// The message the signature covers.
fn message(body: &[u8; SIGNED_LEN]) -> [u8; 16 + SIGNED_LEN] {
    let mut message = [0u8; 16 + SIGNED_LEN];
    message[..16].copy_from_slice(COMMAND_CONTEXT);
    message[16..].copy_from_slice(body);
    message
}
