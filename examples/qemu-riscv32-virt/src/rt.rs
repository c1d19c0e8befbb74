//! The little this firmware needs of QEMU's `virt` machine, by hand: the
//! start (stack, zeroed .bss, trap vector), the NS16550 console, the
//! sifive_test exit device and the instruction counter.

use core::fmt;

core::arch::global_asm!(
    ".section .text.start,\"ax\",@progbits",
    ".global _start",
    "_start:",
    ".option push",
    ".option norelax",
    "la sp, _stack_top",
    ".option pop",
    "la t0, _sbss",
    "la t1, _ebss",
    "1:",
    "bgeu t0, t1, 2f",
    "sw zero, 0(t0)",
    "addi t0, t0, 4",
    "j 1b",
    "2:",
    "la t0, akira_trap_entry",
    "csrw mtvec, t0",
    "call {main}",
    "3:",
    "j 3b",
    // Any exception (an access fault, an illegal instruction): what,
    // where, and a failed exit. Nothing here expects one: the AOT tier's
    // traps are calls, not exceptions. (mtvec needs 4-byte alignment.)
    ".p2align 2",
    "akira_trap_entry:",
    "csrr a0, mcause",
    "csrr a1, mepc",
    "csrr a2, mtval",
    "j {trap}",
    main = sym crate::main,
    trap = sym trap_report,
);

extern "C" fn trap_report(cause: u32, pc: u32, value: u32) -> ! {
    crate::println!("exception: mcause {cause:#x} at {pc:#010x} (mtval {value:#x})");
    exit(false)
}

/// The console: the NS16550 UART at 0x1000_0000 (QEMU needs no set-up).
pub struct Uart;

impl fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        const THR: *mut u8 = 0x1000_0000 as *mut u8;
        for b in s.bytes() {
            // SAFETY: the UART's transmit register (QEMU's takes every byte).
            unsafe { THR.write_volatile(b) };
        }
        Ok(())
    }
}

/// `println!` to the console.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::rt::Uart, $($arg)*);
    }};
}

/// Ends the QEMU run: the sifive_test device at 0x10_0000 (0x5555 passes,
/// `code << 16 | 0x3333` fails with exit code `code`).
pub fn exit(success: bool) -> ! {
    const FINISHER: *mut u32 = 0x10_0000 as *mut u32;
    let value = if success { 0x5555 } else { (1 << 16) | 0x3333 };
    // SAFETY: the test finisher's register.
    unsafe { FINISHER.write_volatile(value) };
    loop {
        core::hint::spin_loop();
    }
}

/// Instructions retired so far (`minstret`: exact under `-icount`).
pub fn instret() -> u64 {
    loop {
        let (hi, lo, hi2): (u32, u32, u32);
        // SAFETY: reads of the machine counters (M-mode).
        unsafe {
            core::arch::asm!("csrr {0}, minstreth", "csrr {1}, minstret", "csrr {2}, minstreth",
                out(reg) hi, out(reg) lo, out(reg) hi2, options(nomem, nostack));
        }
        if hi == hi2 {
            return u64::from(hi) << 32 | u64::from(lo);
        }
    }
}

/// The CLINT's machine timer (10 MHz on QEMU virt; with `-icount
/// shift=0`, one tick per 100 instructions).
pub fn mtime() -> u64 {
    const MTIME: *const u32 = 0x0200_bff8 as *const u32;
    loop {
        // SAFETY: the CLINT's mtime registers (read-only here).
        let (hi, lo, hi2) =
            unsafe { (MTIME.add(1).read_volatile(), MTIME.read_volatile(), MTIME.add(1).read_volatile()) };
        if hi == hi2 {
            return u64::from(hi) << 32 | u64::from(lo);
        }
    }
}

/// Runs `f`, giving its result and the instructions it took.
pub fn counted<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let start = instret();
    let r = f();
    (r, instret() - start)
}

/// The heap the sandbox allocates from (apps' regions, stacks, state).
#[global_allocator]
static HEAP: embedded_alloc::LlffHeap = embedded_alloc::LlffHeap::empty();

/// Gives the heap its memory (once, at start).
pub fn init_heap() {
    const SIZE: usize = 256 * 1024;
    static mut MEMORY: [u8; SIZE] = [0; SIZE];
    // SAFETY: called once, before any allocation; the static is the heap's only.
    unsafe { HEAP.init(core::ptr::addr_of_mut!(MEMORY) as usize, SIZE) }
}

/// Critical sections: machine interrupts off (this firmware never turns
/// them on, but the allocator and the sandbox's statics rely on it).
struct MachineInterrupts;
critical_section::set_impl!(MachineInterrupts);

// SAFETY: single hart; MIE saved and cleared on entry, restored on release.
unsafe impl critical_section::Impl for MachineInterrupts {
    unsafe fn acquire() -> bool {
        let mstatus: u32;
        // SAFETY: clears mstatus.MIE, returning the old value.
        unsafe { core::arch::asm!("csrrci {0}, mstatus, 8", out(reg) mstatus) };
        mstatus & 8 != 0
    }

    unsafe fn release(was_enabled: bool) {
        if was_enabled {
            // SAFETY: sets mstatus.MIE back.
            unsafe { core::arch::asm!("csrsi mstatus, 8") };
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    crate::println!("panic: {info}");
    exit(false)
}
