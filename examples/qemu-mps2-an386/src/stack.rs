//! Stack high-water mark: the stack is painted with a pattern at boot and
//! the deepest overwritten byte found later.
//!
//! With flip-link the stack sits at the bottom of RAM, below `.data` and
//! `.bss`, growing down towards the start of RAM; only then is the region
//! below the stack pointer free to paint. Without flip-link nothing is
//! painted and the figure is 0.

const RAM_START: usize = 0x2000_0000;
const PATTERN: u32 = 0xA5A5_A5A5;
/// Bytes below the current stack pointer left unpainted (this function's
/// own frame and what it calls).
const MARGIN: usize = 1024;

unsafe extern "C" {
    static _stack_start: u32;
    static __sdata: u32;
}

fn layout() -> Option<(usize, usize)> {
    // SAFETY: only the addresses of the linker symbols are taken.
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let data = core::ptr::addr_of!(__sdata) as usize;
    (top <= data).then_some((RAM_START, top))
}

/// Paints the unused stack.
pub fn paint() {
    let Some((bottom, _)) = layout() else { return };
    let sp = cortex_m::register::msp::read() as usize;
    let mut p = bottom;
    while p + 4 <= sp - MARGIN {
        // SAFETY: [bottom, sp - MARGIN) is stack below the live frames
        // (flip-link layout checked above): nothing lives there yet.
        unsafe { core::ptr::write_volatile(p as *mut u32, PATTERN) };
        p += 4;
    }
}

/// Deepest stack use so far, in bytes.
pub fn high_water() -> usize {
    let Some((bottom, top)) = layout() else { return 0 };
    let mut p = bottom;
    // SAFETY: reads of the stack region painted by `paint`.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PATTERN {
        p += 4;
    }
    top - p
}
