//! Finding what a loader needs in an app's wasm without a wasm parser: the
//! blob's custom section, the initial memory and table sizes.

use super::FormatError;

/// The wasm custom section a blob travels in: inside the module, the
/// package's hash chain and signature cover it, and the interpreter skips
/// it.
pub const SECTION_NAME: &str = "akira.aot";

/// Reads a LEB128 `u32` at the start of `bytes`: the value and its length.
fn leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value = 0u32;
    for (i, &b) in bytes.iter().enumerate().take(5) {
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The blob carried in `wasm`'s [`SECTION_NAME`] custom section, if any.
/// Walks the section headers only (no validation of the module); a
/// malformed header, or two blob sections, is [`FormatError::Truncated`] /
/// [`FormatError::TrailingBytes`].
pub fn find_in_wasm(wasm: &[u8]) -> Result<Option<&[u8]>, FormatError> {
    custom_section(wasm, SECTION_NAME)
}

/// Each section of `wasm` as (id, body), walking the headers only; a
/// header that runs past the end is [`FormatError::Truncated`].
fn sections(wasm: &[u8]) -> impl Iterator<Item = Result<(u8, &[u8]), FormatError>> {
    let mut rest = wasm.get(8..).ok_or(FormatError::Truncated);
    core::iter::from_fn(move || {
        let bytes = match &mut rest {
            Ok(bytes) => bytes,
            Err(e) => {
                let e = *e;
                rest = Ok(&[]);
                return Some(Err(e));
            }
        };
        let (&id, after_id) = bytes.split_first()?;
        let Some((len, n)) = leb_u32(after_id) else {
            rest = Ok(&[]);
            return Some(Err(FormatError::Truncated));
        };
        let Some(body) = after_id.get(n..n + len as usize) else {
            rest = Ok(&[]);
            return Some(Err(FormatError::Truncated));
        };
        *bytes = &after_id[n + len as usize..];
        Some(Ok((id, body)))
    })
}

/// The contents of `wasm`'s custom section `name`, if any (a firmware
/// without the interpreter reads the app's manifest this way). Walks the
/// section headers only; two sections of that name are
/// [`FormatError::TrailingBytes`].
pub fn custom_section<'w>(wasm: &'w [u8], name: &str) -> Result<Option<&'w [u8]>, FormatError> {
    let mut found = None;
    for section in sections(wasm) {
        let (id, body) = section?;
        if id != 0 {
            continue;
        }
        let (name_len, m) = leb_u32(body).ok_or(FormatError::Truncated)?;
        let section_name = body.get(m..m + name_len as usize).ok_or(FormatError::Truncated)?;
        if section_name == name.as_bytes() {
            if found.is_some() {
                return Err(FormatError::TrailingBytes);
            }
            found = Some(&body[m + name_len as usize..]);
        }
    }
    Ok(found)
}

/// The one entry of `wasm`'s section `id` (a memory or a table: a module
/// may define at most one of each here), `None` if it defines none; a
/// second entry is [`FormatError::UnsupportedMemory`].
fn only_entry(wasm: &[u8], id: u8) -> Result<Option<&[u8]>, FormatError> {
    for section in sections(wasm) {
        let (section_id, body) = section?;
        if section_id != id {
            continue;
        }
        let (count, n) = leb_u32(body).ok_or(FormatError::Truncated)?;
        return match count {
            0 => Ok(None),
            1 => body.get(n..).map(Some).ok_or(FormatError::Truncated),
            _ => Err(FormatError::UnsupportedMemory),
        };
    }
    Ok(None)
}

/// The initial size in bytes of the linear memory `wasm` defines (its
/// memory section: minimum pages times the page size, 64 KiB or a custom
/// page size), `None` if it defines none. A firmware without the
/// interpreter allocates this much for the app's native code. A module
/// with more than one memory, a 64-bit memory or a size past `u32` is
/// [`FormatError::UnsupportedMemory`].
pub fn initial_memory_bytes(wasm: &[u8]) -> Result<Option<u32>, FormatError> {
    let Some(limits) = only_entry(wasm, 5)? else { return Ok(None) };
    let (&flags, rest) = limits.split_first().ok_or(FormatError::Truncated)?;
    // Flags: bit 0 a maximum follows, bit 2 64-bit memory (refused),
    // bit 3 a custom page size (its log2) follows the limits.
    if flags & !0b1001 != 0 {
        return Err(FormatError::UnsupportedMemory);
    }
    let (min, mut at) = leb_u32(rest).ok_or(FormatError::Truncated)?;
    if flags & 1 != 0 {
        at += leb_u32(&rest[at..]).ok_or(FormatError::Truncated)?.1;
    }
    let page_log2 = if flags & 0b1000 != 0 { leb_u32(&rest[at..]).ok_or(FormatError::Truncated)?.0 } else { 16 };
    let page = 1u64.checked_shl(page_log2).filter(|_| page_log2 <= 16).ok_or(FormatError::UnsupportedMemory)?;
    u32::try_from(u64::from(min) * page).map(Some).map_err(|_| FormatError::UnsupportedMemory)
}

/// The initial number of elements of the table `wasm` defines (its table
/// section), 0 if it defines none: the native code allocates this many
/// (16 bytes each) when it starts. A module with more than one table is
/// [`FormatError::UnsupportedMemory`] (tables are memory of the app's too).
pub fn initial_table_elements(wasm: &[u8]) -> Result<u32, FormatError> {
    let Some(table) = only_entry(wasm, 4)? else { return Ok(0) };
    // The element type (one byte: funcref or externref), then limits.
    let (&flags, rest) = table.get(1..).and_then(<[u8]>::split_first).ok_or(FormatError::Truncated)?;
    if flags & !1 != 0 {
        return Err(FormatError::UnsupportedMemory);
    }
    leb_u32(rest).map(|(min, _)| min).ok_or(FormatError::Truncated)
}
