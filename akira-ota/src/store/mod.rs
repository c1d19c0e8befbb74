//! A power-loss-safe app store on any NorFlash.
//!
//! # Layout
//!
//! The store's region is split into `meta_sectors` journal sectors followed
//! by `slots` equal app slots. An app image is the wasm module, written to
//! a free slot; the journal says which slot holds which app's active and
//! previous version.
//!
//! # Atomicity
//!
//! Every change is one journal record appended after the data it refers
//! to is in flash: a new image is staged in a slot no app refers to, and
//! becomes the app's active version only when the `Installed` record is
//! written. A power cut before that leaves the old state (the slot is just
//! free space); a torn record fails its CRC and is ignored. The journal is
//! a ring of sectors, each starting with a snapshot of the whole state;
//! when a sector is full the next one is erased and starts with a fresh
//! snapshot, so the sector holding the newest snapshot is never erased.
//! Recovery picks the valid snapshot with the highest sequence number and
//! replays the records after it.
//!
//! # Versions
//!
//! A new version is on trial until confirmed; the last confirmed version
//! stays in flash until then, so a crash loop or an explicit request rolls
//! back to it. A trial also ends with the boots it may run in
//! ([`Store::boot`], MCUboot's test-then-confirm): the device counts each
//! boot in the journal before the version runs, and at the boot after the
//! last one reverts a version still unconfirmed, so a version that resets
//! the device is reverted too. Each app has an anti-rollback floor (the highest version
//! ever installed); installing at or below it is refused unless the device
//! owner allows downgrades.
//!
//! # Wear
//!
//! A new image goes to the free slot whose sectors were erased least, only
//! the sectors it needs are erased, and already-erased sectors are not
//! erased again; the journal rotates through its sectors. A slot is erased
//! when an operation frees it (so free slots read erased), and what a
//! refused transfer wrote is erased again ([`Store::discard`]): the flash
//! then reads as it did before the transfer. Erase counts are
//! kept in the state ([`Store::erase_counts`]); a power cut between an
//! erase and its record undercounts that erase.

mod apps;
mod blocking;
mod flash;
mod journal;
mod state;
mod trial;

use core::fmt;

use akira_caps::Version;
use akira_caps::manifest::AppName;
use sha2::{Digest, Sha256};

pub use blocking::BlockingStore;
pub use flash::{BlockingFlash, FlashFault, MAX_WRITE_SIZE, Region};
pub use state::{
    AppRecord, Floor, Image, MAX_APPS, MAX_DATA_SECTORS, MAX_FLOORS, MAX_META_SECTORS, MAX_REVOKED, MAX_SLOTS, Op,
    SignerId, State,
};
pub use trial::Boot;

use flash::Flash;

pub use flash::block_on;

/// How to divide the region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StoreConfig {
    /// Journal sectors (2 to 8).
    pub meta_sectors: u32,
    /// App slots (1 to 16). Updating an app needs a free slot beside its
    /// active and previous versions: plan for `apps + 1` or more.
    pub slots: u32,
}

impl Default for StoreConfig {
    /// 2 journal sectors, 4 slots.
    fn default() -> Self {
        StoreConfig { meta_sectors: 2, slots: 4 }
    }
}

/// Why a store operation failed. Nothing was changed unless the variant
/// is [`StoreError::Flash`] (the flash failed midway: reopen the store,
/// which recovers the last committed state).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StoreError {
    /// The flash failed.
    Flash(FlashFault),
    /// The region or configuration cannot hold a store; says why.
    Config(&'static str),
    /// The image is larger than a slot.
    TooLarge {
        /// Image bytes.
        len: u32,
        /// Slot bytes.
        slot_bytes: u32,
    },
    /// The version is not above the app's anti-rollback floor.
    Downgrade {
        /// The version offered.
        version: Version,
        /// The highest version installed before.
        floor: Version,
    },
    /// No free slot.
    NoSpace,
    /// The store already holds [`MAX_APPS`] apps.
    TooManyApps,
    /// Another install is staging.
    Busy,
    /// No such app.
    NotFound,
    /// The app has no previous version to return to.
    NothingToRollBack,
    /// More bytes were written to a staged image than it declared.
    Overrun,
    /// Fewer bytes were written to a staged image than it declared.
    Incomplete {
        /// Bytes written.
        written: u32,
        /// Bytes declared.
        len: u32,
    },
    /// The app is bound to the key that installed it, and this package is
    /// signed by another key without the right to take it over.
    BoundToSigner {
        /// The key the installed app is bound to (`None`: unsigned).
        bound: Option<SignerId>,
        /// The key that signed the offered package (`None`: unsigned).
        offered: Option<SignerId>,
    },
    /// The revocation list is full ([`MAX_REVOKED`] keys).
    TooManyRevoked,
}

