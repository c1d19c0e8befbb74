//! A soak: several apps make guarded host calls for a long run in virtual
//! time, and the heap stays flat (the simulated board keeps its records in
//! a bounded ring; nothing else may grow with the number of calls).
//!
//! `AKIRA_SOAK_CALLS` sets how many guarded calls (default 200 000; CI
//! runs 10⁷ in release, see `.ci/run` and BENCHMARKS.md).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use akira_caps::Policy;
use akira_caps::scope::{GpioScope, StorageScope};
use akira_sandbox::{RestartPolicy, Runtime};
use akira_sim::{SimBoard, Simulation};
use common::wasm;

/// The system allocator, counting the bytes live.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Toggles a pin, yields, forever.
fn toggler(pin: u32) -> String {
    format!(
        r#"(module
        (import "akira:gpio" "configure" (func $configure (param i32 i32) (result i32)))
        (import "akira:gpio" "toggle" (func $toggle (param i32) (result i32)))
        (import "akira:sys" "yield_now" (func $yield (result i32)))
        (func (export "akira_main")
            (drop (call $configure (i32.const {pin}) (i32.const 1)))
            (loop $forever (drop (call $toggle (i32.const {pin}))) (drop (call $yield)) (br $forever))))"#
    )
}

/// Sets a key once, then reads it and yields, forever.
const READER: &str = r#"(module
    (import "akira:storage" "set" (func $set (param i32 i32 i32 i32) (result i32)))
    (import "akira:storage" "get" (func $get (param i32 i32 i32 i32) (result i32)))
    (import "akira:sys" "yield_now" (func $yield (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "key!")
    (func (export "akira_main")
        (drop (call $set (i32.const 0) (i32.const 4) (i32.const 16) (i32.const 64)))
        (loop $forever (drop (call $get (i32.const 0) (i32.const 4) (i32.const 256) (i32.const 64))) (drop (call $yield))
            (br $forever))))"#;

#[test]
fn several_apps_make_millions_of_guarded_calls_with_a_flat_heap() {
    let calls: usize = std::env::var("AKIRA_SOAK_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let board = SimBoard::virtual_time();
    // Each guarded call here leaves a record: a small ring fills at once.
    board.set_records_kept(10_000);
    let runtime = Runtime::new(akira_sim::config(), akira_sim::bridge(), Policy::development());
    let mut sim = Simulation::new(runtime, board.clone());
    let mut ids = Vec::new();
    for pin in [2, 3] {
        let app = sim.scheduler().runtime().load(&wasm(&toggler(pin), &format!("toggler-{pin}"), |m| {
            m.capabilities.gpio =
                Some(GpioScope::new(Default::default(), [pin].into_iter().collect(), Default::default()));
            m.capabilities.sys = true;
        }));
        ids.push(sim.spawn(app.unwrap(), RestartPolicy::never()).unwrap());
    }
    let app = sim.scheduler().runtime().load(&wasm(READER, "reader", |m| {
        m.capabilities.storage = Some(StorageScope::with_quota(4096));
        m.capabilities.sys = true;
    }));
    ids.push(sim.spawn(app.unwrap(), RestartPolicy::never()).unwrap());

    let started = std::time::Instant::now();
    let mut live = Vec::new();
    let mut t = Duration::ZERO;
    // Every app's every guarded call is recorded (a pin change, a storage
    // read): the board's record count counts them.
    while board.record_count() < calls {
        t += Duration::from_millis(250);
        sim.run(Some(t));
        for id in &ids {
            let status = sim.scheduler().status(*id);
            assert!(status.is_some_and(|s| s.is_live()), "an app stopped at {t:?}: {status:?}");
        }
        live.push(LIVE.load(Ordering::Relaxed));
    }
    let warm = live[live.len() / 4];
    let peak = live[live.len() / 4..].iter().copied().max().unwrap();
    println!(
        "soak: {} guarded calls by {} apps in {t:?} of virtual time ({:.1} s wall); heap {} bytes after a quarter, \
         peak {} bytes after",
        board.record_count(),
        ids.len(),
        started.elapsed().as_secs_f64(),
        warm,
        peak
    );
    assert!(board.records().len() <= 10_000, "the records stay in their ring");
    assert!(peak <= warm + 64 * 1024, "the heap grew from {warm} to {peak} bytes over the run");
}
