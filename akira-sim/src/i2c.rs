//! Simulated I2C buses and devices.
//!
//! Each bus is an embedded-hal 1.0 `I2c` ([`SimI2cBus`]), held by the
//! bridge's `I2cBuses` as on a real board. Bus 0 carries:
//!
//! | address | device | what it does |
//! |---|---|---|
//! | `0x48` | [`Tmp102`] temperature sensor | the board's temperature, 0.0625 °C steps |
//! | `0x50` | [`Eeprom24c02`] 256-byte EEPROM | remembers what apps write |
//!
//! Bus 1 has no device: every address is not acknowledged.

use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, NoAcknowledgeSource, Operation};

/// A device on a simulated bus. Each read or write is one transfer (start
/// to repeated start or stop).
pub trait SimI2cDevice {
    /// The device receives `bytes`.
    fn write(&mut self, bytes: &[u8], env: &Env) -> Result<(), ErrorKind>;
    /// The device sends `buf.len()` bytes.
    fn read(&mut self, buf: &mut [u8], env: &Env) -> Result<(), ErrorKind>;
}

/// What devices can see of the board during a transfer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Env {
    /// The board's temperature, in milli-degrees Celsius.
    pub temperature_mc: i32,
}

/// A simulated I2C bus: devices by 7-bit address.
#[derive(Default)]
pub struct SimI2cBus {
    devices: Vec<(u8, Box<dyn SimI2cDevice>)>,
    env: Env,
}

impl SimI2cBus {
    /// A bus with no devices.
    pub fn new() -> SimI2cBus {
        SimI2cBus::default()
    }

    /// Adds `device` at `addr`.
    pub fn with(mut self, addr: u8, device: impl SimI2cDevice + 'static) -> SimI2cBus {
        self.devices.push((addr, Box::new(device)));
        self
    }

    /// Sets what devices see during the next transfers.
    pub fn set_env(&mut self, env: Env) {
        self.env = env;
    }

    fn device(&mut self, addr: u8) -> Result<&mut Box<dyn SimI2cDevice>, ErrorKind> {
        self.devices
            .iter_mut()
            .find(|(a, _)| *a == addr)
            .map(|(_, d)| d)
            .ok_or(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address))
    }
}

impl ErrorType for SimI2cBus {
    type Error = ErrorKind;
}

impl I2c for SimI2cBus {
    fn transaction(&mut self, address: u8, operations: &mut [Operation<'_>]) -> Result<(), Self::Error> {
        let env = self.env;
        let device = self.device(address)?;
        // Adjacent writes are one transfer on the wire.
        let mut pending: Vec<u8> = Vec::new();
        let mut writing = false;
        for op in operations {
            match op {
                Operation::Write(bytes) => {
                    pending.extend_from_slice(bytes);
                    writing = true;
                }
                Operation::Read(buf) => {
                    if writing {
                        device.write(&pending, &env)?;
                        pending.clear();
                        writing = false;
                    }
                    device.read(buf, &env)?;
                }
            }
        }
        if writing { device.write(&pending, &env) } else { Ok(()) }
    }
}

/// A TMP102-like temperature sensor.
///
/// | pointer | register | reset value |
/// |---|---|---|
/// | `0x00` | temperature, read-only: 12-bit two's complement, MSB first, left-justified (`raw >> 4` × 0.0625 °C) | the board's temperature |
/// | `0x01` | configuration; bit 0 of the first byte is shutdown (the temperature then holds its last value) | `0x60 0xa0` |
/// | `0x02` | T_LOW | `0x4b 0x00` (75 °C) |
/// | `0x03` | T_HIGH | `0x50 0x00` (80 °C) |
///
/// A write's first byte sets the pointer; two more bytes write that
/// register (MSB first). Reads return the pointer's register, MSB first,
/// repeating. Writing the temperature register or a pointer above 3 is not
/// acknowledged.
#[derive(Clone, Debug)]
pub struct Tmp102 {
    pointer: u8,
    registers: [u16; 4],
}

impl Default for Tmp102 {
    fn default() -> Self {
        Tmp102 { pointer: 0, registers: [0, 0x60a0, 0x4b00, 0x5000] }
    }
}

impl Tmp102 {
    /// The temperature register's value for `mc` milli-degrees Celsius.
    pub fn encode(mc: i32) -> u16 {
        // 1/16 °C per step, rounded to nearest, 12 bits, left-justified.
        let steps = (mc * 16 + if mc >= 0 { 500 } else { -500 }) / 1000;
        ((steps.clamp(-2048, 2047) as i16 as u16) << 4) & 0xfff0
    }

