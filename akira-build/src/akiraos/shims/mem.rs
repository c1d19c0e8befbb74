//! `mem_alloc` / `mem_free`: AkiraOS's host allocator, as a first-fit
//! allocator written in wasm over the app's own heap: from the end of its
//! static data, stack and `__heap_base` to the end of its memory (which
//! the build step sizes with the board profile's `memory.heap`).
//!
//! Blocks tile the heap: an 8-byte header (the block's size, header
//! included, a multiple of 8; then 1 if used, 0 if free) and the payload,
//! 8-byte aligned. The first call lays one free block over the heap.
//! `mem_alloc` takes the first free block that fits, merging the free
//! blocks after it as it goes, and splits off what it does not need;
//! `mem_free` walks to the block and marks it free. The headers live in
//! the app's memory: one the app overwrote ends the walk (`NULL`, or
//! nothing freed) rather than trapping or looping.

use wasm_encoder::{BlockType, Instruction as I, MemArg, ValType};

use super::{A4, Gen, Need, Spec, State, spec};

const USED: MemArg = MemArg { offset: 4, ..A4 };
/// The smallest block: a header and 8 bytes.
const MIN_BLOCK: i32 = 16;

impl Gen<'_> {
    /// The heap's first block (a constant) and its end (in a new local);
    /// lays one free block over the heap on the first call.
    fn heap(&mut self) -> (i32, u32) {
        let start = (self.cx.heap_start() + 7) & !7;
        let laid = self.cx.state(State::Heap);
        let end = self.local(ValType::I32);
        let log2 = self.cx.page_log2() as i32;
        self.o(I::MemorySize(0)).c(log2).o(I::I32Shl).o(I::LocalSet(end));
        let start = start as i32;
        self.o(I::GlobalGet(laid)).o(I::I32Eqz).o(I::If(BlockType::Empty));
        self.c(1).o(I::GlobalSet(laid));
        self.o(I::LocalGet(end)).c(start.saturating_add(MIN_BLOCK)).o(I::I32GeU).o(I::If(BlockType::Empty));
        self.c(start).o(I::LocalGet(end)).c(start).o(I::I32Sub).o(I::I32Store(A4));
        self.c(start).c(0).o(I::I32Store(USED));
        self.o(I::End).o(I::End);
        (start, end)
    }

    /// Branches to `depth` unless a whole block header fits between local
    /// `at` and `end`, its size is at least [`MIN_BLOCK`], a multiple of 8
    /// and within `end`; else leaves the size in local `size`.
    fn read_block(&mut self, at: u32, size: u32, end: u32, depth: u32) -> &mut Self {
        self.o(I::LocalGet(end)).o(I::LocalGet(at)).o(I::I32Sub).c(MIN_BLOCK).o(I::I32LtU).o(I::BrIf(depth));
        self.o(I::LocalGet(at)).o(I::I32Load(A4)).o(I::LocalTee(size)).c(MIN_BLOCK).o(I::I32LtU);
        self.o(I::LocalGet(size)).c(7).o(I::I32And).o(I::I32Or);
        self.o(I::LocalGet(size)).o(I::LocalGet(end)).o(I::LocalGet(at)).o(I::I32Sub).o(I::I32GtU).o(I::I32Or);
        self.o(I::BrIf(depth))
    }
}

