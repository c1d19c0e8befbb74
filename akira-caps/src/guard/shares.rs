//! Per-app shares the guard meters beside its grants: bytes written to
//! flash over a rolling hour (the app's share of the flash's wear) and
//! console lines over a rolling second (its share of the console).

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
}
