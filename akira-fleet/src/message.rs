//! The messages devices and hosts exchange through the broker.
//!
//! Every payload starts with one byte, [`FORMAT`], then the postcard
//! encoding of the message. Postcard encodes fields by position and refuses
//! trailing bytes, so any change a reader could not decode (a field added,
//! removed or reordered) bumps [`FORMAT`]; a reader refuses another format
//! byte ([`MessageError::Format`]) instead of misreading it. The topic
//! layout carries its own version (`akira/v1/...`).
//!
//! Why postcard and not JSON: the device writes and reads these, and
//! postcard is already in every Akira firmware (the OTA protocol), costs no
//! parser or formatter (`core::fmt` stays out of the firmware), and keeps a
//! state report under 200 bytes. `akira fleet devices` and `akira fleet
//! watch` print them for people; the rollout's own record, written only by
//! hosts, is JSON (`docs/fleet.md`).

use akira_caps::Version;
use akira_caps::manifest::AppName;
use akira_ota::protocol::MAX_APPS;
use serde::{Deserialize, Serialize};

/// The format byte every payload starts with.
pub const FORMAT: u8 = 1;

/// Longest group name, in bytes.
pub const MAX_GROUP: usize = 32;

/// Largest encoded [`State`], in bytes (eight apps, a group, a rollout).
pub const MAX_STATE: usize = 1 + 1 + 1 + MAX_GROUP + 1 + MAX_APPS * (1 + 32 + 9 + 1 + 10) + 5 * 5 + 1 + 5 + 1 + 10;

/// A group name (devices are rolled out to by group).
pub type Group = heapless::String<MAX_GROUP>;

/// Why a message could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MessageError {
    /// The payload is empty.
    Empty,
    /// The payload starts with another format byte (the value).
    Format(u8),
    /// The bytes are not a message of this format.
    Decode,
    /// The message does not fit the buffer.
    TooLarge,
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MessageError::Empty => f.write_str("empty message"),
            MessageError::Format(v) => write!(f, "message format {v}, this build reads format {FORMAT}"),
            MessageError::Decode => f.write_str("malformed message"),
            MessageError::TooLarge => f.write_str("message too large"),
        }
    }
}

impl core::error::Error for MessageError {}

/// Encodes `message` after the format byte into `out`; returns the length.
pub fn encode<T: Serialize>(message: &T, out: &mut [u8]) -> Result<usize, MessageError> {
    let (first, rest) = out.split_first_mut().ok_or(MessageError::TooLarge)?;
    *first = FORMAT;
    let used = postcard::to_slice(message, rest).map_err(|_| MessageError::TooLarge)?;
    Ok(1 + used.len())
}

/// Decodes a payload written by [`encode`].
pub fn decode<'a, T: Deserialize<'a>>(payload: &'a [u8]) -> Result<T, MessageError> {
    match payload.split_first() {
        None => Err(MessageError::Empty),
        Some((&FORMAT, rest)) => match postcard::take_from_bytes(rest) {
            Ok((message, [])) => Ok(message),
            _ => Err(MessageError::Decode),
        },
        Some((&other, _)) => Err(MessageError::Format(other)),
    }
}

/// What a device reports about itself, retained on its `state` topic
/// (and, marked offline, as its last will).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct State {
    /// `false` in the last will: the broker lost the device.
    pub online: bool,
    /// The group the device belongs to.
    pub group: Group,
    /// Installed apps.
    pub apps: heapless::Vec<AppReport, MAX_APPS>,
    /// Health since the agent started.
    pub health: Health,
    /// The last rollout assigned to the device and how far it got.
    pub rollout: Option<RolloutReport>,
}

/// One installed app.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AppReport {
    /// The app.
    pub name: AppName,
    /// The version that runs.
    pub version: Version,
    /// `false` while on trial.
    pub confirmed: bool,
    /// The version kept for rollback.
    pub previous: Option<Version>,
}

