//! Talks to the NOR flash on SPI device 0 (a W25Q80 on the simulated
//! board): reads its JEDEC id, erases a sector, programs a page and reads
//! it back.
#![no_std]

use akira_app::spi::Device;
use akira_app::{error, info};

const READ: u8 = 0x03;
const PAGE_PROGRAM: u8 = 0x02;
const SECTOR_ERASE: u8 = 0x20;
const WRITE_ENABLE: u8 = 0x06;
const READ_STATUS: u8 = 0x05;
const JEDEC_ID: u8 = 0x9f;

struct Flash(Device);

impl Flash {
    fn command(op: u8, address: u32) -> [u8; 4] {
        let [_, a2, a1, a0] = address.to_be_bytes();
        [op, a2, a1, a0]
    }

    fn wait_ready(&self) -> akira_app::Result<()> {
        let mut status = [0u8; 1];
        loop {
            self.0.write_then_read(&[READ_STATUS], &mut status)?;
            if status[0] & 1 == 0 {
                return Ok(());
            }
        }
    }

    fn erase_sector(&self, address: u32) -> akira_app::Result<()> {
        self.0.write(&[WRITE_ENABLE])?;
        self.0.write(&Self::command(SECTOR_ERASE, address))?;
        self.wait_ready()
    }

    fn program(&self, address: u32, data: &[u8]) -> akira_app::Result<()> {
        let mut frame = [0u8; 4 + 16];
        frame[..4].copy_from_slice(&Self::command(PAGE_PROGRAM, address));
        frame[4..4 + data.len()].copy_from_slice(data);
        self.0.write(&[WRITE_ENABLE])?;
        self.0.write(&frame[..4 + data.len()])?;
        self.wait_ready()
    }

    fn read(&self, address: u32, buf: &mut [u8]) -> akira_app::Result<()> {
        self.0.write_then_read(&Self::command(READ, address), buf)
    }
}

fn run() -> akira_app::Result<i32> {
    let flash = Flash(Device::new(0));
    let mut id = [0u8; 3];
    flash.0.write_then_read(&[JEDEC_ID], &mut id)?;
    info!("JEDEC id {:02x} {:02x} {:02x}", id[0], id[1], id[2]);
    flash.erase_sector(0x1000)?;
    flash.program(0x1000, b"hello, flash")?;
    let mut back = [0u8; 12];
    flash.read(0x1000, &mut back)?;
    match core::str::from_utf8(&back) {
        Ok("hello, flash") => {
            info!("read back \"hello, flash\"");
            Ok(0)
        }
        _ => {
            error!("read back something else");
            Ok(1)
        }
    }
}

fn main() -> i32 {
    run().unwrap_or_else(|e| e.code())
}

akira_app::main!(main);
