//! Loading apps: validate, read the manifest, grant, check imports, link
//! only what was granted, instantiate under limits.

use alloc::string::ToString;
use alloc::vec::Vec;

use akira_bridge::{AppInfo, AppLimits, AppState, Board, Bridge};
use akira_caps::imports::{ImportKind, check_import};
use akira_caps::manifest::{AppName, SECTION_NAME};
use akira_caps::{Grants, Guard, Manifest, Policy, ValType, Version, VouchedWasm, grant};
use wasmi::{Engine, ExternType, Linker, Module, Store};

use crate::config::RuntimeConfig;
use crate::error::LoadError;
use crate::instance::AppInstance;

/// The name of the function the runtime calls to run an app.
pub const ENTRY_POINT: &str = "akira_main";

/// The name given to an app whose module has no manifest.
pub const UNNAMED_APP: &str = "unnamed";

/// A wasmi engine configured for Akira apps, the bridge and the device
/// policy. One runtime serves every app of a firmware.
pub struct Runtime<B: Board> {
    engine: Engine,
    bridge: Bridge<B>,
    policy: Policy,
    config: RuntimeConfig,
}

/// An app that passed every install-time check: compiled, with its
/// manifest and grants. Cheap to clone; instantiate it as often as needed
/// (restarts make a fresh instance).
#[derive(Clone, Debug)]
pub struct LoadedApp {
    module: Module,
    manifest: Manifest,
    grants: Grants,
    entry_returns_code: bool,
    /// The app's native code (an akira-aot blob), if its signer may ship
    /// it (feature `aot`).
    #[cfg(feature = "aot")]
    native: Option<alloc::sync::Arc<[u8]>>,
}

impl LoadedApp {
    /// The app's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// What the app was granted.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// The compiled module.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Runs the app's native code rather than interpreting it (feature
    /// `aot`): `blob` is the akira-aot blob of the app's `akira.aot`
    /// section. The caller vouches that its signer may ship native code:
    /// take it from `akira_aot::trust::blob_from_package`, which hands it
    /// out only for a signer with `Rights::NATIVE_CODE`. The blob's
    /// structure is checked here; on a CPU it was not compiled for (a host
    /// build) the app runs interpreted.
    #[cfg(feature = "aot")]
    pub fn with_native_code(mut self, blob: &[u8]) -> Result<LoadedApp, LoadError> {
        akira_aot::format::Blob::parse(blob).map_err(|e| LoadError::Instantiate(alloc::format!("native code: {e}")))?;
        self.native = Some(alloc::sync::Arc::from(blob));
        Ok(self)
    }

    /// Whether the app carries native code from a trusted signer (feature
    /// `aot`): its instances run it on the CPU it was compiled for
    /// ([`crate::AppInstance::is_native`]), and interpret it elsewhere.
    pub fn has_native_code(&self) -> bool {
        #[cfg(feature = "aot")]
        return self.native.is_some();
        #[cfg(not(feature = "aot"))]
        false
    }
}

/// A wasmi signature in the bridge's terms, for comparing an import with a
/// [`akira_caps::FnSpec`]. Reference and vector types (which no bridge
/// function uses) map to `F64`, so they compare as a mismatch.
pub fn bridge_types(types: &[wasmi::ValType]) -> Vec<ValType> {
    types
        .iter()
        .map(|t| match t {
            wasmi::ValType::I32 => ValType::I32,
            wasmi::ValType::I64 => ValType::I64,
            wasmi::ValType::F32 => ValType::F32,
            _ => ValType::F64,
        })
        .collect()
}

impl<B: Board> Runtime<B> {
    /// A runtime for `bridge`'s modules under `policy`.
    pub fn new(config: RuntimeConfig, bridge: Bridge<B>, policy: Policy) -> Self {
        let mut wasmi_config = wasmi::Config::default();
        wasmi_config
            .consume_fuel(true)
            // A start function would run during instantiation, outside the
            // scheduler's time slices.
            .allow_start_fn(false)
            // Compile every function at load time. With lazy translation
            // wasmi compiles a function on its first call and charges fuel
            // for it; running out of fuel there is not resumable (wasmi
            // 2.0), so a slice boundary would kill the app. Eager
            // compilation also keeps run-time latency and heap use
            // predictable, and refuses bad code before the app starts.
            .compilation_mode(wasmi::CompilationMode::Eager)
            .set_max_recursion_depth(config.max_recursion_depth)
            .set_min_stack_height(config.max_stack_bytes.min(256))
            .set_max_stack_height(config.max_stack_bytes)
            .set_max_cached_stacks(1);
        #[cfg(feature = "validate")]
        wasmi_config.wasm_custom_page_sizes(true);
        Runtime { engine: Engine::new(&wasmi_config), bridge, policy, config }
    }

