//! Akira's AOT tier on an emulated RISC-V rv32imac (QEMU `virt`): the
//! kernels of examples/apps/aot-kernels, compiled ahead of time for
//! riscv32imac by akira-aot-build (build.rs), run through akira-aot with
//! the results the same C compiled natively gives; containment
//! (out-of-bounds access, runaway loop, runaway recursion, a call the
//! guard refuses, an import never granted, a blob for another CPU) is
//! checked; instruction counts (`minstret` under `-icount shift=0`) are
//! printed as `figure NAME VALUE`. Then whole apps as tasks on their own
//! stacks (`apps.rs`). Any failed check exits with code 1.
//!
//! `cargo run --release` (QEMU: `apt-get install qemu-system-misc`).

#![no_std]
#![no_main]

extern crate alloc;

mod apps;
#[macro_use]
mod rt;
mod sandbox;

use core::sync::atomic::{AtomicU32, Ordering};

use akira_aot::format::{Arch, Blob, Import};
use akira_aot::{AotError, Limits, Module, Trap};

const KERNELS_AOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kernels.aot"));
const KERNELS_THUMB_AOT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kernels-thumb.aot"));

unsafe extern "C" {
    // examples/apps/aot-kernels/kernels.c compiled natively (build.rs).
    fn kernel_crc32(n: u32) -> u32;
    fn kernel_sha256(n: u32) -> u32;
    fn kernel_matmul(n: u32) -> u32;
    fn kernel_sort(n: u32) -> u32;
}

/// Linear memory and tables of an AOT module (one 64 KiB page here).
const AOT_MEMORY: u32 = 80 * 1024;
/// Native stack an AOT call may take (the main stack has 64 KiB).
const AOT_STACK: u32 = 16 * 1024;

/// The RAM an AOT module's code, data and memory live in.
#[repr(C, align(4096))]
pub(crate) struct Region(pub(crate) [u8; 96 * 1024]);
static mut REGION: Region = Region([0; 96 * 1024]);

/// LEDs as the guarded host function drives them.
pub(crate) static LEDS: [AtomicU32; 16] = [const { AtomicU32::new(0) }; 16];

/// The pins the running app is granted (bit per pin): the per-call half
/// of the guard, one bit test.
pub(crate) static GRANTED_PINS: AtomicU32 = AtomicU32::new(0);

/// `akira:gpio.write` with the guard's check: 0, or -1 for a pin the app
/// is not granted.
pub(crate) fn gpio_write(pin: u32, level: u32) -> u32 {
    if pin < 16 && GRANTED_PINS.load(Ordering::Relaxed) & (1 << pin) != 0 {
        LEDS[pin as usize].store(level, Ordering::Relaxed);
        0
    } else {
        u32::MAX
    }
}

pub(crate) fn fail(what: &str) -> ! {
    println!("AOT check failed: {what}");
    rt::exit(false)
}

fn aot_call(module: &mut Module<'_, '_>, name: &str, n: u32, fuel: &mut i32) -> Result<u32, AotError> {
    module.call(name, &[u64::from(n)], fuel).map(|r| r as u32)
}

/// The install-time half of the guard for compute modules: they import no
/// host function, so every wasm import is refused.
fn bind_none(_: &Import<'_>) -> Option<usize> {
    None
}

