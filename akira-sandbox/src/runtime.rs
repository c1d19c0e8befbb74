//! Loading apps: validate, read the manifest, grant, check imports, link
//! only what was granted, instantiate under limits.

use alloc::string::ToString;
use alloc::vec::Vec;

use akira_bridge::host::Linker;
use akira_bridge::{AppInfo, AppLimits, AppState, Board, Bridge};
use akira_caps::imports::{ImportKind, check_import};
use akira_caps::manifest::{AppName, SECTION_NAME};
use akira_caps::{Grants, Guard, Manifest, Policy, ValType, Version, VouchedWasm, grant};
#[cfg(feature = "wasmi")]
use wasmi::{Engine, ExternType, Module, Store};

use crate::config::RuntimeConfig;
use crate::error::LoadError;
use crate::instance::AppInstance;

/// The name of the function the runtime calls to run an app.
pub const ENTRY_POINT: &str = "akira_main";

/// The name given to an app whose module has no manifest.
pub const UNNAMED_APP: &str = "unnamed";

/// A wasmi engine configured for Akira apps (without the `wasmi`
/// feature: native code only), the bridge and the device policy. One
/// runtime serves every app of a firmware.
pub struct Runtime<B: Board> {
    #[cfg(feature = "wasmi")]
    engine: Engine,
    bridge: Bridge<B>,
    policy: Policy,
    config: RuntimeConfig,
}

/// An app that passed every install-time check: compiled, with its
/// manifest and grants. Cheap to clone; instantiate it as often as needed
/// (restarts make a fresh instance).
#[derive(Clone, Debug)]
// Without the interpreter, on a CPU akira-aot does not compile for, apps
// load (every check runs) but never instantiate.
#[cfg_attr(not(feature = "wasmi"), allow(dead_code))]
pub struct LoadedApp {
    #[cfg(feature = "wasmi")]
    module: Module,
    /// Without the interpreter: the blob the wasm carries, whose imports
    /// and entry were checked at load, and the linear memory's initial
    /// size.
    #[cfg(not(feature = "wasmi"))]
    checked: alloc::sync::Arc<[u8]>,
    #[cfg(not(feature = "wasmi"))]
    memory_bytes: u32,
    #[cfg(not(feature = "wasmi"))]
    table_elements: u32,
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
    #[cfg(feature = "wasmi")]
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
    ///
    /// Without the interpreter (no `wasmi` feature) this is what lets the
    /// app run at all: `blob` must be the one its wasm carries, checked at
    /// load.
    #[cfg(feature = "aot")]
    pub fn with_native_code(mut self, blob: &[u8]) -> Result<LoadedApp, LoadError> {
        akira_aot::format::Blob::parse(blob).map_err(|e| LoadError::Instantiate(alloc::format!("native code: {e}")))?;
        #[cfg(feature = "wasmi")]
        let native = alloc::sync::Arc::from(blob);
        #[cfg(not(feature = "wasmi"))]
        let native = if *blob == *self.checked {
            self.checked.clone()
        } else {
            return Err(LoadError::Instantiate("native code: not the blob the app carries".into()));
        };
        self.native = Some(native);
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
#[cfg(feature = "wasmi")]
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
        Runtime {
            #[cfg(feature = "wasmi")]
            engine: engine(&config),
            bridge,
            policy,
            config,
        }
    }

    /// Whether this runtime interprets apps (feature `wasmi`); without it
    /// an app runs only with native code from a signer trusted with it
    /// (`LoadedApp::with_native_code`, feature `aot`), and one without is refused
    /// ([`LoadError::NeedsNativeCode`]).
    pub const INTERPRETS: bool = cfg!(feature = "wasmi");

