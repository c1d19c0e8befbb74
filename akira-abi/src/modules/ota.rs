//! `akira:ota`.

use crate::Ret;
use crate::Stability::Experimental;
use crate::{CItem, Cost, Function, Module};

/// The `akira:ota` module.
pub static OTA: Module = Module {
    name: "ota",
    import: "akira:ota",
    capability: "ota",
    scope: r#""#,
    doc: r#"An app's view of its own over-the-air update. A version freshly installed
runs *on trial*: the firmware confirms it after a healthy run (a
device-configured time without a fault) or rolls it back to the previous
version when it crash-loops. If the device boots again before the version
is confirmed (a reset, a watchdog, a power cut; after the device's
configured number of trial boots, 1 by default), the version is reverted
at that boot before it runs: rolled back to the previous version, or
uninstalled if it was the app's first. An app may confirm itself as soon as its own
self-test passed, or ask to go back. It only ever acts on its own update.
`confirm` and `request_rollback` return at once; the firmware carries them
out at its next scheduling round (a rollback then stops the app and starts
its previous version, so an app should stop doing work after asking). An
app the firmware does not manage (built into the firmware, or run without
an OTA store, as in `akira run`) is never on trial and has no previous
version. `ota` has no scope."#,
    functions: &[
        Function {
            name: "version",
            params: &[],
            result: Ret::I64,
            stability: Experimental,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"The running version, `major << 32 \| minor << 16 \| patch` (as `akira:sys.app_version`)."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Versions packed as major << 32 | minor << 16 | patch."#,
        },
        Function {
            name: "previous_version",
            params: &[],
            result: Ret::I64,
            stability: Experimental,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"The version a rollback returns to, packed the same way; `AKIRA_ENORES` if there is none."#,
            #[cfg(feature = "docs")]
            c_doc: r#"AKIRA_ENORES if there is no previous version."#,
        },
        Function {
            name: "is_trial",
            params: &[],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(20),
            #[cfg(feature = "docs")]
            doc: r#"1 while the running version is on trial, 0 once confirmed."#,
            #[cfg(feature = "docs")]
            c_doc: r#"1 on trial, 0 confirmed."#,
        },
        Function {
            name: "confirm",
            params: &[],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(200),
            #[cfg(feature = "docs")]
            doc: r#"Confirms the version on trial (its previous version is dropped; `is_trial` reads 0 after the firmware's next round). Returns 0, also when there is nothing to confirm."#,
            #[cfg(feature = "docs")]
            c_doc: r#"Carried out at the firmware's next round."#,
        },
        Function {
            name: "request_rollback",
            params: &[],
            result: Ret::I32,
            stability: Experimental,
            cost: Cost::fixed(200),
            #[cfg(feature = "docs")]
            doc: r#"Asks for the previous version: at the firmware's next round this version is dropped and the previous one started. Returns 0; `AKIRA_ENORES` if there is no previous version."#,
            #[cfg(feature = "docs")]
            c_doc: r#""#,
        },
    ],
    c_items: &[
        CItem::Import("version"),
        CItem::Import("previous_version"),
        CItem::Import("is_trial"),
        CItem::Import("confirm"),
        CItem::Import("request_rollback"),
    ],
};
