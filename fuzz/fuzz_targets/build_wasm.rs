//! `akira-build` on untrusted wasm: reading and embedding the manifest
//! and rewriting the memory to custom page sizes, on wasm-smith modules
//! (structure-aware) and raw bytes (the first byte picks). Besides not
//! panicking: a module that validated still validates after
//! `shrink_memory`, and an embedded manifest reads back.

#![no_main]

use akira_bridge::wasmi;
use akira_build::{embed_manifest, read_manifest, shrink_memory};
use akira_caps::manifest::AppName;
use akira_caps::{Manifest, Version};
use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;

fn validates(wasm: &[u8]) -> bool {
    let mut config = wasmi::Config::default();
    config.wasm_custom_page_sizes(true);
    wasmi::Module::new(&wasmi::Engine::new(&config), wasm).is_ok()
}

fn check(wasm: &[u8], heap: u32) {
    let valid = validates(wasm);
    let _ = read_manifest(wasm);
    if let Ok((out, report)) = shrink_memory(wasm, heap) {
        if valid {
            assert!(validates(&out), "shrink_memory broke a valid module ({report:?})");
        }
    }
    let manifest = Manifest::new(AppName::try_from("fuzz").unwrap(), Version::new(1, 0, 0));
    if let Ok(out) = embed_manifest(wasm, &manifest) {
        assert_eq!(read_manifest(&out).ok().flatten(), Some(manifest), "an embedded manifest reads back");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let heap = u32::from(mode) * 512;
    if mode & 1 == 0 {
        check(rest, heap);
        return;
    }
    let mut u = Unstructured::new(rest);
    let mut config: wasm_smith::Config = match u.arbitrary() {
        Ok(c) => c,
        Err(_) => return,
    };
    config.max_memories = 1;
    config.memory64_enabled = false;
    config.custom_page_sizes_enabled = false;
    if let Ok(module) = wasm_smith::Module::new(config, &mut u) {
        check(&module.to_bytes(), heap);
    }
});
