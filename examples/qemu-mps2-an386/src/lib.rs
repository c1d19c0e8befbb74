//! Board support for Akira on QEMU's `mps2-an386` (an emulated Cortex-M4):
//! what the firmware (`src/main.rs`) and the measurements
//! (`src/bin/bench.rs`) share.
//!
//! - [`board`]: the board apps see (clock, LEDs and buttons, the apps'
//!   key-value store) and its log, through defmt.
//! - [`uart`]: the CMSDK UART (UART1 takes packages).
//! - [`clock`]: microseconds from SysTick.
//! - [`heap`]: the heap, counting live and peak bytes.
//! - [`stack`]: the stack high-water mark.
//! - [`block_on`], [`idle`] and [`ram_flash!`]: what `akira_device`'s
//!   `Device::serve` runs on here (`src/bin/minimal.rs`).
//!
//! Logs go out as defmt frames over semihosting: decode them with
//! `defmt-print -e <the firmware ELF>` (see the README).

#![no_std]

pub mod board;
pub mod clock;
pub mod heap;
pub mod stack;
pub mod uart;

use cortex_m_rt::{ExceptionFrame, exception};
use cortex_m_semihosting::debug::{self, EXIT_FAILURE, EXIT_SUCCESS};
use defmt_semihosting as _;

defmt::timestamp!("{=u64:us}", clock::micros());

/// Runs `future` to its end, sleeping (`wfi`) whenever it waits: SysTick
/// wakes the core every millisecond and UART1 when a byte arrives
/// ([`uart::Uart::wake_on_receive`]), the moments a future here can become
/// ready. (The futures here need no waker: each wake-up polls again.)
pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    let mut future = core::pin::pin!(future);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    loop {
        if let core::task::Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        cortex_m::asm::wfi();
    }
}

/// The board's idle wait for `akira_device::Device::serve`: until `wake`
/// (for ever with `None`). QEMU's buttons never change, so no input edge
/// ends it early.
pub async fn idle(wake: Option<akira_bridge::Instant>) {
    let now = || akira_bridge::Instant::from_micros(clock::micros());
    core::future::poll_fn(|_| match wake {
        Some(wake) if now() >= wake => core::task::Poll::Ready(()),
        _ => core::task::Poll::Pending,
    })
    .await
}

#[doc(hidden)]
pub use akira_ota::ram_flash::RamFlash;

/// A RAM region of `$size` bytes standing in for flash (QEMU has none);
/// `RamFlash` keeps NOR rules on it. Its contents are gone at reset.
#[macro_export]
macro_rules! ram_flash {
    ($size:expr) => {{
        static mut MEM: [u8; $size] = [0; $size];
        // SAFETY: the macro's own static, taken once here.
        $crate::RamFlash::<4, 4096>::new(unsafe { &mut *core::ptr::addr_of_mut!(MEM) })
    }};
}

/// Ends the QEMU run with a semihosting exit code (0 for success).
pub fn exit(success: bool) -> ! {
    debug::exit(if success { EXIT_SUCCESS } else { EXIT_FAILURE });
    loop {
        cortex_m::asm::wfi();
    }
}

// The default handlers spin forever: print and end the run instead, so a
// test sees the fault.

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!("HARD FAULT at pc {=u32:#010x}", frame.pc());
    exit(false)
}

#[exception]
unsafe fn DefaultHandler(irq: i16) {
    use cortex_m::interrupt::InterruptNumber as _;
    if irq as u16 == uart::Uart1Rx.number() {
        // A byte for the firmware: waking it was the point.
        return uart::Uart::at(uart::UART1).clear_receive_interrupt();
    }
    defmt::error!("unexpected interrupt {=i16}", irq);
    exit(false)
}

/// Prints where the panic happened, not its message: formatting the
/// message would link `core::fmt` and every `Display` it can reach into
/// the firmware (tens of KB). The file and line are enough to find it.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(at) => defmt::error!("PANIC at {=str}:{=u32}", at.file(), at.line()),
        None => defmt::error!("PANIC"),
    }
    exit(false)
}