    /// The engine (shared by all apps).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The bridge.
    pub fn bridge(&self) -> &Bridge<B> {
        &self.bridge
    }

    /// The device policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The configuration.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Validates and compiles `wasm`, reads its manifest, grants it under
    /// the device policy and checks every import. A module without a
    /// manifest is granted nothing: if it imports anything it is refused.
    #[cfg(feature = "validate")]
    pub fn load(&self, wasm: &[u8]) -> Result<LoadedApp, LoadError> {
        self.load_with_policy(wasm, &self.policy)
    }

    /// [`Runtime::load`] under another policy than the device's: the
    /// policy of the key that signed the app's package (see `akira-ota`'s
    /// trust policy), so an app gets at most what its signer may grant.
    #[cfg(feature = "validate")]
    pub fn load_with_policy(&self, wasm: &[u8], policy: &Policy) -> Result<LoadedApp, LoadError> {
        if wasm.len() > self.config.max_module_bytes {
            return Err(LoadError::TooLarge { bytes: wasm.len(), limit: self.config.max_module_bytes });
        }
        let module = Module::new(&self.engine, wasm).map_err(|e| LoadError::InvalidWasm(e.to_string()))?;
        self.check(module, policy)
    }

    /// Compiles `wasm` without validating it, then runs the same checks as
    /// [`Runtime::load`].
    ///
    /// # Safety
    ///
    /// `wasm` must be a valid module (for example, one this firmware was
    /// built with); an invalid one is undefined behaviour in wasmi. Apps
    /// that arrive over the air must go through [`Runtime::load`].
    pub unsafe fn load_unchecked(&self, wasm: &[u8]) -> Result<LoadedApp, LoadError> {
        if wasm.len() > self.config.max_module_bytes {
            return Err(LoadError::TooLarge { bytes: wasm.len(), limit: self.config.max_module_bytes });
        }
        // SAFETY: the caller guarantees `wasm` is valid.
        let module =
            unsafe { Module::new_unchecked(&self.engine, wasm) }.map_err(|e| LoadError::InvalidWasm(e.to_string()))?;
        self.check(module, &self.policy)
    }

    /// Compiles `wasm` without validating it, because a signer the device
    /// trusts with skipping validation vouched for exactly these bytes
    /// (trusted-signer mode), then runs every other check of
    /// [`Runtime::load_with_policy`]: size, manifest, grant under `policy`
    /// (the signer's), imports, entry point. Works with or without the
    /// `validate` feature; on a firmware without it, this is the only way
    /// apps from over the air get in.
    ///
    /// `proof` comes from `akira-ota` (`package::Vouched`, made only for a
    /// package that verified under a key with the skip-validation right,
    /// or for an installed image of one whose bytes still match). It must
    /// cover `wasm` ([`VouchedWasm::covers`], a SHA-256 comparison), else
    /// [`LoadError::NotVouched`].
    ///
    /// The trade-off: wasmi does not defend against invalid wasm it was
    /// told is valid, so whoever holds a trusted-signer key can run
    /// malformed wasm on the device. Such a key is as trusted as the key
    /// that signs the firmware itself (as with MCUboot).
    pub fn load_vouched(&self, wasm: &[u8], proof: &impl VouchedWasm, policy: &Policy) -> Result<LoadedApp, LoadError> {
        if wasm.len() > self.config.max_module_bytes {
            return Err(LoadError::TooLarge { bytes: wasm.len(), limit: self.config.max_module_bytes });
        }
        if !proof.covers(wasm) {
            return Err(LoadError::NotVouched);
        }
        // SAFETY: `VouchedWasm` is an unsafe trait whose implementors promise
        // `covers` holds only for the exact bytes of a module a trusted
        // signer validated and signed (akira-ota's `Vouched`: checked chunk
        // by chunk under a key with the skip-validation right, then by
        // SHA-256 against these bytes).
        let module =
            unsafe { Module::new_unchecked(&self.engine, wasm) }.map_err(|e| LoadError::InvalidWasm(e.to_string()))?;
        self.check(module, policy)
    }

