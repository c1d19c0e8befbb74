//! `akira:sys`: the app's identity, yielding, exiting. Needs the `sys`
//! capability.

mod ffi {
    #[link(wasm_import_module = "akira:sys")]
    unsafe extern "C" {
        pub fn exit(code: i32) -> !;
        pub fn yield_now() -> i32;
        pub fn app_name(ptr: *mut u8, cap: i32) -> i32;
        pub fn app_version() -> i64;
        pub fn abi_version() -> i32;
        pub fn denials() -> i32;
    }
}

/// Ends the app with `code`.
pub fn exit(code: i32) -> ! {
    // SAFETY: a plain import; the host never returns from it.
    unsafe { ffi::exit(code) }
}

/// Lets other apps and firmware tasks run, then continues.
pub fn yield_now() {
    // SAFETY: a plain import without pointers.
    unsafe { ffi::yield_now() };
}

/// Copies the app's name into `buf` and returns it (cut to `buf`'s size).
pub fn app_name(buf: &mut [u8]) -> &str {
    // SAFETY: the host writes at most `buf.len()` bytes at `buf`, which the
    // slice owns; it checks the range against the app's memory.
    let len = unsafe { ffi::app_name(buf.as_mut_ptr(), buf.len() as i32) };
    let n = (len.max(0) as usize).min(buf.len());
    // App names are ASCII, so any cut is on a character boundary.
    core::str::from_utf8(&buf[..n]).unwrap_or("")
}

/// The app's version from its manifest: `(major, minor, patch)`.
pub fn app_version() -> (u16, u16, u16) {
    // SAFETY: a plain import without pointers.
    let v = unsafe { ffi::app_version() };
    ((v >> 32) as u16, (v >> 16) as u16, v as u16)
}

/// The app ABI the firmware provides.
pub fn abi_version() -> u32 {
    // SAFETY: a plain import without pointers.
    unsafe { ffi::abi_version() as u32 }
}

/// How many of this app's calls the guard refused so far.
pub fn denials() -> u32 {
    // SAFETY: a plain import without pointers.
    unsafe { ffi::denials() as u32 }
}