/// A device's health counters (since the agent started; uptime in seconds).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Health {
    /// Seconds since the agent started.
    pub uptime_s: u32,
    /// App faults (traps, exhausted limits).
    pub faults: u32,
    /// App restarts after a fault.
    pub restarts: u32,
    /// Versions rolled back (crash loops, corrupt images, commands).
    pub rollbacks: u32,
    /// Transfers refused or abandoned.
    pub failed_transfers: u32,
}

/// How far a device got with a rollout.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RolloutReport {
    /// The rollout's id, from its [`Assignment`].
    pub rollout: u32,
    /// Where the device is.
    pub phase: Phase,
}

/// The steps of one device's update.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Phase {
    /// Taking the package: bytes verified and stored so far.
    Downloading {
        /// Bytes the device holds.
        received: u32,
    },
    /// Installed and running on trial.
    Trial,
    /// Confirmed after a healthy trial: a success.
    Confirmed,
    /// Rolled back during its trial (crash loop, corrupt image): a failure.
    RolledBack,
    /// The device refused the package (an `akira_ota` error code: bad
    /// signature, bad chunk, downgrade, ...): a failure.
    Refused {
        /// The protocol's [`ErrorCode`](akira_ota::protocol::ErrorCode) number.
        code: u16,
    },
    /// The package's chunks could not be found in the broker.
    Missing,
}

impl Phase {
    /// Whether the device is done with the rollout (succeeded or failed).
    pub fn is_final(self) -> bool {
        !matches!(self, Phase::Downloading { .. } | Phase::Trial)
    }

    /// Whether the phase counts as a failure of the rollout.
    pub fn is_failure(self) -> bool {
        matches!(self, Phase::RolledBack | Phase::Refused { .. } | Phase::Missing)
    }
}

/// A rollout's order to one device, retained on its `assign` topic by the
/// host. It is not signed: it only says which package to fetch, and the
/// package is authenticated by the device as any package is (signer,
/// rights, anti-rollback). A forged assignment can at most make a device
/// fetch a genuine package it would accept anyway.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Assignment {
    /// The rollout's id.
    pub rollout: u32,
    /// SHA-256 of the package file: its chunks are under
    /// `akira/v1/pkg/<id in hex>/<n>`.
    pub package: [u8; 32],
    /// The package file's size in bytes.
    pub size: u32,
    /// Bytes per chunk message in the broker (the last may be shorter).
    pub chunk: u32,
    /// The app the package holds, and its version: a device that already
    /// runs it reports at once instead of downloading.
    pub app: AppName,
    /// The package's version.
    pub version: Version,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_state_fits() {
        let name = AppName::try_from("abcdefghijklmnopqrstuvwxyz012345").unwrap();
        let big = Version::new(u16::MAX, u16::MAX, u16::MAX);
        let app = AppReport { name, version: big, confirmed: true, previous: Some(big) };
        let state = State {
            online: true,
            group: Group::try_from("abcdefghijklmnopqrstuvwxyz012345").unwrap(),
            apps: core::iter::repeat_n(app, MAX_APPS).collect(),
            health: Health {
                uptime_s: u32::MAX,
                faults: u32::MAX,
                restarts: u32::MAX,
                rollbacks: u32::MAX,
                failed_transfers: u32::MAX,
            },
            rollout: Some(RolloutReport { rollout: u32::MAX, phase: Phase::Refused { code: u16::MAX } }),
        };
        let mut buf = [0u8; MAX_STATE];
        let n = encode(&state, &mut buf).unwrap();
        assert_eq!(decode::<State>(&buf[..n]).unwrap(), state);
    }

    #[test]
    fn other_formats_and_garbage_are_refused() {
        assert_eq!(decode::<State>(&[]), Err(MessageError::Empty));
        assert_eq!(decode::<State>(&[2, 1, 0]), Err(MessageError::Format(2)));
        assert_eq!(decode::<State>(&[FORMAT, 0xff, 0xff]), Err(MessageError::Decode));
    }
}
