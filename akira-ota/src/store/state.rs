//! What the store knows, and the operations that change it.
//!
//! The state lives in RAM and in the journal: a snapshot, then the
//! operations applied since, in order. Applying an operation is pure and
//! total, so replaying the journal after a reboot gives the same state.

use akira_caps::Version;
use akira_caps::manifest::AppName;
use serde::{Deserialize, Serialize};

/// Most apps a store holds.
pub const MAX_APPS: usize = 8;
/// Most app slots a store has.
pub const MAX_SLOTS: usize = 16;
/// Most data sectors whose erases a store counts.
pub const MAX_DATA_SECTORS: usize = 128;
/// Most journal sectors.
pub const MAX_META_SECTORS: usize = 8;
/// Anti-rollback floors kept, including for removed apps.
pub const MAX_FLOORS: usize = 8;
/// Keys a signed policy change can revoke at once.
pub const MAX_REVOKED: usize = 8;

/// The identity of a package signer (first 8 bytes of the SHA-256 of its
/// Ed25519 public key).
pub type SignerId = [u8; 8];

/// An app image in a slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Image {
    /// The slot holding it.
    pub slot: u8,
    /// Its length in bytes.
    pub len: u32,
    /// Its version.
    pub version: Version,
    /// SHA-256 of its bytes, checked by [`crate::store::Store::verify`].
    pub digest: [u8; 32],
    /// Who signed the package it came from (`None`: unsigned, development).
    pub signer: Option<SignerId>,
}

/// One installed app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AppRecord {
    /// The app's name.
    pub name: AppName,
    /// The version that runs.
    pub active: Image,
    /// Whether `active` was confirmed healthy. Until then it is on trial:
    /// a crash loop or an explicit rollback returns to `previous`.
    pub confirmed: bool,
    /// The last confirmed version, kept while `active` is on trial.
    pub previous: Option<Image>,
    /// Boots `active` has run in while on trial, counted before each run:
    /// its install counts as the first, each later boot adds one
    /// ([`crate::store::Store::boot`]); 0 once confirmed.
    pub trial_boots: u8,
}

/// The lowest version an app may be updated to (anti-rollback).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Floor {
    /// The app's name.
    pub name: AppName,
    /// The highest version ever installed.
    pub version: Version,
}

/// The store's whole state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct State {
    /// Installed apps.
    pub apps: heapless::Vec<AppRecord, MAX_APPS>,
    /// Anti-rollback floors, newest last.
    pub floors: heapless::Vec<Floor, MAX_FLOORS>,
    /// Erases per data sector.
    pub data_erases: heapless::Vec<u32, MAX_DATA_SECTORS>,
    /// Erases per journal sector.
    pub meta_erases: heapless::Vec<u32, MAX_META_SECTORS>,
    /// The counter of the last signed management command carried out
    /// (replay protection: a command must carry a higher one).
    pub counter: u64,
    /// Keys revoked by signed policy changes: trusted by the firmware, no
    /// longer by this device.
    pub revoked: heapless::Vec<SignerId, MAX_REVOKED>,
}

/// A change to the state, written to the journal before it takes effect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Op {
    /// Data sectors `first..first + count` were erased.
    Erased {
        /// First data sector.
        first: u16,
        /// Number of sectors.
        count: u16,
    },
    /// A staged image became the app's active version, on trial.
    Installed {
        /// The app.
        name: AppName,
        /// The new image.
        image: Image,
    },
    /// The app's active version was confirmed.
    Confirmed {
        /// The app.
        name: AppName,
    },
    /// The app went back to its previous version.
    RolledBack {
        /// The app.
        name: AppName,
    },
    /// The app was uninstalled (its floor stays).
    Removed {
        /// The app.
        name: AppName,
    },
    /// The app's version on trial is about to run in one more boot.
    TrialBoot {
        /// The app.
        name: AppName,
    },
    /// A signed management command with this counter was accepted; later
    /// ones must carry a higher counter.
    Counter {
        /// The command's counter.
        value: u64,
    },
    /// A key was revoked (`true`) or restored (`false`) by a signed policy
    /// change.
    Revoked {
        /// The key.
        key: SignerId,
        /// Revoked or restored.
        revoked: bool,
    },
}

impl State {
    /// A fresh state for a store with these sector counts.
    pub(crate) fn fresh(data_sectors: usize, meta_sectors: usize) -> State {
        let mut s = State::default();
        for _ in 0..data_sectors.min(MAX_DATA_SECTORS) {
            let _ = s.data_erases.push(0);
        }
        for _ in 0..meta_sectors.min(MAX_META_SECTORS) {
            let _ = s.meta_erases.push(0);
        }
        s
    }

    /// The app called `name`.
    pub fn app(&self, name: &str) -> Option<&AppRecord> {
        self.apps.iter().find(|a| a.name == name)
    }

    fn app_mut(&mut self, name: &str) -> Option<&mut AppRecord> {
        self.apps.iter_mut().find(|a| a.name == name)
    }

