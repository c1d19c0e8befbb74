//! Heap used by one app: module (compiled code) and instance (store,
//! memory, stacks), measured with a counting allocator. Compares the same
//! app with one standard 64 KiB page and with a 4 KiB custom-page memory.
//!
//! Run: `cargo run --release -p akira-sandbox --example footprint`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use akira_sandbox::akira_bridge::{AppInfo, Board, Bridge, Instant, Level, Log, Sys, Timer};
use akira_sandbox::akira_caps::{Manifest, Policy, Version, manifest::AppName};
use akira_sandbox::{Runtime, RuntimeConfig};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        if new > layout.size() {
            let live = LIVE.fetch_add(new - layout.size(), Relaxed) + new - layout.size();
            PEAK.fetch_max(live, Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new, Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

#[derive(Clone)]
struct Quiet;
impl Board for Quiet {
    fn now(&self) -> Instant {
        Instant::ZERO
    }
    fn log(&mut self, _: &AppInfo, _: Level, _: &str) {}
}

/// A blinky-sized app: a few functions, some data, imports of three modules.
fn app(memory: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module
        (import "akira:log" "write" (func $log (param i32 i32 i32) (result i32)))
        (import "akira:timer" "sleep_us" (func $sleep (param i64) (result i32)))
        (import "akira:sys" "yield_now" (func $yield (result i32)))
        (memory (export "memory") {memory})
        (global $sp (mut i32) (i32.const 2048))
        (data (i32.const 2048) "LED on LED off")
        (func $blink (param $n i32)
            (loop $l
                (drop (call $log (i32.const 2) (i32.const 2048) (i32.const 6)))
                (drop (call $sleep (i64.const 500000)))
                (drop (call $log (i32.const 2) (i32.const 2054) (i32.const 7)))
                (drop (call $sleep (i64.const 500000)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br_if $l (local.get $n))))
        (func (export "akira_main") (call $blink (i32.const 3)) (drop (call $yield))))"#
    );
    let mut bytes = wat::parse_str(wat).expect("valid WAT");
    let mut m = Manifest::new(AppName::try_from("footprint").unwrap(), Version::new(1, 0, 0));
    m.capabilities.log = true;
    m.capabilities.timer = true;
    m.capabilities.sys = true;
    bytes.extend(m.custom_section());
    bytes
}

fn measure(label: &str, wasm: &[u8]) {
    let bridge = Bridge::new().with(Log).unwrap().with(Timer).unwrap().with(Sys).unwrap();
    let runtime = Runtime::new(RuntimeConfig::default(), bridge, Policy::development());
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let app = runtime.load(wasm).expect("loads");
    let after_load = LIVE.load(Relaxed) - base;
    let load_peak = PEAK.load(Relaxed) - base;
    let mut instance = runtime.instantiate(&app, 0, Quiet).expect("instantiates");
    let after_instance = LIVE.load(Relaxed) - base;
    // Run to the first wait: the call stack is now allocated too.
    let _ = instance.step();
    let running = LIVE.load(Relaxed) - base;
    println!(
        "{label:<28} wasm {:>5} B | module {:>6} B (peak while compiling {:>6} B) | + instance {:>6} B | + running {:>6} B | total {:>6} B",
        wasm.len(),
        after_load,
        load_peak,
        after_instance - after_load,
        running - after_instance,
        running
    );
}

fn main() {
    measure("one 64 KiB page", &app("1 1"));
    measure("4 KiB, custom page size 1", &app("4096 4096 (pagesize 1)"));
}
