//! Running a linked module on a Cortex-M4F: the entry trampoline, the trap
//! exit and the region allocator the compiled code imports.

use core::ffi::c_void;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use crate::format::{Blob, Import, ImportKind};
use crate::link::{LinkError, link};

/// Stack pointer to return to when the compiled code traps.
static UNWIND_SP: AtomicUsize = AtomicUsize::new(0);
/// The trap code `akira_aot_trap` leaves (0: none).
static TRAP_CODE: AtomicU32 = AtomicU32::new(0);
/// The free part of the running module's region: next byte, end.
static ARENA_NEXT: AtomicUsize = AtomicUsize::new(0);
static ARENA_END: AtomicUsize = AtomicUsize::new(0);
/// One AOT call at a time (the unwind point is global).
static BUSY: AtomicBool = AtomicBool::new(false);

// `enter(f, a, b)` calls `f(a, b)` and returns its 64-bit result, keeping
// the stack pointer where `trap` can find it. `trap(code)` records the code
// and returns from `enter` with 0, restoring the callee-saved core and FPU
// registers `enter` saved (the AAPCS ones: r4-r11, d8-d15). r3 is pushed
// only to keep the stack 8-byte aligned.
core::arch::global_asm!(
    // The eabihf targets have the FPU; the assembler is told so explicitly.
    ".fpu fpv4-sp-d16",
    ".section .text.akira_aot_enter,\"ax\",%progbits",
    ".global akira_aot_enter",
    ".type akira_aot_enter,%function",
    ".thumb_func",
    "akira_aot_enter:",
    "push {{r3-r11, lr}}",
    "vpush {{d8-d15}}",
    "ldr r3, ={unwind}",
    "mov r12, sp",
    "str r12, [r3]",
    "mov r3, r0",
    "mov r0, r1",
    "mov r1, r2",
    "blx r3",
    "vpop {{d8-d15}}",
    "pop {{r3-r11, pc}}",
    ".ltorg",
    ".size akira_aot_enter, . - akira_aot_enter",
    ".section .text.akira_aot_trap,\"ax\",%progbits",
    ".global akira_aot_trap",
    ".type akira_aot_trap,%function",
    ".thumb_func",
    "akira_aot_trap:",
    "ldr r3, ={code}",
    "str r0, [r3]",
    "ldr r3, ={unwind}",
    "ldr r12, [r3]",
    "mov sp, r12",
    "movs r0, #0",
    "movs r1, #0",
    "vpop {{d8-d15}}",
    "pop {{r3-r11, pc}}",
    ".ltorg",
    ".size akira_aot_trap, . - akira_aot_trap",
    unwind = sym UNWIND_SP,
    code = sym TRAP_CODE,
);

unsafe extern "C" {
    fn akira_aot_enter(f: usize, a: usize, b: usize) -> u64;
    fn akira_aot_trap(code: u32) -> !;
    fn memcpy(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void;
    fn memmove(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void;
    fn memset(dst: *mut c_void, c: i32, n: usize) -> *mut c_void;
    fn memcmp(a: *const c_void, b: *const c_void, n: usize) -> i32;
}

/// The allocator the compiled runtime imports: bump allocation in the
/// running module's region (linear memory, tables), never freed while the
/// module lives.
extern "C" fn akira_aot_alloc(size: u32, align: u32) -> *mut c_void {
    let next = ARENA_NEXT.load(Ordering::Relaxed);
    let align = (align.max(1) as usize).next_power_of_two();
    let start = next.next_multiple_of(align);
    match start.checked_add(size as usize) {
        Some(end) if end <= ARENA_END.load(Ordering::Relaxed) => {
            ARENA_NEXT.store(end, Ordering::Relaxed);
            start as *mut c_void
        }
        _ => core::ptr::null_mut(),
    }
}

fn runtime_function(name: &str) -> Option<usize> {
    Some(match name {
        "akira_aot_trap" => akira_aot_trap as *const () as usize,
        "akira_aot_alloc" => akira_aot_alloc as *const () as usize,
        "memcpy" => memcpy as *const () as usize,
        "memmove" => memmove as *const () as usize,
        "memset" => memset as *const () as usize,
        "memcmp" => memcmp as *const () as usize,
        _ => return None,
    })
}

/// Why compiled code stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Trap {
    /// A linear memory or table access out of bounds.
    OutOfBounds,
    /// Integer overflow (division, float-to-int conversion).
    IntegerOverflow,
    /// Integer division by zero.
    DivisionByZero,
    /// Float-to-int conversion of NaN.
    InvalidConversion,
    /// An `unreachable` instruction.
    Unreachable,
    /// A `call_indirect` to a missing function or the wrong type.
    IndirectCall,
    /// The call depth bound was reached.
    CallDepth,
    /// The fuel ran out.
    OutOfFuel,
    /// Linear memory or tables do not fit the region.
    OutOfMemory,
    /// Another trap code of the runtime.
    Other(u32),
}

impl Trap {
    fn from_code(code: u32) -> Trap {
        match code {
            1 => Trap::OutOfBounds,
            2 => Trap::IntegerOverflow,
            3 => Trap::DivisionByZero,
            4 => Trap::InvalidConversion,
            5 => Trap::Unreachable,
            6 => Trap::IndirectCall,
            8 => Trap::CallDepth,
            100 => Trap::OutOfFuel,
            101 => Trap::OutOfMemory,
            other => Trap::Other(other),
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trap::OutOfBounds => f.write_str("out-of-bounds memory or table access"),
            Trap::IntegerOverflow => f.write_str("integer overflow"),
            Trap::DivisionByZero => f.write_str("integer division by zero"),
            Trap::InvalidConversion => f.write_str("invalid conversion to integer"),
            Trap::Unreachable => f.write_str("unreachable executed"),
            Trap::IndirectCall => f.write_str("bad indirect call"),
            Trap::CallDepth => f.write_str("call depth exhausted"),
            Trap::OutOfFuel => f.write_str("out of fuel"),
            Trap::OutOfMemory => f.write_str("memory does not fit the region"),
            Trap::Other(code) => write!(f, "runtime trap {code}"),
        }
    }
}

impl core::error::Error for Trap {}

/// Why a module could not be loaded or called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AotError {
    /// Linking refused the blob.
    Link(LinkError),
    /// The code trapped (while instantiating or in a call).
    Trap(Trap),
    /// No export of that name.
    NoSuchExport,
    /// The arguments do not match the export's parameters.
    ArgumentCount,
    /// Another AOT call is running (a host function called back).
    Busy,
}

