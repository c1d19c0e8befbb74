//! Reading what a firmware without the interpreter needs from an app's
//! wasm: a custom section (the manifest, the blob) and the linear
//! memory's initial size, walking section headers only.

use akira_aot::format::{FormatError, custom_section, find_in_wasm, initial_memory_bytes, initial_table_elements};

fn wasm(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap()
}

/// `wasm` with a custom section `name` holding `data` appended.
fn with_section(mut wasm: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    wasm.push(0);
    wasm.push(body.len() as u8);
    wasm.extend_from_slice(&body);
    wasm
}

#[test]
fn custom_sections_are_found_by_name_once() {
    let module = with_section(wasm("(module (memory 1))"), "akira.manifest", b"manifest bytes");
    assert_eq!(custom_section(&module, "akira.manifest"), Ok(Some(&b"manifest bytes"[..])));
    assert_eq!(custom_section(&module, "akira.aot"), Ok(None));
    assert_eq!(find_in_wasm(&module), Ok(None));
    let twice = with_section(module.clone(), "akira.manifest", b"again");
    assert_eq!(custom_section(&twice, "akira.manifest"), Err(FormatError::TrailingBytes));
    assert_eq!(custom_section(&module[..module.len() - 1], "akira.manifest"), Err(FormatError::Truncated));
    assert_eq!(custom_section(&module[..4], "akira.manifest"), Err(FormatError::Truncated));
}

#[test]
fn the_initial_memory_size_counts_pages_of_the_modules_size() {
    assert_eq!(initial_memory_bytes(&wasm("(module (memory 2))")), Ok(Some(2 * 65536)));
    assert_eq!(initial_memory_bytes(&wasm("(module (memory 1 4))")), Ok(Some(65536)));
    assert_eq!(initial_memory_bytes(&wasm("(module (memory 0))")), Ok(Some(0)));
    assert_eq!(initial_memory_bytes(&wasm("(module)")), Ok(None));
    // Custom page sizes (what `akira build` gives small apps): 4 KiB of
    // one-byte pages.
    assert_eq!(initial_memory_bytes(&wasm("(module (memory 4096 (pagesize 1)))")), Ok(Some(4096)));
    assert_eq!(initial_memory_bytes(&wasm("(module (memory i64 1))")), Err(FormatError::UnsupportedMemory));
    assert_eq!(initial_memory_bytes(&wasm("(module (memory 65536))")), Err(FormatError::UnsupportedMemory));
    let memory = wasm("(module (memory 1))");
    assert_eq!(initial_memory_bytes(&memory[..memory.len() - 1]), Err(FormatError::Truncated));
}

#[test]
fn the_initial_table_size_is_read_from_the_table_section() {
    assert_eq!(initial_table_elements(&wasm("(module (table 3 funcref))")), Ok(3));
    assert_eq!(initial_table_elements(&wasm("(module (table 2 10 funcref))")), Ok(2));
    assert_eq!(initial_table_elements(&wasm("(module (memory 1))")), Ok(0));
    let table = wasm("(module (table 3 funcref))");
    assert_eq!(initial_table_elements(&table[..table.len() - 1]), Err(FormatError::Truncated));
}
