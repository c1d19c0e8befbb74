//! The CMSDK APB UART of the MPS2 boards, as QEMU models it.

use core::ptr::{read_volatile, write_volatile};

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const INTSTATUS: usize = 0x0C;
const BAUDDIV: usize = 0x10;
const TX_FULL: u32 = 1 << 0;
const RX_FULL: u32 = 1 << 1;
const TX_RX_ENABLE: u32 = 0b11;
const RX_INTERRUPT: u32 = 1 << 3;
const RX_INTERRUPT_STATUS: u32 = 1 << 1;

/// The interrupt of UART1's receiver on mps2-an386 (CMSDK numbering:
/// UART0 RX 0, TX 1, UART1 RX 2, TX 3).
#[derive(Clone, Copy)]
pub struct Uart1Rx;

// SAFETY: 2 is UART1's receive interrupt on this board.
unsafe impl cortex_m::interrupt::InterruptNumber for Uart1Rx {
    fn number(self) -> u16 {
        2
    }
}

/// One UART at `base`.
#[derive(Clone, Copy)]
pub struct Uart {
    base: usize,
}

/// UART1: the OTA link.
pub const UART1: usize = 0x4000_5000;

impl Uart {
    /// The UART at `base`, as it is.
    pub const fn at(base: usize) -> Uart {
        Uart { base }
    }

    /// Enables transmit and receive.
    pub fn new(base: usize) -> Uart {
        let uart = Uart { base };
        uart.set(BAUDDIV, 16);
        uart.set(CTRL, TX_RX_ENABLE);
        uart
    }

    /// Raises UART1's receive interrupt when a byte arrives, so that `wfi`
    /// wakes for it (the handler in `lib.rs` only acknowledges it).
    pub fn wake_on_receive(&self) {
        self.set(CTRL, TX_RX_ENABLE | RX_INTERRUPT);
        // SAFETY: the handler only clears the UART's interrupt status; no
        // critical section relies on this interrupt being masked.
        unsafe { cortex_m::peripheral::NVIC::unmask(Uart1Rx) };
    }

    /// Acknowledges the receive interrupt.
    pub fn clear_receive_interrupt(&self) {
        self.set(INTSTATUS, RX_INTERRUPT_STATUS);
    }

    fn get(&self, reg: usize) -> u32 {
        // SAFETY: `base` is one of the board's UART register blocks; reads
        // of its registers have no side effect beyond the UART.
        unsafe { read_volatile((self.base + reg) as *const u32) }
    }

    fn set(&self, reg: usize, value: u32) {
        // SAFETY: as in `get`; the UART is owned by this firmware.
        unsafe { write_volatile((self.base + reg) as *mut u32, value) }
    }

    /// Sends one byte, waiting for room.
    pub fn put(&self, byte: u8) {
        while self.get(STATE) & TX_FULL != 0 {}
        self.set(DATA, u32::from(byte));
    }

    /// A received byte, if one is waiting.
    pub fn take(&self) -> Option<u8> {
        (self.get(STATE) & RX_FULL != 0).then(|| self.get(DATA) as u8)
    }
}

// The OTA link for `akira_device::Device::serve`: futures that are ready
// when the UART is, for `crate::block_on`, which polls them again after
// each wake-up (this UART's receive interrupt among them).

impl embedded_io_async::ErrorType for Uart {
    type Error = core::convert::Infallible;
}

impl embedded_io_async::Read for Uart {
    /// Waits for a byte, then takes what is waiting. Cancel-safe: nothing
    /// is taken until it is returned.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        core::future::poll_fn(|_| {
            let n = buf.iter_mut().map_while(|slot| self.take().map(|byte| *slot = byte)).count();
            if n == 0 && !buf.is_empty() { core::task::Poll::Pending } else { core::task::Poll::Ready(Ok(n)) }
        })
        .await
    }
}

impl embedded_io_async::Write for Uart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        buf.iter().for_each(|byte| self.put(*byte));
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