/// What the device owner allows an install beyond the usual rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Allow {
    /// A version at or below the app's anti-rollback floor.
    pub downgrade: bool,
    /// A package from another key than the one the app is bound to.
    pub take_over: bool,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Flash(e) => write!(f, "flash error: {e:?}"),
            StoreError::Config(why) => write!(f, "store configuration: {why}"),
            StoreError::TooLarge { len, slot_bytes } => {
                write!(f, "app is {len} bytes, a slot holds {slot_bytes}")
            }
            StoreError::Downgrade { version, floor } => {
                write!(f, "version {version} is not above {floor}, the highest installed before (anti-rollback)")
            }
            StoreError::NoSpace => f.write_str("no free slot"),
            StoreError::TooManyApps => write!(f, "the store already holds {MAX_APPS} apps"),
            StoreError::Busy => f.write_str("another install is in progress"),
            StoreError::NotFound => f.write_str("no such app"),
            StoreError::NothingToRollBack => f.write_str("the app has no previous version to roll back to"),
            StoreError::Overrun => f.write_str("more bytes than the image declared"),
            StoreError::Incomplete { written, len } => write!(f, "image incomplete: {written} of {len} bytes"),
            StoreError::BoundToSigner { bound, offered } => {
                let key = |k: &Option<SignerId>| k.map_or(KeyName::Unsigned, KeyName::Key);
                write!(f, "the app is bound to {}; {} may not take it over", key(bound), key(offered))
            }
            StoreError::TooManyRevoked => write!(f, "at most {MAX_REVOKED} keys can be revoked"),
        }
    }
}

impl core::error::Error for StoreError {}

/// A signer as messages name it.
enum KeyName {
    Unsigned,
    Key(SignerId),
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyName::Unsigned => f.write_str("unsigned packages"),
            KeyName::Key(id) => write!(f, "key {}", crate::package::Hex(id)),
        }
    }
}

impl From<FlashFault> for StoreError {
    fn from(e: FlashFault) -> Self {
        StoreError::Flash(e)
    }
}

/// Free space, as `akira device list` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Capacity {
    /// Slots in all.
    pub slots: u32,
    /// Slots no app refers to.
    pub free_slots: u32,
    /// Bytes per slot: the largest app.
    pub slot_bytes: u32,
    /// Installed apps.
    pub apps: u32,
    /// Most apps.
    pub max_apps: u32,
}

/// Where the journal is (see [`Store::journal_position`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct JournalPosition {
    /// The journal sector in use.
    pub sector: u32,
    /// Where in it the next record goes.
    pub offset: u32,
    /// Sequence number of the last record.
    pub sequence: u32,
}

/// An image being written to a free slot; becomes an app's version on
/// [`Store::commit`].
#[derive(Debug)]
pub struct Staging {
    name: AppName,
    version: Version,
    signer: Option<SignerId>,
    slot: u8,
    len: u32,
    written: u32,
    hasher: Sha256,
    tail: [u8; MAX_WRITE_SIZE],
    tail_len: usize,
}

impl Staging {
    /// The slot being written.
    pub fn slot(&self) -> u8 {
        self.slot
    }

    /// Bytes written so far.
    pub fn written(&self) -> u32 {
        self.written
    }

    /// Bytes declared.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the image is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// SHA-256 of the bytes written so far.
    pub(crate) fn digest(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }
}

/// Where the journal writes next.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    sector: u32,
    at: u32,
    seq: u32,
    /// The rest of the sector is not known to be erased (a torn record):
    /// the next append starts a new sector.
    dirty: bool,
}

/// The app store over an async NorFlash. See the module docs for the
/// design; [`BlockingStore`] is the same over a blocking NorFlash.
pub struct Store<F> {
    flash: Flash<F>,
    config: StoreConfig,
    slot_sectors: u32,
    state: State,
    cursor: Cursor,
    staging_slot: Option<u8>,
    /// Erases made when discarding a refused transfer, counted in `state`
    /// but not yet in the journal: written before the next record, so a
    /// refused transfer leaves the journal as it was.
    unrecorded: heapless::Vec<(u16, u16), 4>,
    buf: [u8; journal::MAX_RECORD],
}
