//! Reads a TMP102 temperature sensor at address 0x48 on I2C bus 0 once a
//! second, five times, and logs each reading; sets the sensor's high
//! alert threshold first. The readings go through a small driver written
//! against embedded-hal only, as a driver crate would be: the SDK's I2C
//! bus implements `embedded_hal::i2c::I2c` (feature `embedded-hal`). On
//! the simulated board the temperature follows a slow sine around 22.5 °C.
#![no_std]

use akira_app::i2c::Bus;
use akira_app::{info, timer};

/// A TMP102 driver that knows nothing of Akira.
mod tmp102 {
    use embedded_hal::i2c::I2c;

    /// Register pointers.
    pub const TEMPERATURE: u8 = 0x00;
    pub const T_HIGH: u8 = 0x03;

    /// Milli-degrees Celsius from a temperature register (12 bits,
    /// left-justified, 1/16 °C per step).
    pub fn millidegrees(raw: u16) -> i32 {
        i32::from((raw as i16) >> 4) * 1000 / 16
    }

    /// Reads the temperature register.
    pub fn read_millidegrees<I: I2c>(i2c: &mut I, addr: u8) -> Result<i32, I::Error> {
        let mut raw = [0u8; 2];
        i2c.write_read(addr, &[TEMPERATURE], &mut raw)?;
        Ok(millidegrees(u16::from_be_bytes(raw)))
    }
}

fn run() -> akira_app::Result<()> {
    let mut bus = Bus::new(0);
    let sensor = bus.device(0x48);
    // Alert above 30 °C: 480 steps, left-justified (the SDK's register
    // helpers).
    sensor.write_reg_u16_be(tmp102::T_HIGH, 480 << 4)?;
    info!("T_HIGH = {} m°C", tmp102::millidegrees(sensor.read_reg_u16_be(tmp102::T_HIGH)?));
    for _ in 0..5 {
        let mc = tmp102::read_millidegrees(&mut bus, 0x48)?;
        info!("temperature {}.{:03} °C", mc / 1000, (mc % 1000).abs());
        timer::sleep_ms(1000);
    }
    Ok(())
}

akira_app::main!(run);
