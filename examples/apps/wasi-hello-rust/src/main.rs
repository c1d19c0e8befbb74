//! A plain Rust program with `std`: `println!`, `Instant`, `thread::sleep`
//! and a file, built for `wasm32-wasip1` and run by Akira under its guard:
//!
//! ```text
//! akira run examples/apps/wasi-hello-rust
//! ```
//!
//! Nothing here knows about Akira but `heap.rs`, which gives the app a
//! fixed heap so it runs in a few tens of KiB of RAM.

mod heap;

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("hello from Rust std on WASI, args {args:?}");

    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(25));
    println!("slept {} ms", start.elapsed().as_millis());

    // A file: count this app's runs in it.
    let runs: u32 = std::fs::read_to_string("runs.txt").ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0) + 1;
    if let Err(e) = std::fs::write("runs.txt", format!("{runs}\n")) {
        eprintln!("cannot write runs.txt: {e}");
        std::process::exit(2);
    }
    println!("run number {runs} (kept in runs.txt)");

    let words: Vec<String> = (1..=5).map(|i| "ab".repeat(i)).collect();
    println!("{} bytes in {} strings on the heap", words.iter().map(String::len).sum::<usize>(), words.len());
}