/// `mem_alloc(size)`: an 8-byte aligned block of at least `size` bytes,
/// or 0 (`NULL`) when none is free (or `size` is 0).
fn alloc(g: &mut Gen<'_>) {
    let (start, end) = g.heap();
    let [need, at, size, next, more] = [(); 5].map(|()| g.local(ValType::I32));
    g.p(0).o(I::I32Eqz).p(0).o(I::LocalGet(end)).c(start + 8).o(I::I32Sub).o(I::I32GtU).o(I::I32Or);
    g.o(I::LocalGet(end)).c(start.saturating_add(MIN_BLOCK)).o(I::I32LtU).o(I::I32Or);
    g.o(I::If(BlockType::Empty)).c(0).o(I::Return).o(I::End);
    g.p(0).c(15).o(I::I32Add).c(-8).o(I::I32And).o(I::LocalSet(need));
    g.c(start).o(I::LocalSet(at));
    g.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
    g.read_block(at, size, end, 1);
    g.o(I::LocalGet(at)).o(I::I32Load(USED)).o(I::I32Eqz).o(I::If(BlockType::Empty));
    // Merge the free blocks that follow.
    g.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
    g.o(I::LocalGet(at)).o(I::LocalGet(size)).o(I::I32Add).o(I::LocalSet(next));
    g.read_block(next, more, end, 1);
    g.o(I::LocalGet(next)).o(I::I32Load(USED)).o(I::BrIf(1));
    g.o(I::LocalGet(size)).o(I::LocalGet(more)).o(I::I32Add).o(I::LocalSet(size));
    g.o(I::LocalGet(at)).o(I::LocalGet(size)).o(I::I32Store(A4)).o(I::Br(0));
    g.o(I::End).o(I::End);
    g.o(I::LocalGet(size)).o(I::LocalGet(need)).o(I::I32GeU).o(I::If(BlockType::Empty));
    // Split off what is left if it makes a block.
    g.o(I::LocalGet(size)).o(I::LocalGet(need)).o(I::I32Sub).c(MIN_BLOCK).o(I::I32GeU);
    g.o(I::If(BlockType::Empty));
    g.o(I::LocalGet(at)).o(I::LocalGet(need)).o(I::I32Add).o(I::LocalTee(next));
    g.o(I::LocalGet(size)).o(I::LocalGet(need)).o(I::I32Sub).o(I::I32Store(A4));
    g.o(I::LocalGet(next)).c(0).o(I::I32Store(USED));
    g.o(I::LocalGet(at)).o(I::LocalGet(need)).o(I::I32Store(A4));
    g.o(I::End);
    g.o(I::LocalGet(at)).c(1).o(I::I32Store(USED));
    g.o(I::LocalGet(at)).c(8).o(I::I32Add).o(I::Return);
    g.o(I::End).o(I::End);
    g.o(I::LocalGet(at)).o(I::LocalGet(size)).o(I::I32Add).o(I::LocalSet(at)).o(I::Br(0));
    g.o(I::End).o(I::End);
    g.c(0);
}

/// `mem_free(ptr)`: frees the block `mem_alloc` returned at `ptr`; any
/// other pointer (0 too) changes nothing.
fn free(g: &mut Gen<'_>) {
    let (start, end) = g.heap();
    let [at, size] = [(); 2].map(|()| g.local(ValType::I32));
    g.o(I::LocalGet(end)).c(start.saturating_add(MIN_BLOCK)).o(I::I32LtU);
    g.o(I::If(BlockType::Empty)).o(I::Return).o(I::End);
    g.c(start).o(I::LocalSet(at));
    g.o(I::Block(BlockType::Empty)).o(I::Loop(BlockType::Empty));
    g.read_block(at, size, end, 1);
    g.o(I::LocalGet(at)).c(8).o(I::I32Add).p(0).o(I::I32Eq).o(I::If(BlockType::Empty));
    g.o(I::LocalGet(at)).c(0).o(I::I32Store(USED)).o(I::Return);
    g.o(I::End);
    g.o(I::LocalGet(at)).o(I::LocalGet(size)).o(I::I32Add).o(I::LocalSet(at)).o(I::Br(0));
    g.o(I::End).o(I::End);
}

/// The allocator shim for `name`, if Akira translates it.
pub(super) fn shim(name: &str) -> Option<Spec> {
    let write: fn(&mut Gen<'_>) = match name {
        "mem_alloc" => alloc,
        "mem_free" => free,
        _ => return None,
    };
    const NONE: &[Need] = &[];
    Some(Spec { states: &[State::Heap], ..spec(&[], &[], NONE, write) })
}
