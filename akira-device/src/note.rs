//! What the device tells its firmware: [`Note`].

use akira_bridge::AppInfo;
use akira_caps::Version;
use akira_caps::manifest::AppName;
use akira_ota::store::StoreError;
use akira_sandbox::{Event, LoadError};

/// What the device did, for the firmware's log or display.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Note<'a> {
    /// An app version started.
    Started {
        /// The app.
        name: &'a AppName,
        /// Its version.
        version: Version,
        /// Whether it is on trial.
        trial: bool,
    },
    /// A package was installed.
    Installed {
        /// The app.
        name: &'a AppName,
        /// Its new version.
        version: Version,
        /// Bytes of wasm.
        bytes: u32,
        /// Whether the wasm was validated; `false` for a package from a
        /// trusted signer (trusted-signer mode).
        validated: bool,
    },
    /// A version on trial was confirmed.
    Confirmed {
        /// The app.
        name: &'a AppName,
    },
    /// An app went back to its previous version (on request, or because
    /// the version on trial crash-looped or was found corrupt).
    RolledBack {
        /// The app.
        name: &'a AppName,
        /// The version now active.
        to: Version,
    },
    /// A version on trial was still unconfirmed at the boot after its
    /// last trial boot ([`DeviceConfig::max_trial_boots`](crate::DeviceConfig::max_trial_boots)): it is reverted
    /// before it runs again ([`Note::RolledBack`] or [`Note::Removed`]
    /// follows).
    TrialExpired {
        /// The app.
        name: &'a AppName,
        /// The version dropped.
        version: Version,
    },
    /// An app was uninstalled (on request, or its first version's trial
    /// expired).
    Removed {
        /// The app.
        name: &'a AppName,
    },
    /// An installed image no longer matches its digest (flash corruption).
    Corrupt {
        /// The app.
        name: &'a AppName,
        /// The corrupt version.
        version: Version,
    },
    /// An app's native code (its package's `akira.aot` section) runs
    /// rather than the interpreter: its signer has `Rights::NATIVE_CODE`
    /// (feature `aot`). Comes before [`Note::Started`].
    #[cfg(feature = "aot")]
    NativeCode {
        /// The app.
        name: &'a AppName,
    },
    /// An installed app could not be started.
    NotStarted {
        /// The app.
        name: &'a AppName,
        /// Why.
        error: &'a LoadError,
    },
    /// The store failed (flash error).
    Store(&'a StoreError),
    /// Something happened to a running app (started, exited, faulted, ...).
    App {
        /// The app.
        app: &'a AppInfo,
        /// What.
        event: &'a Event,
    },
}