    /// The anti-rollback floor of `name`, if it was ever installed.
    pub fn floor(&self, name: &str) -> Option<Version> {
        self.floors.iter().find(|f| f.name == name).map(|f| f.version)
    }

    /// Whether the key `key` was revoked by a signed policy change.
    pub fn is_revoked(&self, key: &SignerId) -> bool {
        self.revoked.contains(key)
    }

    /// Whether slot `slot` holds an image some app refers to.
    pub fn slot_used(&self, slot: u8) -> bool {
        self.apps.iter().any(|a| a.active.slot == slot || a.previous.as_ref().is_some_and(|p| p.slot == slot))
    }

    fn raise_floor(&mut self, name: &AppName, version: Version) {
        if let Some(f) = self.floors.iter_mut().find(|f| &f.name == name) {
            f.version = f.version.max(version);
            return;
        }
        if self.floors.is_full() {
            // Drop the oldest floor of an app that is not installed; if all
            // are installed (floors >= apps), the oldest.
            let victim = self.floors.iter().position(|f| self.apps.iter().all(|a| a.name != f.name)).unwrap_or(0);
            self.floors.remove(victim);
        }
        let _ = self.floors.push(Floor { name: name.clone(), version });
    }

    /// Applies `op`. Total: an op that does not fit the state (which a
    /// correct store never writes) changes nothing.
    pub(crate) fn apply(&mut self, op: &Op) {
        match op {
            Op::Erased { first, count } => {
                let first = usize::from(*first);
                let end = (first + usize::from(*count)).min(self.data_erases.len());
                for c in self.data_erases.get_mut(first..end).unwrap_or(&mut []) {
                    *c = c.saturating_add(1);
                }
            }
            Op::Installed { name, image } => {
                self.raise_floor(name, image.version);
                match self.app_mut(name) {
                    Some(app) => {
                        if app.confirmed {
                            // The confirmed version becomes the fallback.
                            app.previous = Some(app.active.clone());
                        }
                        // An unconfirmed active version is simply replaced.
                        app.active = image.clone();
                        app.confirmed = false;
                        app.trial_boots = 1;
                    }
                    None => {
                        let _ = self.apps.push(AppRecord {
                            name: name.clone(),
                            active: image.clone(),
                            confirmed: false,
                            previous: None,
                            trial_boots: 1,
                        });
                    }
                }
            }
            Op::Confirmed { name } => {
                if let Some(app) = self.app_mut(name) {
                    app.confirmed = true;
                    app.previous = None;
                    app.trial_boots = 0;
                }
            }
            Op::RolledBack { name } => {
                if let Some(app) = self.app_mut(name)
                    && let Some(previous) = app.previous.take()
                {
                    app.active = previous;
                    app.confirmed = true;
                    app.trial_boots = 0;
                }
            }
            Op::Removed { name } => {
                if let Some(i) = self.apps.iter().position(|a| &a.name == name) {
                    self.apps.remove(i);
                }
            }
            Op::TrialBoot { name } => {
                if let Some(app) = self.app_mut(name)
                    && !app.confirmed
                {
                    app.trial_boots = app.trial_boots.saturating_add(1);
                }
            }
            Op::Counter { value } => self.counter = self.counter.max(*value),
            Op::Revoked { key, revoked } => {
                self.revoked.retain(|k| k != key);
                if *revoked {
                    // The store refuses a revocation when the list is full.
                    let _ = self.revoked.push(*key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot of the fullest state fits one journal record.
    #[test]
    fn the_fullest_state_fits_a_journal_record() {
        let name = |i: usize| AppName::try_from(alloc_free_name(i).as_str()).unwrap();
        let big = Version::new(u16::MAX, u16::MAX, u16::MAX);
        let image = Image { slot: 15, len: u32::MAX, version: big, digest: [0xFF; 32], signer: Some([0xFF; 8]) };
        let mut state = State::fresh(MAX_DATA_SECTORS, MAX_META_SECTORS);
        for i in 0..MAX_APPS {
            let record = AppRecord {
                name: name(i),
                active: image.clone(),
                confirmed: false,
                previous: Some(image.clone()),
                trial_boots: u8::MAX,
            };
            state.apps.push(record).unwrap();
        }
        for i in 0..MAX_FLOORS {
            state.floors.push(Floor { name: name(i), version: big }).unwrap();
        }
        state.data_erases.iter_mut().chain(state.meta_erases.iter_mut()).for_each(|c| *c = u32::MAX);
        state.counter = u64::MAX;
        while state.revoked.push([0xFF; 8]).is_ok() {}
        let mut buf = [0u8; super::super::journal::MAX_RECORD];
        let len = postcard::to_slice(&state, &mut buf[super::super::journal::HEADER..]).unwrap().len();
        assert!(super::super::journal::HEADER + len <= super::super::journal::MAX_RECORD, "{len}");
    }

    /// A 32-character app name unique to `i`.
    fn alloc_free_name(i: usize) -> heapless::String<32> {
        let mut s = heapless::String::new();
        for _ in 0..31 {
            s.push('a').unwrap();
        }
        s.push((b'a' + i as u8) as char).unwrap();
        s
    }
}