    /// The milli-degrees Celsius a temperature register value stands for.
    pub fn decode(raw: u16) -> i32 {
        i32::from((raw as i16) >> 4) * 1000 / 16
    }
}

impl SimI2cDevice for Tmp102 {
    fn write(&mut self, bytes: &[u8], _: &Env) -> Result<(), ErrorKind> {
        let Some((&pointer, data)) = bytes.split_first() else { return Ok(()) };
        if pointer > 3 {
            return Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data));
        }
        self.pointer = pointer;
        match data {
            [] => Ok(()),
            [msb, lsb, ..] if pointer != 0 => {
                self.registers[usize::from(pointer)] = u16::from_be_bytes([*msb, *lsb]);
                Ok(())
            }
            _ => Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data)),
        }
    }

    fn read(&mut self, buf: &mut [u8], env: &Env) -> Result<(), ErrorKind> {
        let shutdown = self.registers[1] & 0x0100 != 0;
        if !shutdown {
            self.registers[0] = Tmp102::encode(env.temperature_mc);
        }
        let bytes = self.registers[usize::from(self.pointer)].to_be_bytes();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = bytes[i % 2];
        }
        Ok(())
    }
}

/// A 24C02-like 256-byte EEPROM: a write's first byte sets the address,
/// the rest is stored from there within its 8-byte page (wrapping in the
/// page, as the real part does); reads continue from the address, wrapping
/// at 256. Starts erased (`0xff`).
#[derive(Clone, Debug)]
pub struct Eeprom24c02 {
    address: u8,
    memory: [u8; 256],
}

impl Default for Eeprom24c02 {
    fn default() -> Self {
        Eeprom24c02 { address: 0, memory: [0xff; 256] }
    }
}

impl Eeprom24c02 {
    /// Bytes per write page.
    pub const PAGE: u8 = 8;
}

impl SimI2cDevice for Eeprom24c02 {
    fn write(&mut self, bytes: &[u8], _: &Env) -> Result<(), ErrorKind> {
        let Some((&address, data)) = bytes.split_first() else { return Ok(()) };
        let page = address & !(Self::PAGE - 1);
        let mut offset = address - page;
        for &b in data {
            self.memory[usize::from(page + offset)] = b;
            offset = (offset + 1) % Self::PAGE;
        }
        self.address = page + offset;
        if data.is_empty() {
            self.address = address;
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], _: &Env) -> Result<(), ErrorKind> {
        for b in buf {
            *b = self.memory[usize::from(self.address)];
            self.address = self.address.wrapping_add(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmp102_register_map() {
        let mut bus = SimI2cBus::new().with(0x48, Tmp102::default());
        bus.set_env(Env { temperature_mc: 25_000 });
        let mut buf = [0u8; 2];
        bus.write_read(0x48, &[0x00], &mut buf).unwrap();
        assert_eq!(buf, [0x19, 0x00], "25 °C = 400 steps of 1/16 °C");
        bus.set_env(Env { temperature_mc: -10_000 });
        bus.read(0x48, &mut buf).unwrap();
        assert_eq!(Tmp102::decode(u16::from_be_bytes(buf)), -10_000);
        bus.write_read(0x48, &[0x02], &mut buf).unwrap();
        assert_eq!(buf, [0x4b, 0x00]);
        bus.write(0x48, &[0x03, 0x55, 0x10]).unwrap();
        bus.write_read(0x48, &[0x03], &mut buf).unwrap();
        assert_eq!(buf, [0x55, 0x10]);
        assert_eq!(bus.write(0x48, &[0x00, 1, 2]), Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data)));
        assert_eq!(bus.write(0x48, &[0x07]), Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Data)));
        assert_eq!(bus.write(0x49, &[0x00]), Err(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)));
        // Shutdown holds the last conversion.
        bus.write(0x48, &[0x01, 0x61, 0xa0]).unwrap();
        bus.set_env(Env { temperature_mc: 40_000 });
        bus.write_read(0x48, &[0x00], &mut buf).unwrap();
        assert_eq!(Tmp102::decode(u16::from_be_bytes(buf)), -10_000);
        assert_eq!(Tmp102::encode(21_530), 0x1580, "rounded to the nearest 1/16 °C");
        assert_eq!(Tmp102::encode(21_560), 0x1590);
    }

    #[test]
    fn eeprom_pages_wrap() {
        let mut bus = SimI2cBus::new().with(0x50, Eeprom24c02::default());
        bus.transaction(0x50, &mut [Operation::Write(&[0x06]), Operation::Write(&[1, 2, 3, 4])]).unwrap();
        let mut buf = [0u8; 8];
        bus.write_read(0x50, &[0x00], &mut buf).unwrap();
        assert_eq!(buf, [3, 4, 0xff, 0xff, 0xff, 0xff, 1, 2], "bytes past the page end wrap to its start");
        let mut one = [0u8; 1];
        bus.read(0x50, &mut one).unwrap();
        assert_eq!(one, [0xff], "reads continue at the next address");
    }
}
