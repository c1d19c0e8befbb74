//! Running a linked module on the device (Cortex-M4F or RISC-V rv32imac):
//! loading, calls with their traps, and the region allocator the compiled
//! code imports. The entry trampoline and the trap exit are assembly, per
//! instruction set ([`crate::arch`]).

use core::ffi::c_void;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use crate::format::{Arch, Blob, Import, ImportKind};
use crate::link::{LinkError, link};

/// The instruction set of the CPU this runs on: a blob for another is
/// refused at load.
const CPU_ARCH: Arch = match Arch::running() {
    Some(arch) => arch,
    None => panic!("akira-aot runs code on thumbv7em and riscv32 only"),
};

/// Stack pointer to return to when the compiled code traps.
pub(crate) static UNWIND_SP: AtomicUsize = AtomicUsize::new(0);
/// The trap code `akira_aot_trap` leaves (0: none).
pub(crate) static TRAP_CODE: AtomicU32 = AtomicU32::new(0);
/// The free part of the running module's region: next byte, end.
static ARENA_NEXT: AtomicUsize = AtomicUsize::new(0);
static ARENA_END: AtomicUsize = AtomicUsize::new(0);
/// One AOT call at a time (the unwind point is global).
static BUSY: AtomicBool = AtomicBool::new(false);
/// Linear memory given by the caller of `Module::load_with_memory`
/// (address, length; length 0: none): the memory the interpreter's
/// instance of the same app has, so host functions see the app's bytes.
static SHARED_MEMORY: AtomicUsize = AtomicUsize::new(0);
static SHARED_MEMORY_LEN: AtomicUsize = AtomicUsize::new(0);
/// The fuel counter of the running `Module::call` (0: none), where an
/// out-of-fuel trap leaves what the code's counter holds.
static FUEL_OUT: AtomicUsize = AtomicUsize::new(0);

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

/// The linear memory the compiled runtime imports: the shared memory if
/// the loader was given one (zeroed; null if it is smaller than `size`),
/// else bump-allocated and zeroed like tables.
extern "C" fn akira_aot_memory(size: u32) -> *mut c_void {
    let len = SHARED_MEMORY_LEN.load(Ordering::Relaxed);
    if len == 0 {
        let p = akira_aot_alloc(size, 8);
        if !p.is_null() {
            // SAFETY: `size` bytes just taken from the region.
            unsafe { memset(p, 0, size as usize) };
        }
        return p;
    }
    if size as usize > len {
        return core::ptr::null_mut();
    }
    let p = SHARED_MEMORY.load(Ordering::Relaxed) as *mut c_void;
    // SAFETY: the caller of `load_with_memory` lent these `len` bytes.
    unsafe { memset(p, 0, size as usize) };
    p
}

/// Running out of fuel outside a task: the counter goes to the caller's
/// fuel (if a `Module::call` runs), then the out-of-fuel trap.
pub(crate) fn out_of_fuel_trap(counter: *const i32) -> ! {
    let out = FUEL_OUT.load(Ordering::Relaxed) as *mut i32;
    if !out.is_null() {
        // SAFETY: `out` is the `&mut i32` the running `Module::call` was
        // given; `counter` the compiled code's fuel global.
        unsafe { out.write(counter.read()) };
    }
    // SAFETY: compiled code runs (it called us), inside `enter`.
    unsafe { akira_aot_trap(100) }
}

