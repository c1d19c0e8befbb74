//! The install-time check: every import of an app must be a known function
//! of a bridge module the app was granted.
//!
//! Bridge modules describe themselves with a [`ModuleSpec`]: the wasm import
//! module name, the capability that unlocks it, and each function's name and
//! signature. [`check_import`] compares one import of an app against the
//! specs and the app's granted capabilities; an unknown module, an ungranted
//! one, an unknown function or a wrong signature is an [`ImportError`] that
//! names the module and the function.

use core::fmt;

use crate::capability::Capability;
use crate::scope::CapabilitySet;

pub use akira_abi::{Param, Ret, Stability, Type, ValType};

/// One function a bridge module exports to apps: its name, its named and
/// typed parameters, its result, its stability and its documentation. The
/// built-in modules' functions are `akira-abi`'s; a vendor module declares
/// its own with [`FnSpec::new`].
pub use akira_abi::Function as FnSpec;

/// The capability that unlocks a bridge module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleCapability {
    /// A built-in capability.
    Builtin(Capability),
    /// A vendor capability, `namespace:module`.
    Vendor(&'static str),
}

impl ModuleCapability {
    /// Whether `caps` holds this capability.
    pub fn granted_in(&self, caps: &CapabilitySet) -> bool {
        match self {
            ModuleCapability::Builtin(c) => caps.has(*c),
            ModuleCapability::Vendor(name) => caps.vendor(name).is_some(),
        }
    }

    /// The capability's manifest name.
    pub fn name(&self) -> &'static str {
        match self {
            ModuleCapability::Builtin(c) => c.name(),
            ModuleCapability::Vendor(name) => name,
        }
    }
}

/// What a bridge module offers apps: its import module name, the
/// capability that unlocks it and its functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleSpec {
    /// The wasm import module name: `akira:<capability>` for built-in
    /// modules, the vendor capability name for custom ones.
    pub import: &'static str,
    /// The capability that unlocks the module.
    pub capability: ModuleCapability,
    /// The functions, in documentation order.
    pub functions: &'static [FnSpec],
}

impl ModuleSpec {
    /// The function called `name`, if the module has one.
    pub fn function(&self, name: &str) -> Option<&'static FnSpec> {
        self.functions.iter().find(|f| f.name == name)
    }
}

/// The import module name of a built-in capability's module.
pub const fn builtin_import(cap: Capability) -> &'static str {
    match cap {
        Capability::Gpio => "akira:gpio",
        Capability::I2c => "akira:i2c",
        Capability::Spi => "akira:spi",
        Capability::Uart => "akira:uart",
        Capability::Pwm => "akira:pwm",
        Capability::Adc => "akira:adc",
        Capability::Timer => "akira:timer",
        Capability::Sensor => "akira:sensor",
        Capability::Storage => "akira:storage",
        Capability::Display => "akira:display",
        Capability::Hid => "akira:hid",
        Capability::Ble => "akira:ble",
        Capability::Rf => "akira:rf",
        Capability::Net => "akira:net",
        Capability::Ipc => "akira:ipc",
        Capability::Ota => "akira:ota",
        Capability::Rng => "akira:rng",
        Capability::Sys => "akira:sys",
        Capability::Log => "akira:log",
        Capability::App => "akira:app",
        // WASI's own module name, which WASI toolchains import.
        Capability::Wasi => "wasi_snapshot_preview1",
    }
}

/// What kind of item an app imports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportKind<'a> {
    /// A function with this signature.
    Func {
        /// Parameter types.
        params: &'a [ValType],
        /// Result types.
        results: &'a [ValType],
    },
    /// A memory, table or global: apps may import none of these.
    Other,
}

/// A name as it appears in an error: cut to 64 bytes.
pub type ImportName = heapless::String<64>;

fn cut(name: &str) -> ImportName {
    let mut s = ImportName::new();
    for ch in name.chars() {
        if s.push(ch).is_err() {
            break;
        }
    }
    s
}

