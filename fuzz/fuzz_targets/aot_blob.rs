//! AOT blobs (akira-aot's format 1): arbitrary bytes through
//! `Blob::parse`, and a blob that parses through `link` into a region with
//! a guard zone after it; arbitrary bytes as a wasm module carrying a blob
//! through `find_in_wasm`. Besides not panicking: linking never writes
//! past the region it was given, and a found section lies inside the input.

#![no_main]

use akira_aot::format::{Blob, find_in_wasm};
use akira_aot::link::link;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(section)) = find_in_wasm(data) {
        let start = section.as_ptr() as usize - data.as_ptr() as usize;
        assert!(start + section.len() <= data.len());
    }
    let Ok(blob) = Blob::parse(data) else { return };
    let _ = blob.relocs().count() + blob.imports().count() + blob.exports().count();
    let mut region = vec![0u8; 64 * 1024 + 256];
    let (inside, guard) = region.split_at_mut(64 * 1024);
    guard.fill(0xa5);
    let memory = u32::from(data.first().copied().unwrap_or(0)) * 16;
    let refuse_at = data.last().copied().unwrap_or(0);
    let _ = link(&blob, inside, 0x2000_0000, memory, |import| {
        (import.name.len() as u8 != refuse_at).then_some(0x0800_0001)
    });
    assert!(guard.iter().all(|&b| b == 0xa5), "link wrote past its region");
});
