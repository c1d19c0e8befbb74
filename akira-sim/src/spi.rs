//! Simulated SPI devices.
//!
//! Each device is an embedded-hal 1.0 `SpiDevice` ([`SimSpiDevice`]),
//! held by the bridge's `SpiDevices` as on a real board:
//!
//! | id | device | what it does |
//! |---|---|---|
//! | 0 | [`SpiFlash`]: 1 MiB NOR flash, W25Q80-like | JEDEC id, status, write enable, read, page program, 4 KiB sector erase |
//! | 1 | [`Loopback`]: MISO wired to MOSI | every byte sent comes back in the same clock |

use std::convert::Infallible;

use embedded_hal::spi::{ErrorType, Operation, SpiDevice};

/// A chip on the simulated bus, one byte at a time: the chip select
/// frames a command.
pub trait SimSpiChip {
    /// Chip select asserted.
    fn select(&mut self);
    /// One byte clocked each way: `mosi` in, the returned byte out.
    fn exchange(&mut self, mosi: u8) -> u8;
    /// Chip select released.
    fn deselect(&mut self);
}

/// An embedded-hal `SpiDevice` over a simulated chip.
pub struct SimSpiDevice(Box<dyn SimSpiChip>);

impl SimSpiDevice {
    /// The device for `chip`.
    pub fn new(chip: impl SimSpiChip + 'static) -> SimSpiDevice {
        SimSpiDevice(Box::new(chip))
    }
}

impl ErrorType for SimSpiDevice {
    type Error = Infallible;
}

impl SpiDevice<u8> for SimSpiDevice {
    fn transaction(&mut self, operations: &mut [Operation<'_, u8>]) -> Result<(), Infallible> {
        let chip = &mut self.0;
        chip.select();
        for op in operations {
            match op {
                Operation::Write(w) => w.iter().for_each(|b| {
                    chip.exchange(*b);
                }),
                Operation::Read(r) => r.iter_mut().for_each(|b| *b = chip.exchange(0x00)),
                Operation::Transfer(r, w) => {
                    for i in 0..r.len().max(w.len()) {
                        let miso = chip.exchange(w.get(i).copied().unwrap_or(0x00));
                        if let Some(b) = r.get_mut(i) {
                            *b = miso;
                        }
                    }
                }
                Operation::TransferInPlace(buf) => buf.iter_mut().for_each(|b| *b = chip.exchange(*b)),
                Operation::DelayNs(_) => {}
            }
        }
        chip.deselect();
        Ok(())
    }
}

/// MISO wired to MOSI.
#[derive(Clone, Copy, Debug, Default)]
pub struct Loopback;

impl SimSpiChip for Loopback {
    fn select(&mut self) {}
    fn exchange(&mut self, mosi: u8) -> u8 {
        mosi
    }
    fn deselect(&mut self) {}
}

/// A 1 MiB NOR flash with the common W25Q command set:
///
/// | command | bytes after it | answer |
/// |---|---|---|
/// | `0x9f` JEDEC id | — | `ef 40 14` |
/// | `0x05` read status | — | bit 0 busy (always 0), bit 1 write enabled |
/// | `0x06` / `0x04` write enable / disable | — | — |
/// | `0x03` read | 24-bit address | data from there on, wrapping at 1 MiB |
/// | `0x02` page program | 24-bit address, data | bits can only go from 1 to 0; wraps within the 256-byte page |
/// | `0x20` sector erase | 24-bit address | its 4 KiB sector reads `0xff` |
///
/// Program and erase need write enable first and clear it when the chip
/// select is released. Starts erased.
pub struct SpiFlash {
    memory: Vec<u8>,
    write_enabled: bool,
    command: Option<u8>,
    address: u32,
    /// Bytes of the command seen after the opcode.
    seen: usize,
    programmed: bool,
}

impl Default for SpiFlash {
    fn default() -> Self {
        SpiFlash {
            memory: vec![0xff; Self::SIZE as usize],
            write_enabled: false,
            command: None,
            address: 0,
            seen: 0,
            programmed: false,
        }
    }
}

impl SpiFlash {
    /// Capacity in bytes.
    pub const SIZE: u32 = 1 << 20;
    /// JEDEC manufacturer, memory type, capacity.
    pub const JEDEC_ID: [u8; 3] = [0xef, 0x40, 0x14];
    const PAGE: u32 = 256;
    const SECTOR: u32 = 4096;