    /// The engine (shared by all apps).
    #[cfg(feature = "wasmi")]
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
        #[cfg(feature = "wasmi")]
        let wasm =
            unsafe { Module::new_unchecked(&self.engine, wasm) }.map_err(|e| LoadError::InvalidWasm(e.to_string()))?;
        self.check(wasm, &self.policy)
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
        #[cfg(feature = "wasmi")]
        let wasm =
            unsafe { Module::new_unchecked(&self.engine, wasm) }.map_err(|e| LoadError::InvalidWasm(e.to_string()))?;
        self.check(wasm, policy)
    }

    #[cfg(feature = "wasmi")]
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

    /// Without the interpreter: the manifest from its custom section, the
    /// blob the wasm carries (its imports checked as the interpreter
    /// checks the wasm's, its entry point) and the memory's initial size.
    /// Nothing is compiled: the blob runs once a trusted signer's is given
    /// (`LoadedApp::with_native_code`, feature `aot`).
    #[cfg(not(feature = "wasmi"))]
    fn check(&self, wasm: &[u8], policy: &Policy) -> Result<LoadedApp, LoadError> {
        use akira_aot::format::{self, Blob};
        let invalid = |e: format::FormatError| LoadError::InvalidWasm(e.to_string());
        let manifest = match format::custom_section(wasm, SECTION_NAME) {
            Err(format::FormatError::TrailingBytes) => return Err(LoadError::DuplicateManifest),
            Err(e) => return Err(invalid(e)),
            Ok(Some(section)) => Manifest::decode(section)?,
            Ok(None) => unnamed_manifest(),
        };
        let grants = grant(&manifest, policy)?;
        let blob_bytes = format::find_in_wasm(wasm).map_err(invalid)?.ok_or(LoadError::NeedsNativeCode)?;
        let blob = Blob::parse(blob_bytes).map_err(invalid)?;
        for import in blob.imports().filter(|i| i.kind == format::ImportKind::WasmFunction) {
            let (params, results) = (caps_types(import.params.iter()), caps_types(import.results.iter()));
            let kind = ImportKind::Func { params: &params, results: &results };
            check_import(self.bridge.specs(), &manifest.capabilities, import.module, import.name, kind)?;
        }
        let entry_returns_code = match blob.export(ENTRY_POINT) {
            Some(entry) if entry.params.is_empty() => match caps_types(entry.results.iter())[..] {
                [] => false,
                [ValType::I32] => true,
                _ => return Err(LoadError::NoEntry),
            },
            _ => return Err(LoadError::NoEntry),
        };
        let memory_bytes = format::initial_memory_bytes(wasm).map_err(invalid)?.unwrap_or(0);
        if memory_bytes > manifest.memory_limit {
            return Err(LoadError::MemoryLimit { declared: u64::from(memory_bytes), limit: manifest.memory_limit });
        }
        // The native code allocates its table at start, in room kept for it.
        let table_elements = format::initial_table_elements(wasm).map_err(invalid)?;
        if table_elements as usize > self.config.max_table_elements {
            return Err(LoadError::Instantiate(alloc::format!(
                "a table of {table_elements} elements, the limit is {}",
                self.config.max_table_elements
            )));
        }
        Ok(LoadedApp {
            checked: alloc::sync::Arc::from(blob_bytes),
            memory_bytes,
            table_elements,
            manifest,
            grants,
            entry_returns_code,
            native: None,
        })
    }

    /// Makes a fresh instance of `app` with its own store, limits and
    /// guard, linking only the modules it was granted. `id` is the
    /// firmware's number for the instance; `board` its board handle.
    pub fn instantiate(&self, app: &LoadedApp, id: u16, board: B) -> Result<AppInstance<B>, LoadError> {
        #[cfg(feature = "wasmi")]
        if !Engine::same(app.module.engine(), &self.engine) {
            return Err(LoadError::WrongRuntime);
        }
        let manifest = &app.manifest;
        let limits = AppLimits::new(manifest.memory_limit as usize, self.config.max_table_elements);
        let info = AppInfo { id, name: manifest.name.clone(), version: manifest.version };
        let mut state = AppState::new(info.clone(), Guard::new(app.grants.clone()), board, limits);
        state.set_strict(self.config.strict_denials);
        #[cfg(feature = "wasmi")]
        let mut linker = Linker::new(&self.engine);
        #[cfg(not(feature = "wasmi"))]
        let mut linker = Linker::new();
        self.bridge
            .link(&mut linker, &info, &manifest.capabilities, &app.grants)
            .map_err(|e| LoadError::Link(e.to_string()))?;
        #[cfg(feature = "wasmi")]
        return self.instantiate_interpreted(app, state, linker);
        #[cfg(not(feature = "wasmi"))]
        self.instantiate_native(app, state, linker)
    }

    /// Without the interpreter: the app's native code on its own stack,
    /// its imports called directly.
    #[cfg(not(feature = "wasmi"))]
    fn instantiate_native(
        &self,
        app: &LoadedApp,
        state: AppState<B>,
        linker: Linker<AppState<B>>,
    ) -> Result<AppInstance<B>, LoadError> {
        let blob = app.native.as_ref().ok_or(LoadError::NeedsNativeCode)?;
        #[cfg(native_code)]
        {
            let parsed = akira_aot::format::Blob::parse(blob)
                .map_err(|e| LoadError::Instantiate(alloc::format!("native code: {e}")))?;
            let mut calls = crate::native::Calls::link(&parsed, linker, app.memory_bytes as usize)?;
            let memory = calls.memory_at();
            let native =
                crate::native::NativeRun::load(blob.clone(), calls, memory, ENTRY_POINT, app.table_elements as usize)?;
            let budget = app.manifest.cpu_budget;
            Ok(AppInstance::new(state, app.entry_returns_code, budget, self.config.slice_fuel).with_native(native))
        }
        #[cfg(not(native_code))]
        {
            let _ = (blob, state, linker);
            Err(LoadError::Instantiate(
                "native code: this CPU cannot run it (Cortex-M4F/M7 and RISC-V rv32 only)".into(),
            ))
        }
    }

    /// With the interpreter: a wasmi store and instance, and the app's
    /// native code if it carries some (feature `aot`).
    #[cfg(feature = "wasmi")]
    fn instantiate_interpreted(
        &self,
        app: &LoadedApp,
        state: AppState<B>,
        linker: Linker<AppState<B>>,
    ) -> Result<AppInstance<B>, LoadError> {
        let manifest = &app.manifest;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| state.limits_mut());
        let instance = linker.instantiate_and_start(&mut store, &app.module).map_err(|e| {
            match store.data().limits().refused_memory() {
                Some(declared) => LoadError::MemoryLimit { declared: declared as u64, limit: manifest.memory_limit },
                None => LoadError::Instantiate(e.to_string()),
            }
        })?;
        let memory = instance.get_memory(&store, "memory");
        store.data_mut().set_memory(memory);
        let entry = instance.get_func(&store, ENTRY_POINT).ok_or(LoadError::NoEntry)?;
        #[cfg(all(feature = "aot", native_code))]
        if let Some(blob) = &app.native {
            let parsed = akira_aot::format::Blob::parse(blob)
                .map_err(|e| LoadError::Instantiate(alloc::format!("native code: {e}")))?;
            let calls = crate::native::Calls::link(&parsed, &mut store, &linker)?;
            let memory =
                store.data().memory().ok_or(LoadError::Instantiate("native code: the app exports no memory".into()))?;
            let data = memory.data_mut(&mut store);
            let memory = (data.as_mut_ptr(), data.len());
            let native = crate::native::NativeRun::load(
                blob.clone(),
                calls,
                memory,
                ENTRY_POINT,
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
#[cfg(feature = "wasmi")]
fn read_manifest(module: &Module) -> Result<Manifest, LoadError> {
    let mut sections = module.custom_sections().filter(|s| s.name() == SECTION_NAME);
    let manifest = match sections.next() {
        Some(section) => Manifest::decode(section.data())?,
        None => unnamed_manifest(),
    };
    if sections.next().is_some() {
        return Err(LoadError::DuplicateManifest);
    }
    Ok(manifest)
}

/// The wasmi engine every app of a runtime shares.
#[cfg(feature = "wasmi")]
fn engine(config: &RuntimeConfig) -> Engine {
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
    Engine::new(&wasmi_config)
}

/// The manifest of a module without one: nothing granted.
fn unnamed_manifest() -> Manifest {
    Manifest::new(AppName::try_from(UNNAMED_APP).unwrap_or_default(), Version::new(0, 0, 0))
}

/// An AOT blob's value types in the bridge's terms.
#[cfg(all(feature = "aot", not(feature = "wasmi")))]
pub(crate) fn caps_types(types: impl Iterator<Item = akira_aot::format::ValType>) -> Vec<ValType> {
    use akira_aot::format::ValType as V;
    types
        .map(|t| match t {
            V::I32 => ValType::I32,
            V::I64 => ValType::I64,
            // Types a bridge function never has: a mismatch.
            _ => ValType::F64,
        })
        .collect()
}