    fn check(&self, module: Module, policy: &Policy) -> Result<LoadedApp, LoadError> {
        let manifest = read_manifest(&module)?;
        let grants = grant(&manifest, policy)?;
        for import in module.imports() {
            let (params, results);
            let kind = match import.ty() {
                ExternType::Func(f) => {
                    (params, results) = (bridge_types(f.params()), bridge_types(f.results()));
                    ImportKind::Func { params: &params, results: &results }
                }
                _ => ImportKind::Other,
            };
            check_import(self.bridge.specs(), &manifest.capabilities, import.module(), import.name(), kind)?;
        }
        let entry_returns_code = match module.get_export(ENTRY_POINT) {
            Some(ExternType::Func(f)) if f.params().is_empty() => match f.results() {
                [] => false,
                [wasmi::ValType::I32] => true,
                _ => return Err(LoadError::NoEntry),
            },
            _ => return Err(LoadError::NoEntry),
        };
        Ok(LoadedApp {
            module,
            manifest,
            grants,
            entry_returns_code,
            #[cfg(feature = "aot")]
            native: None,
        })
    }

    /// Makes a fresh instance of `app` with its own store, limits and
    /// guard, linking only the modules it was granted. `id` is the
    /// firmware's number for the instance; `board` its board handle.
    pub fn instantiate(&self, app: &LoadedApp, id: u16, board: B) -> Result<AppInstance<B>, LoadError> {
        if !Engine::same(app.module.engine(), &self.engine) {
            return Err(LoadError::WrongRuntime);
        }
        let manifest = &app.manifest;
        let limits = AppLimits::new(manifest.memory_limit as usize, self.config.max_table_elements);
        let info = AppInfo { id, name: manifest.name.clone(), version: manifest.version };
        let mut state = AppState::new(info.clone(), Guard::new(app.grants.clone()), board, limits);
        state.set_strict(self.config.strict_denials);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| state.limits_mut());
        let mut linker = Linker::new(&self.engine);
        self.bridge
            .link(&mut linker, &info, &manifest.capabilities, &app.grants)
            .map_err(|e| LoadError::Link(e.to_string()))?;
        let instance = linker.instantiate_and_start(&mut store, &app.module).map_err(|e| {
            match store.data().limits().refused_memory() {
                Some(declared) => LoadError::MemoryLimit { declared: declared as u64, limit: manifest.memory_limit },
                None => LoadError::Instantiate(e.to_string()),
            }
        })?;
        let memory = instance.get_memory(&store, "memory");
        store.data_mut().set_memory(memory);
        let entry = instance.get_func(&store, ENTRY_POINT).ok_or(LoadError::NoEntry)?;
        #[cfg(all(feature = "aot", target_arch = "arm", target_abi = "eabihf"))]
        if let Some(blob) = &app.native {
            let native = crate::native::NativeRun::load(
                blob.clone(),
                &mut store,
                &linker,
                ENTRY_POINT,
                manifest.cpu_budget,
                self.config.max_table_elements,
            )?;
            return Ok(AppInstance::new(
                store,
                entry,
                app.entry_returns_code,
                manifest.cpu_budget,
                self.config.slice_fuel,
            )
            .with_native(native));
        }
        Ok(AppInstance::new(store, entry, app.entry_returns_code, manifest.cpu_budget, self.config.slice_fuel))
    }
}

/// Reads the `akira.manifest` section; a module without one gets an empty
/// manifest (nothing granted).
fn read_manifest(module: &Module) -> Result<Manifest, LoadError> {
    let mut sections = module.custom_sections().filter(|s| s.name() == SECTION_NAME);
    let manifest = match sections.next() {
        Some(section) => Manifest::decode(section.data())?,
        None => Manifest::new(AppName::try_from(UNNAMED_APP).unwrap_or_default(), Version::new(0, 0, 0)),
    };
    if sections.next().is_some() {
        return Err(LoadError::DuplicateManifest);
    }
    Ok(manifest)
}
