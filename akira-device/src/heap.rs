//! The heap a firmware gives the sandbox (feature `heap`).

#[doc(hidden)]
pub use embedded_alloc::LlffHeap;

/// Makes embedded-alloc's linked-list heap the global allocator and gives
/// it `$size` bytes of `.bss`: wasmi's modules, instances and stacks (about
/// 20 KB for a small app) and the device's own allocations. Call it once,
/// first thing in `main`, before anything allocates.
///
/// ```ignore
/// akira_device::init_heap!(64 * 1024);
/// ```
#[macro_export]
macro_rules! init_heap {
    ($size:expr) => {{
        #[global_allocator]
        static HEAP: $crate::heap::LlffHeap = $crate::heap::LlffHeap::empty();
        static mut HEAP_MEM: [u8; $size] = [0; $size];
        // SAFETY: the macro's own memory, given to the heap once, before
        // any allocation (the caller calls it first, once).
        unsafe { HEAP.init(core::ptr::addr_of_mut!(HEAP_MEM) as usize, $size) }
    }};
}
