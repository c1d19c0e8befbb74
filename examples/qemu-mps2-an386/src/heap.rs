//! The heap (wasmi's modules, stores and stacks, and the firmware's own
//! allocations), counting live and peak bytes so the firmware can report
//! what an app costs.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

use embedded_alloc::LlffHeap;

struct Counting {
    heap: LlffHeap,
    live: AtomicUsize,
    peak: AtomicUsize,
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded to the heap with the caller's layout.
        let p = unsafe { self.heap.alloc(layout) };
        if !p.is_null() {
            let live = self.live.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            self.peak.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static HEAP: Counting = Counting { heap: LlffHeap::empty(), live: AtomicUsize::new(0), peak: AtomicUsize::new(0) };

/// Gives the heap its memory: `SIZE` bytes in `.bss`. Call once, first.
#[macro_export]
macro_rules! init_heap {
    ($size:expr) => {{
        static mut HEAP_MEM: [u8; $size] = [0; $size];
        // SAFETY: the macro's own static, used by nothing else; called once
        // before any allocation.
        unsafe { $crate::heap::init(core::ptr::addr_of_mut!(HEAP_MEM) as usize, $size) }
    }};
}

/// Gives the heap `[start, start + size)`. Use [`init_heap!`].
///
/// # Safety
///
/// Once, before any allocation; the region must be unused by anything else.
pub unsafe fn init(start: usize, size: usize) {
    // SAFETY: as the caller promised.
    unsafe { HEAP.heap.init(start, size) }
}

/// Bytes allocated now.
pub fn live() -> usize {
    HEAP.live.load(Ordering::Relaxed)
}

/// The most bytes allocated at once since the last [`reset_peak`].
pub fn peak() -> usize {
    HEAP.peak.load(Ordering::Relaxed)
}

/// Starts a new peak measurement from the bytes allocated now.
pub fn reset_peak() {
    HEAP.peak.store(live(), Ordering::Relaxed);
}
