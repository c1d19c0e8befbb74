//! What the simulator's tests share.

use akira_caps::manifest::AppName;
use akira_caps::{Manifest, Version};

/// The app `wat`, with a manifest named `name` (version 0.1.0) that
/// `caps` fills in.
pub fn wasm(wat: &str, name: &str, caps: impl FnOnce(&mut Manifest)) -> Vec<u8> {
    let mut manifest = Manifest::new(AppName::try_from(name).unwrap(), Version::new(0, 1, 0));
    caps(&mut manifest);
    let mut wasm = wat::parse_str(wat).unwrap();
    wasm.extend(manifest.custom_section());
    wasm
}
