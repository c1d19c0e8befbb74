//! What the pipeline tests share: the kernels' wasm and a blob linked at a
//! device address.

use akira_aot::format::Blob;
use akira_aot::link::{Placement, link};

/// examples/apps/aot-kernels built with clang --target=wasm32.
pub fn kernels_wasm() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/apps/aot-kernels/build.sh");
    let status = std::process::Command::new("sh").arg(script).arg(dir.path()).status().unwrap();
    assert!(status.success(), "building the kernels with clang --target=wasm32");
    std::fs::read(dir.path().join("kernels.wasm")).unwrap()
}

/// `blob` linked into a fresh 200 000-byte region as if at `addr`, with
/// 64 KiB kept free, import `i` bound to `fake(i)`.
pub fn linked(blob: &Blob<'_>, addr: usize, fake: impl Fn(usize) -> usize) -> (Vec<u8>, Placement) {
    let mut region = vec![0u8; 200_000];
    let names: Vec<_> = blob.imports().map(|i| i.name).collect();
    let placed = link(blob, &mut region, addr, 65_536, |import| {
        Some(fake(names.iter().position(|n| *n == import.name).unwrap()))
    })
    .unwrap();
    (region, placed)
}
