//! The CMSDK APB UART of the MPS2 boards, as QEMU models it.

use core::ptr::{read_volatile, write_volatile};

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;
const TX_FULL: u32 = 1 << 0;
const RX_FULL: u32 = 1 << 1;

/// One UART at `base`.
#[derive(Clone, Copy)]
pub struct Uart {
    base: usize,
}

/// UART0: the console.
pub const UART0: usize = 0x4000_4000;
/// UART1: the OTA link.
#[cfg(feature = "validate")]
pub const UART1: usize = 0x4000_5000;

impl Uart {
    /// Enables transmit and receive.
    pub fn new(base: usize) -> Uart {
        let uart = Uart { base };
        uart.set(BAUDDIV, 16);
        uart.set(CTRL, 0b11);
        uart
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

impl core::fmt::Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.put(b'\r');
            }
            self.put(b);
        }
        Ok(())
    }
}

impl embedded_io::ErrorType for Uart {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Uart {
    /// Waits for at least one byte, then takes what is there.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        let first = loop {
            if let Some(b) = self.take() {
                break b;
            }
            cortex_m::asm::wfi();
        };
        buf[0] = first;
        let mut n = 1;
        while n < buf.len() {
            match self.take() {
                Some(b) => {
                    buf[n] = b;
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }
}

impl embedded_io::Write for Uart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        for b in buf {
            self.put(*b);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
