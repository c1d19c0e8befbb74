//! Installing an untrusted module: validation, the embedded manifest, the
//! grant under the device policy and the import check
//! (`Runtime::load`), then instantiation and a few time slices. Modules
//! come from wasm-smith (structure-aware: importing from the bridge's real
//! functions, exporting `akira_main`) with a manifest granting everything,
//! nothing or only GPIO, or are raw bytes (the first byte picks).
//! Besides not panicking: a module that loads imports only functions of
//! modules its manifest grants, and instantiates or fails with an error.

#![no_main]

#[path = "common.rs"]
mod common;

use akira_bridge::wasmi::ExternType;
use akira_caps::manifest::AppName;
use akira_caps::scope::{GpioScope, StorageScope};
use akira_caps::{CapabilitySet, Manifest, Version};
use akira_sandbox::{Runtime, Step};
use akira_sim::SimBoard;
use arbitrary::Unstructured;
use common::val;
use libfuzzer_sys::fuzz_target;
use wasm_encoder::{EntityType, ExportKind, ExportSection, FunctionSection, ImportSection, Module, TypeSection};

thread_local! {
    static RUNTIME: Runtime<SimBoard> = common::runtime();
    static IMPORTS: Vec<u8> = RUNTIME.with(|r| bridge_imports(r));
}

/// A module importing every function of every bridge module, for
/// wasm-smith's `available_imports`.
fn bridge_imports(runtime: &Runtime<SimBoard>) -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let mut n = 0;
    for spec in runtime.bridge().specs() {
        for f in spec.functions {
            types.ty().function(f.wasm_params().map(val), f.result.wasm().iter().copied().map(val));
            imports.import(spec.import, f.name, EntityType::Function(n));
            n += 1;
        }
    }
    let mut module = Module::new();
    module.section(&types).section(&imports);
    module.finish()
}

/// A module exporting the entry point, for wasm-smith's `exports`.
fn entry_export() -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut exports = ExportSection::new();
    exports.export("akira_main", ExportKind::Func, 0);
    let mut code = wasm_encoder::CodeSection::new();
    let mut body = wasm_encoder::Function::new([]);
    body.instruction(&wasm_encoder::Instruction::End);
    code.function(&body);
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&exports).section(&code);
    module.finish()
}

fn manifest(which: u8) -> Manifest {
    let mut m = Manifest::new(AppName::try_from("fuzz").unwrap(), Version::new(1, 0, 0));
    match which % 3 {
        0 => {
            m.capabilities = CapabilitySet::everything();
            m.capabilities.storage = Some(StorageScope::with_quota(1024));
        }
        1 => {}
        _ => {
            m.capabilities.gpio =
                Some(GpioScope::new([0].into_iter().collect(), [1].into_iter().collect(), Default::default()))
        }
    }
    m
}

fn check(runtime: &Runtime<SimBoard>, wasm: &[u8]) {
    let Ok(app) = runtime.load(wasm) else { return };
    for import in app.module().imports() {
        assert!(matches!(import.ty(), ExternType::Func(_)), "only functions are imported");
        let spec = runtime.bridge().specs().iter().find(|s| s.import == import.module());
        let spec = spec.expect("a loaded app imports only the bridge's modules");
        assert!(
            spec.capability.granted_in(&app.manifest().capabilities),
            "{}.{} linked without its capability",
            import.module(),
            import.name()
        );
    }
    let Ok(mut instance) = runtime.instantiate(&app, 0, SimBoard::virtual_time()) else { return };
    for _ in 0..3 {
        match instance.step() {
            Step::Yielded => {}
            _ => break,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    RUNTIME.with(|runtime| {
        if mode & 1 == 0 {
            check(runtime, rest);
            return;
        }
        let mut u = Unstructured::new(rest);
        let Ok(mut config) = u.arbitrary::<wasm_smith::Config>() else { return };
        config.available_imports = Some(IMPORTS.with(Clone::clone));
        config.exports = Some(entry_export());
        config.max_memories = 1;
        config.max_memory32_bytes = 1 << 20;
        config.memory64_enabled = false;
        config.max_instructions = 200;
        let Ok(module) = wasm_smith::Module::new(config, &mut u) else { return };
        let mut wasm = module.to_bytes();
        wasm.extend(manifest(mode >> 1).custom_section());
        check(runtime, &wasm);
    });
});