/// Why an import was refused. Every variant names the import module and
/// the item.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ImportError {
    /// No bridge module has this import module name.
    UnknownModule {
        /// Import module name.
        module: ImportName,
        /// Item name.
        name: ImportName,
    },
    /// The module exists but the app was not granted its capability.
    NotGranted {
        /// Import module name.
        module: ImportName,
        /// Item name.
        name: ImportName,
        /// The capability the app would need.
        capability: &'static str,
    },
    /// The module has no function of this name.
    UnknownFunction {
        /// Import module name.
        module: ImportName,
        /// Item name.
        name: ImportName,
    },
    /// The function exists with another signature.
    SignatureMismatch {
        /// Import module name.
        module: ImportName,
        /// Item name.
        name: ImportName,
    },
    /// The app imports a memory, table or global.
    NotAFunction {
        /// Import module name.
        module: ImportName,
        /// Item name.
        name: ImportName,
    },
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::UnknownModule { module, name } => {
                write!(f, "import `{module}.{name}`: no bridge module is called `{module}`")
            }
            ImportError::NotGranted { module, name, capability } => {
                write!(f, "import `{module}.{name}`: capability `{capability}` is not granted to this app")
            }
            ImportError::UnknownFunction { module, name } => {
                write!(f, "import `{module}.{name}`: module `{module}` has no function `{name}`")
            }
            ImportError::SignatureMismatch { module, name } => {
                write!(f, "import `{module}.{name}`: signature does not match the ABI")
            }
            ImportError::NotAFunction { module, name } => {
                write!(f, "import `{module}.{name}`: apps may only import functions")
            }
        }
    }
}

impl core::error::Error for ImportError {}

/// Checks one import against the bridge's modules and the app's granted
/// capabilities; returns the function's spec when it is allowed.
pub fn check_import(
    modules: &[&'static ModuleSpec],
    granted: &CapabilitySet,
    module: &str,
    name: &str,
    kind: ImportKind<'_>,
) -> Result<&'static FnSpec, ImportError> {
    let (m, n) = (cut(module), cut(name));
    let ImportKind::Func { params, results } = kind else {
        return Err(ImportError::NotAFunction { module: m, name: n });
    };
    let Some(spec) = modules.iter().find(|s| s.import == module) else {
        return Err(ImportError::UnknownModule { module: m, name: n });
    };
    if !spec.capability.granted_in(granted) {
        return Err(ImportError::NotGranted { module: m, name: n, capability: spec.capability.name() });
    }
    let Some(func) = spec.function(name) else {
        return Err(ImportError::UnknownFunction { module: m, name: n });
    };
    if !func.has_signature(params, results) {
        return Err(ImportError::SignatureMismatch { module: m, name: n });
    }
    Ok(func)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ValType::I32;

    static GPIO: ModuleSpec = ModuleSpec {
        import: "akira:gpio",
        capability: ModuleCapability::Builtin(Capability::Gpio),
        functions: &[FnSpec::new(
            "write",
            &[Param::new("pin", Type::I32), Param::new("level", Type::I32)],
            Ret::I32,
            "drive a pin",
        )],
    };
    static VALVE: ModuleSpec =
        ModuleSpec { import: "acme:valve", capability: ModuleCapability::Vendor("acme:valve"), functions: &[] };
    const FN: ImportKind<'static> = ImportKind::Func { params: &[I32, I32], results: &[I32] };

    #[test]
    fn each_refusal_names_module_and_function() {
        let mods = [&GPIO, &VALVE];
        let none = CapabilitySet::default();
        let gpio = CapabilitySet { gpio: Some(Default::default()), ..Default::default() };

        let e = check_import(&mods, &none, "env", "write", FN).unwrap_err();
        assert_eq!(e.to_string(), "import `env.write`: no bridge module is called `env`");
        let e = check_import(&mods, &none, "akira:gpio", "write", FN).unwrap_err();
        assert_eq!(e.to_string(), "import `akira:gpio.write`: capability `gpio` is not granted to this app");
        let e = check_import(&mods, &gpio, "akira:gpio", "blink", FN).unwrap_err();
        assert!(matches!(e, ImportError::UnknownFunction { .. }));
        let e = check_import(&mods, &gpio, "akira:gpio", "write", ImportKind::Func { params: &[I32], results: &[I32] })
            .unwrap_err();
        assert!(matches!(e, ImportError::SignatureMismatch { .. }));
        let e = check_import(&mods, &gpio, "akira:gpio", "mem", ImportKind::Other).unwrap_err();
        assert!(matches!(e, ImportError::NotAFunction { .. }));
        let e = check_import(&mods, &gpio, "acme:valve", "open", FN).unwrap_err();
        assert!(matches!(e, ImportError::NotGranted { capability: "acme:valve", .. }));

        assert_eq!(check_import(&mods, &gpio, "akira:gpio", "write", FN).unwrap().name, "write");
    }

    #[test]
    fn builtin_import_names_follow_capability_names() {
        for cap in Capability::ALL.into_iter().filter(|c| *c != Capability::Wasi) {
            assert_eq!(builtin_import(cap).strip_prefix("akira:"), Some(cap.name()));
        }
        assert_eq!(builtin_import(Capability::Wasi), "wasi_snapshot_preview1");
    }
}