fn runtime_function(name: &str) -> Option<usize> {
    Some(match name {
        "akira_aot_trap" => akira_aot_trap as *const () as usize,
        "akira_aot_out_of_fuel" => crate::task::akira_aot_out_of_fuel as *const () as usize,
        "akira_aot_alloc" => akira_aot_alloc as *const () as usize,
        "akira_aot_memory" => akira_aot_memory as *const () as usize,
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
    /// A task's stack canary was overwritten.
    StackOverflow,
    /// Another trap code of the runtime.
    Other(u32),
}

impl Trap {
    pub(crate) fn from_code(code: u32) -> Trap {
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
            Trap::StackOverflow => f.write_str("the task's stack overflowed"),
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
    /// The task already finished or trapped.
    Finished,
    /// The stack given to a task is smaller than the blob's bound plus
    /// what switching takes.
    StackTooSmall,
    /// The blob allocates its linear memory the phase-1 way (built before
    /// `akira_aot_memory`): it cannot share the interpreter's memory.
    MemoryNotShared,
    /// The blob is compiled for another instruction set than this CPU's
    /// (a thumbv7em blob on a RISC-V device, or the reverse).
    WrongArch {
        /// The blob's instruction set.
        blob: Arch,
        /// This CPU's.
        cpu: Arch,
    },
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
            AotError::Finished => f.write_str("the task has finished"),
            AotError::StackTooSmall => f.write_str("the task's stack is smaller than the module's bound"),
            AotError::MemoryNotShared => f.write_str("the blob cannot take its linear memory from the device"),
            // No formatting of the arches: firmware formats these errors
            // (the sandbox's faults), and the fields are there for a caller.
            AotError::WrongArch { .. } => {
                f.write_str("the blob is compiled for another instruction set than this CPU's")
            }
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
    /// Per import (at most 64): its parameter count and which parameters
    /// are i64 (bit i), read once at load: a task's host call decodes its
    /// arguments without parsing the import table.
    signatures: [(u8, u16); 64],
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
    // preserves the callee-saved registers on both exits.
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
        let cpu = CPU_ARCH;
        if blob.header.arch != cpu {
            return Err(AotError::WrongArch { blob: blob.header.arch, cpu });
        }
        if blob.header.stack_bound > limits.max_stack {
            return Err(LinkError::StackTooLarge { needed: blob.header.stack_bound, limit: limits.max_stack }.into());
        }
        let addr = region.as_mut_ptr() as usize;
        let placement = link(&blob, region, addr, limits.memory, |import| match import.kind {
            ImportKind::Runtime => runtime_function(import.name),
            _ => bind(import),
        })?;
        // The image was written as data: make it visible to instruction fetch.
        crate::arch::code_written();
        let base = addr + placement.start;
        let mut arena = (addr + placement.end, addr + region.len());
        let instantiate = base + blob.header.instantiate as usize;
        enter(instantiate, 0, 0, &mut arena)?;
        let mut signatures = [(0u8, 0u16); 64];
        for (slot, import) in signatures.iter_mut().zip(blob.imports()) {
            let wide = import.params.iter().enumerate().filter(|(_, t)| *t == crate::format::ValType::I64);
            *slot = (import.params.len() as u8, wide.fold(0, |m, (i, _)| m | 1 << i));
        }
        Ok(Module { blob, signatures, base, arena, _region: core::marker::PhantomData })
    }

    /// [`Module::load`] with the module's linear memory given rather than
    /// taken from the region: `memory` (zeroed, then the module's data
    /// segments written) must stay valid and not be moved while the module
    /// lives. The sandbox gives the memory of the app's interpreter
    /// instance, so the bridge's host functions read and write the bytes
    /// the native code uses. A blob whose memory is larger than `memory`
    /// traps with [`Trap::OutOfMemory`]; one built before the memory hook
    /// is refused ([`AotError::MemoryNotShared`]).
    ///
    /// # Safety
    ///
    /// `memory` must point to `memory_len` writable bytes that outlive the
    /// module and that nothing else accesses while its code runs.
    pub unsafe fn load_with_memory(
        blob: Blob<'b>,
        region: &'r mut [u8],
        limits: Limits,
        memory: *mut u8,
        memory_len: usize,
        bind: impl FnMut(&Import<'_>) -> Option<usize>,
    ) -> Result<Module<'r, 'b>, AotError> {
        if !blob.imports().any(|i| i.kind == ImportKind::Runtime && i.name == "akira_aot_memory") {
            return Err(AotError::MemoryNotShared);
        }
        SHARED_MEMORY.store(memory as usize, Ordering::Relaxed);
        SHARED_MEMORY_LEN.store(memory_len, Ordering::Relaxed);
        let module = Self::load(blob, region, limits, bind);
        SHARED_MEMORY_LEN.store(0, Ordering::Relaxed);
        module
    }

    /// Parameter count and i64 mask of each import.
    pub(crate) fn import_signatures(&self) -> &[(u8, u16)] {
        &self.signatures[..self.blob.import_count().min(64)]
    }

    /// The blob this module was loaded from.
    pub fn blob(&self) -> &Blob<'b> {
        &self.blob
    }

    /// The address of an export's entry point.
    pub(crate) fn entry_address(&self, export: &crate::format::Export<'_>) -> usize {
        self.base + export.entry as usize
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
        let entry = self.entry_address(&export);
        let fuel = fuel as *mut i32 as usize;
        FUEL_OUT.store(fuel, Ordering::Relaxed);
        let result = enter(entry, args.as_ptr() as usize, fuel, &mut self.arena);
        FUEL_OUT.store(0, Ordering::Relaxed);
        result
    }

    /// Bytes of the region still free (after linear memory and tables).
    pub fn free_bytes(&self) -> usize {
        self.arena.1 - self.arena.0
    }
}
