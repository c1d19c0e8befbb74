//! Each phase-2 app's native code run as a bare task (akira-aot's `task`,
//! no sandbox) on a painted stack of `task::stack_len` bytes: its deepest
//! stack use must fit in what the blob's bound, the switch's bytes, the
//! first frame and the context give it, without the interrupt allowance.
//! A stack bound that akira-aot-build computed too small (its call graph,
//! or the largest frame times the call depth for a recursive app) fails
//! here. Host calls return 0 at once; a task runs 2 000 steps at most.

use akira_aot::format::{Blob, find_in_wasm};
use akira_aot::task::{self, Run};
use akira_aot::{Limits, Module};
use alloc::vec;
use defmt::info;

use crate::fail;

/// What an untouched byte of the task's stack holds.
const PAINT: u8 = 0xa5;

/// Runs `wasm`'s native `akira_main` as a task and checks its stack use.
pub fn check(name: &str, wasm: &[u8]) {
    let Ok(Some(bytes)) = find_in_wasm(wasm) else { fail("an app without native code") };
    let Ok(blob) = Blob::parse(bytes) else { fail("an app's blob") };
    let bound = blob.header.stack_bound;
    let mut region = vec![0u64; 8 * 1024];
    // SAFETY: a u64 buffer seen as bytes; it outlives the module.
    let region = unsafe { core::slice::from_raw_parts_mut(region.as_mut_ptr().cast::<u8>(), region.len() * 8) };
    let names: alloc::vec::Vec<_> = blob.imports().map(|i| (i.module, i.name)).collect();
    let bind = |import: &akira_aot::format::Import<'_>| {
        task::host_call_stub(names.iter().position(|&n| n == (import.module, import.name))?)
    };
    let limits = Limits { max_stack: bound, memory: 32 * 1024 };
    let Ok(module) = Module::load(blob, region, limits, bind) else { fail("loading an app's native code") };
    let len = task::stack_len(bound);
    let mut stack = vec![0u64; len.div_ceil(8)];
    // SAFETY: as above, for the stack.
    let stack = unsafe { core::slice::from_raw_parts_mut(stack.as_mut_ptr().cast::<u8>(), stack.len() * 8) };
    stack.fill(PAINT);
    let Ok(mut app) = module.task("akira_main", &[], 10_000, &mut stack[..]) else { fail("a task") };
    let mut value = 0;
    for _ in 0..2_000 {
        match app.resume(&module, value) {
            Ok(Run::OutOfFuel) => app.set_fuel(10_000),
            Ok(Run::HostCall { .. }) => {}
            _ => break,
        }
        value = 0;
    }
    // The canary word at the bottom is not use.
    let lowest = stack[8..].iter().position(|&b| b != PAINT).map_or(stack.len(), |i| i + 8);
    let used = stack.len() - lowest;
    let allowed = len - task::INTERRUPT_BYTES as usize;
    info!("{=str}: task stack {=usize} B used, {=usize} B allowed (bound {=u32} B)", name, used, allowed, bound);
    if used > allowed {
        fail("a task used more stack than its blob's bound allows");
    }
}
