//! Trials across reboots (MCUboot's test-then-confirm): a version on trial
//! runs a limited number of boots; at the boot after its last one it is
//! reverted unless it was confirmed.
//!
//! The count is in the journal ([`Op::TrialBoot`]), written before the
//! version runs again, so a version that resets (or hangs until a
//! watchdog resets) the device is reverted however it fails: a power cut
//! before the record leaves the boot uncounted, but then the version did
//! not run in it either.

use akira_caps::Version;
use akira_caps::manifest::AppName;
use embedded_storage_async::nor_flash::NorFlash;

use super::{Image, Op, Store, StoreError};

/// What [`Store::boot`] found and did for one app at boot.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Boot {
    /// The active version is confirmed: start it.
    Confirmed,
    /// The active version is on trial and this boot was recorded, the
    /// `boots`th it runs in (its install was the first): start it.
    Trial {
        /// Boots it has run in, this one included.
        boots: u8,
    },
    /// The version on trial had run its boots unconfirmed and was rolled
    /// back: start `to`, the confirmed version it replaced.
    RolledBack {
        /// The version dropped.
        from: Version,
        /// The version now active (confirmed).
        to: Image,
    },
    /// The version on trial had run its boots unconfirmed and the app had
    /// no earlier version: it was uninstalled (its anti-rollback floor
    /// stays), as it was before the install.
    Removed {
        /// The version dropped.
        version: Version,
    },
}

impl<F: NorFlash> Store<F> {
    /// Prepares app `name` to run at boot: a confirmed version runs; a
    /// version on trial that has run fewer than `max_trial_boots` boots
    /// (the boot that installed it counts; 0 is taken as 1) gets this boot
    /// recorded in the journal and runs; one that ran them all without
    /// being confirmed is reverted: rolled back to the previous version,
    /// or uninstalled if it was the app's first. So with the default of
    /// 1, a version on trial that is not confirmed when the device boots
    /// again is reverted.
    ///
    /// Call it once per app per boot, before starting the app. On
    /// [`StoreError::Flash`] nothing is certain but the journal: do not
    /// start the version on trial (its boot may not be counted).
    pub async fn boot(&mut self, name: &AppName, max_trial_boots: u8) -> Result<Boot, StoreError> {
        let app = self.state.app(name).ok_or(StoreError::NotFound)?;
        if app.confirmed {
            return Ok(Boot::Confirmed);
        }
        let from = app.active.version;
        if app.trial_boots < max_trial_boots.max(1) {
            self.append(Op::TrialBoot { name: name.clone() }).await?;
            let boots = self.state.app(name).map_or(0, |a| a.trial_boots);
            return Ok(Boot::Trial { boots });
        }
        match app.previous.clone() {
            Some(to) => {
                self.append(Op::RolledBack { name: name.clone() }).await?;
                Ok(Boot::RolledBack { from, to })
            }
            None => {
                self.append(Op::Removed { name: name.clone() }).await?;
                Ok(Boot::Removed { version: from })
            }
        }
    }
}