fn kernels() {
    let Ok(blob) = Blob::parse(KERNELS_AOT) else { fail("the kernels' blob") };
    if blob.header.arch != Arch::Riscv32imac {
        fail("the kernels' blob is not for riscv32imac");
    }
    let limits = Limits { max_stack: AOT_STACK, memory: AOT_MEMORY };
    // A blob for another CPU: refused before anything is copied or run.
    let Ok(thumb) = Blob::parse(KERNELS_THUMB_AOT) else { fail("the Thumb blob") };
    // SAFETY: the region is used by one module at a time, from here on.
    let region = unsafe { &mut (*core::ptr::addr_of_mut!(REGION)).0 };
    match Module::load(thumb, region, limits, bind_none) {
        Err(AotError::WrongArch { blob: Arch::ThumbV7em, cpu: Arch::Riscv32imac }) => {
            println!("a thumbv7em blob: refused (AotError::WrongArch)")
        }
        _ => fail("a blob for another CPU was not refused"),
    }
    // SAFETY: as above; the refused load left nothing running.
    let region = unsafe { &mut (*core::ptr::addr_of_mut!(REGION)).0 };
    let (module, load) = rt::counted(|| Module::load(blob, region, limits, bind_none));
    let mut module = module.unwrap_or_else(|e| {
        println!("load: {e}");
        fail("kernels did not load")
    });
    println!(
        "kernels loaded: {} B blob, {} B image, {} B free",
        blob.bytes().len(),
        blob.image.len(),
        module.free_bytes()
    );

    type Native = unsafe extern "C" fn(u32) -> u32;
    let kernels: [(&str, u32, Native); 4] = [
        ("crc32", 4096, kernel_crc32),
        ("sha256", 4096, kernel_sha256),
        ("matmul", 16, kernel_matmul),
        ("sort", 1024, kernel_sort),
    ];
    for (name, n, native) in kernels {
        let mut fuel = i32::MAX;
        let (aot, aot_n) = rt::counted(|| aot_call(&mut module, name, n, &mut fuel));
        let aot = aot.unwrap_or_else(|e| {
            println!("{name}: {e}");
            fail("AOT kernel trapped")
        });
        // SAFETY: the kernels are plain C functions of one u32.
        let (nat, nat_n) = rt::counted(|| unsafe { native(n) });
        println!(
            "figure aot-{name}-instructions {aot_n} native {nat_n} (result {aot:x}, fuel used {})",
            i32::MAX - fuel
        );
        if aot != nat {
            println!("{name}: AOT {aot:x}, native {nat:x}");
            fail("results differ");
        }
    }
    // The figures are instructions: minstret agrees with virtual time
    // (the CLINT's 10 MHz clock, 100 instructions a tick under -icount
    // shift=0) within two ticks.
    let (t0, i0) = (rt::mtime(), rt::instret());
    let crc = aot_call(&mut module, "crc32", 4096, &mut i32::MAX.clone());
    let (ticks, instructions) = (rt::mtime() - t0, rt::instret() - i0);
    if crc != Ok(0x5e4e_1995) {
        fail("crc32 of the kernels' buffer is not the reference value");
    }
    if (ticks * 100).abs_diff(instructions) > 200 {
        println!("crc32: {instructions} instructions retired, {ticks} ticks of 100 ns");
        fail("minstret does not count instructions (is QEMU run with -icount shift=0?)");
    }
    println!("figure aot-load-instructions {load} (image {} B)", blob.image.len());

    // Containment: each fault comes back as a typed trap, and the module
    // (and the firmware) keep working after it.
    let checks: [(&str, u32, Trap); 3] =
        [("peek", 0x10000, Trap::OutOfBounds), ("spin", 1, Trap::OutOfFuel), ("recurse", 0, Trap::CallDepth)];
    let mut fuel = 0;
    for (name, arg, expected) in checks {
        fuel = 1_000_000;
        match aot_call(&mut module, name, arg, &mut fuel) {
            Err(AotError::Trap(t)) if t == expected => println!("{name}: contained ({t})"),
            other => {
                println!("{name}: {other:?}");
                fail("not contained")
            }
        }
    }
    // The trap handed the fuel back: one unit per call entered.
    if 1_000_000 - fuel != 64 {
        fail("the fuel left after the call-depth trap");
    }
    let mut fuel = i32::MAX;
    if aot_call(&mut module, "crc32", 4096, &mut fuel) != Ok(0x5e4e_1995) {
        fail("the module does not work after its traps");
    }
    for addr in [0xfffd, 0xffff, 0xffff_fffc, u32::MAX] {
        if aot_call(&mut module, "peek", addr, &mut fuel) != Err(AotError::Trap(Trap::OutOfBounds)) {
            fail("a word past the end of memory");
        }
    }
    if aot_call(&mut module, "peek", 0xfffc, &mut fuel).is_err() {
        fail("the last word of memory is in bounds");
    }
    // An unaligned word: clang assumes no misaligned access on RISC-V and
    // reads it byte by byte, as wasm allows.
    if aot_call(&mut module, "peek", 0xfffb, &mut fuel).is_err() {
        fail("an unaligned word");
    }
    println!("containment of compute calls: out of bounds, out of fuel, call depth; module usable after");
}

#[unsafe(no_mangle)]
pub extern "C" fn main() -> ! {
    rt::init_heap();
    println!("akira AOT tier on QEMU virt (RISC-V rv32imac)");
    kernels();
    apps::tasks();
    sandbox::whole_app();
    println!("AOT checks passed");
    rt::exit(true)
}
