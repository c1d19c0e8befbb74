//! Helpers shared by the integration tests.
#![allow(dead_code)]

use akira_caps::manifest::AppName;
use akira_caps::{Manifest, SECTION_NAME, Version};
use wasmparser::{Parser, Payload};

/// A small manifest.
pub fn manifest(name: &str, heap: u32) -> Manifest {
    let mut m = Manifest::new(AppName::try_from(name).unwrap(), Version::new(1, 2, 3));
    m.heap_size = heap;
    m.capabilities.log = true;
    m.capabilities.timer = true;
    m
}

/// Every section as (id, custom section name, content bytes), in order.
pub fn sections(wasm: &[u8]) -> Vec<(u8, String, Vec<u8>)> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.unwrap();
        let name = match &payload {
            Payload::CustomSection(c) => c.name().to_string(),
            _ => String::new(),
        };
        if let Some((id, range)) = payload.as_section() {
            out.push((id, name, wasm[range].to_vec()));
        }
    }
    out
}

/// How many `akira.manifest` sections the module has.
pub fn manifest_sections(wasm: &[u8]) -> usize {
    sections(wasm).iter().filter(|(id, name, _)| *id == 0 && name == SECTION_NAME).count()
}

/// A wasmi engine with custom page sizes enabled.
pub fn engine() -> wasmi::Engine {
    let mut config = wasmi::Config::default();
    config.wasm_custom_page_sizes(true);
    wasmi::Engine::new(&config)
}

/// Compiles and instantiates `wasm` with no imports.
pub fn instantiate(wasm: &[u8]) -> (wasmi::Store<()>, wasmi::Instance) {
    let engine = engine();
    let module = wasmi::Module::new(&engine, wasm).expect("module compiles");
    let mut store = wasmi::Store::new(&engine, ());
    let instance =
        wasmi::Linker::<()>::new(&engine).instantiate_and_start(&mut store, &module).expect("module instantiates");
    (store, instance)
}