impl From<LinkError> for AotError {
    fn from(e: LinkError) -> Self {
        AotError::Link(e)
    }
}

impl fmt::Display for AotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AotError::Link(e) => write!(f, "{e}"),
            AotError::Trap(t) => write!(f, "trap: {t}"),
            AotError::NoSuchExport => f.write_str("no such export"),
            AotError::ArgumentCount => f.write_str("wrong number of arguments"),
            AotError::Busy => f.write_str("another AOT call is running"),
        }
    }
}

impl core::error::Error for AotError {}

/// What a device allows a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Native stack a call may use (the blob's bound must fit).
    pub max_stack: u32,
    /// Bytes of the region kept for linear memory and tables.
    pub memory: u32,
}

/// A loaded, instantiated module: its code lives in the borrowed region.
pub struct Module<'r, 'b> {
    blob: Blob<'b>,
    base: usize,
    arena: (usize, usize),
    _region: core::marker::PhantomData<&'r mut [u8]>,
}

/// Runs `f(a, b)` in compiled code; a trap comes back as `Err`, and so does
/// a call while another runs (a host function calling back).
fn enter(f: usize, a: usize, b: usize, arena: &mut (usize, usize)) -> Result<u64, AotError> {
    if BUSY.swap(true, Ordering::Acquire) {
        return Err(AotError::Busy);
    }
    TRAP_CODE.store(0, Ordering::Relaxed);
    ARENA_NEXT.store(arena.0, Ordering::Relaxed);
    ARENA_END.store(arena.1, Ordering::Relaxed);
    // SAFETY: `f` is an entry of a linked image (checked in range by the
    // blob's parser), called with its C signature; `akira_aot_enter`
    // preserves the AAPCS callee-saved registers on both exits.
    let result = unsafe { akira_aot_enter(f, a, b) };
    arena.0 = ARENA_NEXT.load(Ordering::Relaxed);
    BUSY.store(false, Ordering::Release);
    match TRAP_CODE.load(Ordering::Relaxed) {
        0 => Ok(result),
        code => Err(AotError::Trap(Trap::from_code(code))),
    }
}

impl<'r, 'b> Module<'r, 'b> {
    /// Links `blob` into `region`, binds its wasm imports with `bind` (the
    /// guard: `None` refuses the module), and instantiates it (linear
    /// memory and tables are taken from the region's free end, at most
    /// `limits.memory` bytes).
    ///
    /// The caller vouches that `blob` comes from a signer the device trusts
    /// with native code: this function checks its structure, not its
    /// origin.
    pub fn load(
        blob: Blob<'b>,
        region: &'r mut [u8],
        limits: Limits,
        mut bind: impl FnMut(&Import<'_>) -> Option<usize>,
    ) -> Result<Module<'r, 'b>, AotError> {
        if blob.header.stack_bound > limits.max_stack {
            return Err(LinkError::StackTooLarge { needed: blob.header.stack_bound, limit: limits.max_stack }.into());
        }
        let addr = region.as_mut_ptr() as usize;
        let placement = link(&blob, region, addr, limits.memory, |import| match import.kind {
            ImportKind::Runtime => runtime_function(import.name),
            _ => bind(import),
        })?;
        // The image was written as data: make it visible to instruction fetch.
        // SAFETY: barrier instructions only.
        unsafe { core::arch::asm!("dsb", "isb", options(nostack, preserves_flags)) };
        let base = addr + placement.start;
        let mut arena = (addr + placement.end, addr + region.len());
        let instantiate = base + blob.header.instantiate as usize;
        enter(instantiate, 0, 0, &mut arena)?;
        Ok(Module { blob, base, arena, _region: core::marker::PhantomData })
    }

    /// Calls export `name` with `args` (i32 arguments in the low 32 bits),
    /// spending at most `fuel` units (one per function entry and loop
    /// iteration); `fuel` is left with what remains. Returns the result
    /// (0 for a function without one).
    pub fn call(&mut self, name: &str, args: &[u64], fuel: &mut i32) -> Result<u64, AotError> {
        let export = self.blob.export(name).ok_or(AotError::NoSuchExport)?;
        if export.params.len() != args.len() {
            return Err(AotError::ArgumentCount);
        }
        let entry = self.base + export.entry as usize;
        enter(entry, args.as_ptr() as usize, fuel as *mut i32 as usize, &mut self.arena)
    }

    /// Bytes of the region still free (after linear memory and tables).
    pub fn free_bytes(&self) -> usize {
        self.arena.1 - self.arena.0
    }
}
