//! Giving a WASI command the entry point the runtime calls.

use core::convert::Infallible;

use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasmparser::{ExternalKind, Parser, Payload};

use crate::BuildError;

/// The entry point the Akira runtime calls.
pub const ENTRY_POINT: &str = "akira_main";
/// The entry point of a WASI command (wasi-libc's and Rust's `_start`,
/// which runs constructors, `main` and destructors).
pub const WASI_START: &str = "_start";

/// Exports a WASI command's `_start` function as `akira_main` too, so the
/// runtime starts it like any app. Returns the module unchanged and
/// `false` when it already exports `akira_main` or has no `_start`
/// function.
///
/// Every section but the export section is copied byte for byte.
///
/// # Errors
///
/// [`BuildError::Malformed`] if the module cannot be read.
pub fn export_wasi_entry(wasm: &[u8]) -> Result<(Vec<u8>, bool), BuildError> {
    let mut start = None;
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::ExportSection(reader) = payload? {
            for export in reader {
                let export = export?;
                if export.name == ENTRY_POINT {
                    return Ok((wasm.to_vec(), false));
                }
                if export.name == WASI_START && export.kind == ExternalKind::Func {
                    start = Some(export.index);
                }
            }
        }
    }
    let Some(start) = start else { return Ok((wasm.to_vec(), false)) };
    let mut module = wasm_encoder::Module::new();
    AddEntry { start }.parse_core_module(&mut module, Parser::new(0), wasm)?;
    Ok((module.finish(), true))
}

struct AddEntry {
    start: u32,
}

impl Reencode for AddEntry {
    type Error = Infallible;

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        wasm_encoder::reencode::utils::parse_export_section(self, exports, section)?;
        exports.export(ENTRY_POINT, wasm_encoder::ExportKind::Func, self.start);
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        code.raw(func.as_bytes());
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        module.section(&self.custom_section(section));
        Ok(())
    }
}

/// The custom section in which a translated app names the ABI it was
/// written for (`AkiraOS env`), for `akira inspect`.
pub const ORIGIN_SECTION: &str = "akira.origin";

/// The ABI a translated app was written for, from its [`ORIGIN_SECTION`];
/// `None` for an app written for Akira.
///
/// # Errors
///
/// [`BuildError::Malformed`] if the module cannot be read.
pub fn origin(wasm: &[u8]) -> Result<Option<String>, BuildError> {
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CustomSection(section) = payload?
            && section.name() == ORIGIN_SECTION
        {
            return Ok(Some(String::from_utf8_lossy(section.data()).into_owned()));
        }
    }
    Ok(None)
}