    /// The flash's contents.
    pub fn contents(&self) -> &[u8] {
        &self.memory
    }
}

impl SimSpiChip for SpiFlash {
    fn select(&mut self) {
        self.command = None;
        self.address = 0;
        self.seen = 0;
        self.programmed = false;
    }

    fn exchange(&mut self, mosi: u8) -> u8 {
        let Some(command) = self.command else {
            self.command = Some(mosi);
            match mosi {
                0x06 => self.write_enabled = true,
                0x04 => self.write_enabled = false,
                _ => {}
            }
            return 0xff;
        };
        let n = self.seen;
        self.seen += 1;
        let addressed = matches!(command, 0x03 | 0x02 | 0x20);
        if addressed && n < 3 {
            self.address = (self.address << 8 | u32::from(mosi)) % Self::SIZE;
            return 0xff;
        }
        match command {
            0x9f => Self::JEDEC_ID.get(n).copied().unwrap_or(0xff),
            0x05 => u8::from(self.write_enabled) << 1,
            0x03 => {
                let b = self.memory[self.address as usize];
                self.address = (self.address + 1) % Self::SIZE;
                b
            }
            0x02 if self.write_enabled => {
                self.memory[self.address as usize] &= mosi;
                let page = self.address - self.address % Self::PAGE;
                self.address = page + (self.address + 1) % Self::PAGE;
                self.programmed = true;
                0xff
            }
            _ => 0xff,
        }
    }

    fn deselect(&mut self) {
        match self.command {
            Some(0x20) if self.write_enabled && self.seen >= 3 => {
                let start = (self.address - self.address % Self::SECTOR) as usize;
                self.memory[start..start + Self::SECTOR as usize].fill(0xff);
                self.write_enabled = false;
            }
            Some(0x02) if self.programmed => self.write_enabled = false,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_commands() {
        let mut flash = SimSpiDevice::new(SpiFlash::default());
        let mut id = [0u8; 4];
        flash.transfer(&mut id, &[0x9f]).unwrap();
        assert_eq!(id, [0xff, 0xef, 0x40, 0x14]);
        // Programming without write enable does nothing.
        flash.write(&[0x02, 0x00, 0x01, 0x00, 0x12]).unwrap();
        let mut data = [0u8; 2];
        flash.transaction(&mut [Operation::Write(&[0x03, 0x00, 0x01, 0x00]), Operation::Read(&mut data)]).unwrap();
        assert_eq!(data, [0xff, 0xff]);
        flash.write(&[0x06]).unwrap();
        let mut status = [0x05, 0x00];
        flash.transfer_in_place(&mut status).unwrap();
        assert_eq!(status[1], 0x02, "write enabled");
        flash.write(&[0x02, 0x00, 0x01, 0xff, 0x12, 0x34]).unwrap();
        flash.transaction(&mut [Operation::Write(&[0x03, 0x00, 0x01, 0xff]), Operation::Read(&mut data)]).unwrap();
        assert_eq!(data, [0x12, 0xff], "the second byte wrapped to the page start");
        flash.transaction(&mut [Operation::Write(&[0x03, 0x00, 0x01, 0x00]), Operation::Read(&mut data)]).unwrap();
        assert_eq!(data, [0x34, 0xff]);
        let mut status = [0x05, 0x00];
        flash.transfer_in_place(&mut status).unwrap();
        assert_eq!(status[1], 0x00, "program cleared write enable");
        flash.write(&[0x06]).unwrap();
        flash.write(&[0x20, 0x00, 0x01, 0x80]).unwrap();
        flash.transaction(&mut [Operation::Write(&[0x03, 0x00, 0x01, 0xff]), Operation::Read(&mut data)]).unwrap();
        assert_eq!(data, [0xff, 0xff], "sector erased");
    }

    #[test]
    fn loopback_echoes() {
        let mut lb = SimSpiDevice::new(Loopback);
        let mut r = [0u8; 3];
        lb.transfer(&mut r, &[1, 2]).unwrap();
        assert_eq!(r, [1, 2, 0], "reads past the written bytes clock zeros");
    }
}
