//! `size-budgets.toml`: the firmware configurations the size report builds
//! and the budgets it holds them to.

use std::path::Path;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    /// The configurations, in report order.
    pub firmware: Vec<Firmware>,
}

/// One firmware build: a binary of a standalone package, with features and
/// an opt-level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Firmware {
    /// A short name for the report and `--only`.
    pub name: String,
    /// What the configuration is, one line.
    pub about: String,
    /// The package directory, from the workspace root.
    pub dir: String,
    /// The binary.
    pub bin: String,
    /// Cargo features (`--features`).
    #[serde(default)]
    pub features: Vec<String>,
    /// Build without the package's default features.
    #[serde(default)]
    pub no_default_features: bool,
    /// The release profile's opt-level (`s`, `z`, `3`...); the package's own
    /// when absent.
    pub opt_level: Option<String>,
    /// Allocated sections that are not stored in flash on this chip (the
    /// ESP bootloader leaves `.eh_frame` out, for instance).
    #[serde(default)]
    pub not_in_flash: Vec<String>,
    /// Crates whose code must not be in the firmware at all (the
    /// interpreter, in a firmware that runs native code only): the report
    /// fails when any of their bytes are.
    #[serde(default)]
    pub without: Vec<String>,
    /// Boot it under QEMU, push an app over the air and read the stack and
    /// heap figures it logs.
    pub qemu: Option<Qemu>,
    /// The limits; a configuration without any is reported only.
    #[serde(default)]
    pub budget: Budget,
}

/// How to run a firmware under QEMU.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Qemu {
    /// The runner script in the package directory: `run.sh <elf>` boots the
    /// firmware with UART1 on TCP port `$AKIRA_OTA_PORT` and prints its
    /// decoded log.
    pub runner: String,
    /// The app to push (an app directory, from the workspace root).
    pub app: String,
    /// The key to sign it with (from the package directory).
    pub key: String,
    /// Arguments `akira pack` gets beside the app, the key and the output
    /// (`["--aot", "thumbv7em"]` for a firmware without the interpreter).
    #[serde(default)]
    pub pack: Vec<String>,
    /// A key (from the package directory) whose package of the same app the
    /// firmware must refuse: pushed before the app, the push must fail.
    pub refused_key: Option<String>,
    /// The `akira pack` arguments of the refused package, if not `pack`'s
    /// (`[]`: the same app without native code, which a firmware without
    /// the interpreter must refuse).
    pub refused_pack: Option<Vec<String>>,
}

/// Limits, in bytes. Absent ones are not checked.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Budget {
    /// Code and constants: every allocated section stored in flash.
    pub flash: Option<u64>,
    /// Statics: every writable allocated section (heap and stores included).
    pub ram: Option<u64>,
    /// The stack high-water mark through an OTA install and the installed
    /// app's first run.
    pub stack: Option<u64>,
    /// The heap one idle app takes (the preinstalled blinky, 4 KiB of
    /// linear memory).
    pub heap_per_app: Option<u64>,
}

impl Budgets {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<Budgets, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let budgets: Budgets = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut names: Vec<&str> = budgets.firmware.iter().map(|f| f.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("{}: two configurations are called `{}`", path.display(), w[0]));
        }
        Ok(budgets)
    }
}
