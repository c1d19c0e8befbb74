//! Embedding and reading the `akira.manifest` custom section.

use akira_caps::{Manifest, SECTION_NAME};
use wasmparser::{Encoding, Parser, Payload};

use crate::BuildError;

/// Replaces every existing [`SECTION_NAME`] custom section of `wasm` with
/// one holding `manifest`, appended at the end of the module.
///
/// Every other section is copied byte for byte, in order. Nothing else is
/// validated: the module only has to be framed correctly (a wasm header and
/// well-formed section headers).
///
/// # Errors
///
/// [`BuildError::Malformed`] if the sections cannot be read and
/// [`BuildError::Component`] for a component.
pub fn embed_manifest(wasm: &[u8], manifest: &Manifest) -> Result<Vec<u8>, BuildError> {
    let mut out = Vec::with_capacity(wasm.len() + 64);
    // Sections are contiguous: each one's header starts where the previous
    // one's content ended, so `wasm[pos..range.end]` is the whole section.
    let mut pos = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match &payload {
            Payload::Version { encoding: Encoding::Module, range, .. } => {
                out.extend_from_slice(section_bytes(wasm, 0, range.end)?);
                pos = range.end;
            }
            Payload::Version { .. } => return Err(BuildError::Component),
            Payload::CustomSection(section) if section.name() == SECTION_NAME => {
                pos = section.range().end;
            }
            Payload::End(_) => {}
            other => {
                if let Some((_, range)) = other.as_section() {
                    out.extend_from_slice(section_bytes(wasm, pos, range.end)?);
                    pos = range.end;
                }
            }
        }
    }
    out.extend_from_slice(&manifest.custom_section());
    Ok(out)
}

/// `wasm[start..end]`, or a malformed-module error if the parser reported
/// a range outside the input (it should not).
fn section_bytes(wasm: &[u8], start: usize, end: usize) -> Result<&[u8], BuildError> {
    wasm.get(start..end).ok_or_else(|| BuildError::Malformed {
        offset: start,
        message: "section extends past the end of the module".into(),
    })
}

/// Reads the manifest embedded in `wasm`.
///
/// Returns `Ok(None)` if the module has no [`SECTION_NAME`] custom section.
///
/// # Errors
///
/// [`BuildError::SeveralManifests`] if it has more than one,
/// [`BuildError::Manifest`] if the one it has cannot be decoded,
/// [`BuildError::Malformed`] if the sections cannot be read and
/// [`BuildError::Component`] for a component.
pub fn read_manifest(wasm: &[u8]) -> Result<Option<Manifest>, BuildError> {
    let mut found: Option<&[u8]> = None;
    let mut count = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::Version { encoding: Encoding::Module, .. } => {}
            Payload::Version { .. } => return Err(BuildError::Component),
            Payload::CustomSection(section) if section.name() == SECTION_NAME => {
                count += 1;
                found = Some(section.data());
            }
            _ => {}
        }
    }
    match (count, found) {
        (0, _) | (_, None) => Ok(None),
        (1, Some(bytes)) => Ok(Some(Manifest::decode(bytes)?)),
        (count, Some(_)) => Err(BuildError::SeveralManifests { count }),
    }
}
