//! Per-app shares the guard meters beside its grants: bytes written to
//! flash over a rolling hour (the app's share of the flash's wear),
//! console lines over a rolling second (its share of the console), and
//! the entries it holds in firmware-wide tables (its share of each table).

use core::fmt;

use super::{
    ADV_CHANGE_BUCKET_US, ADV_CHANGE_BUCKETS, AIRTIME_BUCKET_US, AIRTIME_BUCKETS, Denial, Denied, Guard, Resource,
    Rolling,
};
use crate::capability::Capability;

/// Flash bytes written, over a rolling hour (the airtime window).
pub(super) type FlashWrites = Rolling<AIRTIME_BUCKETS, AIRTIME_BUCKET_US>;

/// Console lines, over a rolling second.
pub(super) type Console = Rolling<ADV_CHANGE_BUCKETS, ADV_CHANGE_BUCKET_US>;

/// Console lines an app may write over any rolling second; lines past it
/// are dropped and counted ([`Guard::dropped_lines`]).
pub const CONSOLE_LINES_PER_S: u32 = 50;

/// A flash write refused by the app's hourly write budget (the storage
/// module returns `AKIRA_EBUSY` for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FlashBudgetExhausted {
    /// Bytes the write needed.
    pub asked: u32,
    /// Bytes written in the last hour.
    pub used: u64,
    /// Bytes the app may write per hour.
    pub budget: u32,
}

impl fmt::Display for FlashBudgetExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "storage: a {}-byte flash write would exceed the write budget ({} of {} bytes used this hour)",
            self.asked, self.used, self.budget
        )
    }
}

impl core::error::Error for FlashBudgetExhausted {}

impl Guard {
    /// Charges a flash write of `bytes` at `now_us` (board time) to the
    /// app's hourly write budget ([`crate::Grants::storage_writes_per_hour`]).
    /// Past the budget the write is refused: the denial is counted against
    /// `storage` and returned, for the module to report and answer
    /// `AKIRA_EBUSY` (the budget refills as the hour rolls on).
    pub fn flash_write(&mut self, now_us: u64, bytes: u32) -> Result<(), Denial> {
        let budget = u64::from(self.grants.storage_writes_per_hour());
        if self.flash_writes.charge(now_us, bytes, budget).is_ok() {
            return Ok(());
        }
        Err(self.deny(Denied::Builtin(Capability::Storage), Resource::FlashWrite(bytes)))
    }

    /// What a refused flash write of `bytes` ran into, for logs: the
    /// budget and the bytes written this hour.
    pub fn flash_budget(&mut self, now_us: u64, bytes: u32) -> FlashBudgetExhausted {
        let used = self.flash_writes.used(now_us);
        FlashBudgetExhausted { asked: bytes, used, budget: self.grants.storage_writes_per_hour() }
    }

    /// Whether the app may write a console line at `now_us`: at most
    /// [`CONSOLE_LINES_PER_S`] over any rolling second. A line past it is
    /// dropped and counted ([`Guard::dropped_lines`]), so one app cannot
    /// flood the console or starve the others' lines.
    pub fn console_line(&mut self, now_us: u64) -> bool {
        let ok = self.console.charge(now_us, 1, CONSOLE_LINES_PER_S.into()).is_ok();
        if !ok {
            self.dropped_lines = self.dropped_lines.saturating_add(1);
        }
        ok
    }

    /// Console lines dropped by the rate limit since the app started.
    pub fn dropped_lines(&self) -> u32 {
        self.dropped_lines
    }

    /// Takes an entry of the firmware-wide `table` for the app: a counter
    /// compare against its share ([`crate::Grants::share`], from its
    /// manifest within the policy). Past the share nothing is taken: the
    /// denial is counted against the table's capability and returned, for
    /// the module to report and answer `AKIRA_EBUSY`, so one app cannot
    /// fill the table for all. The module gives the entry back with
    /// [`Guard::give_back`] when it leaves the table.
    pub fn take(&mut self, table: Table) -> Result<(), Denial> {
        let held = &mut self.held[table as usize];
        if *held < self.grants.share(table) {
            *held += 1;
            return Ok(());
        }
        Err(self.deny(Denied::Builtin(table.capability()), Resource::Entry(table)))
    }

    /// Gives back an entry of `table` taken with [`Guard::take`].
    pub fn give_back(&mut self, table: Table) {
        let held = &mut self.held[table as usize];
        *held = held.saturating_sub(1);
    }

    /// Entries of `table` the app holds.
    pub fn held(&self, table: Table) -> u8 {
        self.held[table as usize]
    }
}

/// A firmware-wide table whose entries apps hold, each app up to the
/// share its manifest declares within the device policy
/// ([`Guard::take`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Table {
    /// The firmware's sockets (`net`'s `sockets`).
    Sockets,
}

impl Table {
    /// Number of tables: the length of the per-app counters.
    pub(super) const COUNT: usize = 1;

    /// The capability a denial past the share is counted against.
    pub(super) const fn capability(self) -> Capability {
        match self {
            Table::Sockets => Capability::Net,
        }
    }

    /// What one entry is, for messages.
    pub(super) const fn entry(self) -> &'static str {
        match self {
            Table::Sockets => "socket",
        }
    }
}
