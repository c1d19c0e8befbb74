//! The app's heap: 8 KiB in a static array, for Rust's allocations and for
//! wasi-libc's `malloc` (its preopened-directory table, its environment).
//!
//! Without this, wasi-libc's `malloc` serves both and grows linear memory
//! in 64 KiB pages, so the app could not run in a few tens of KiB. With
//! it, the app never grows its memory and `akira build` shrinks the memory
//! to what the app needs.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

use embedded_alloc::LlffHeap;

const HEAP_SIZE: usize = 8 * 1024;

/// Rust's allocator: the heap, set up on first use (std allocates before
/// `main` runs).
struct Heap {
    inner: LlffHeap,
    ready: AtomicBool,
}

#[global_allocator]
static HEAP: Heap = Heap { inner: LlffHeap::empty(), ready: AtomicBool::new(false) };

impl Heap {
    fn get(&self) -> &LlffHeap {
        if !self.ready.swap(true, Ordering::Acquire) {
            static mut MEMORY: [u8; HEAP_SIZE] = [0; HEAP_SIZE];
            // SAFETY: runs once (the flag), before any allocation, and
            // nothing else touches MEMORY.
            unsafe { self.inner.init(&raw mut MEMORY as usize, HEAP_SIZE) }
        }
        &self.inner
    }
}

// SAFETY: forwards to `LlffHeap`, which is a GlobalAlloc.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { self.get().alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { self.get().dealloc(ptr, layout) }
    }
}

/// C's allocations carry their size in a 16-byte header (C frees without
/// one).
const HEADER: usize = 16;

fn c_layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

/// wasi-libc's `malloc`, from the same heap.
#[unsafe(no_mangle)]
pub extern "C" fn malloc(size: usize) -> *mut u8 {
    let Some(layout) = c_layout(size) else { return ptr::null_mut() };
    // SAFETY: a non-zero layout; the header is written inside the block.
    unsafe {
        let block = HEAP.alloc(layout);
        if block.is_null() {
            return block;
        }
        block.cast::<usize>().write(size);
        block.add(HEADER)
    }
}

/// # Safety
/// `p` is null or came from this `malloc` and was not freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(p: *mut u8) {
    if p.is_null() {
        return;
    }
    // SAFETY: the caller's promise; the header holds the size.
    unsafe {
        let block = p.sub(HEADER);
        let size = block.cast::<usize>().read();
        if let Some(layout) = c_layout(size) {
            HEAP.dealloc(block, layout);
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn calloc(count: usize, size: usize) -> *mut u8 {
    let Some(total) = count.checked_mul(size) else { return ptr::null_mut() };
    let p = malloc(total);
    if !p.is_null() {
        // SAFETY: `p` holds `total` bytes.
        unsafe { p.write_bytes(0, total) };
    }
    p
}

/// # Safety
/// As `free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(p: *mut u8, size: usize) -> *mut u8 {
    if p.is_null() {
        return malloc(size);
    }
    let q = malloc(size);
    if !q.is_null() {
        // SAFETY: both blocks are live; copy what both hold.
        unsafe {
            let old = p.sub(HEADER).cast::<usize>().read();
            ptr::copy_nonoverlapping(p, q, old.min(size));
            free(p);
        }
    }
    q
}

/// # Safety
/// `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut u8, align: usize, size: usize) -> i32 {
    const EINVAL: i32 = 28;
    const ENOMEM: i32 = 48;
    if align > HEADER || !align.is_power_of_two() {
        return EINVAL;
    }
    let p = malloc(size);
    if p.is_null() {
        return ENOMEM;
    }
    // SAFETY: the caller's promise.
    unsafe { out.write(p) };
    0
}

#[unsafe(no_mangle)]
pub extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut u8 {
    if align > HEADER { ptr::null_mut() } else { malloc(size) }
}
