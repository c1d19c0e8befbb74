//! Reads a TMP102 temperature sensor at address 0x48 on I2C bus 0 once a
//! second, five times, and logs each reading; sets the sensor's high
//! alert threshold first. On the simulated board the temperature follows
//! a slow sine around 22.5 °C.
#![no_std]

use akira_app::i2c::Device;
use akira_app::{info, timer};

/// TMP102 registers.
const TEMPERATURE: u8 = 0x00;
const T_HIGH: u8 = 0x03;

/// Milli-degrees Celsius from a TMP102 temperature register (12 bits,
/// left-justified, 1/16 °C per step).
fn millidegrees(raw: u16) -> i32 {
    i32::from((raw as i16) >> 4) * 1000 / 16
}

fn run() -> akira_app::Result<()> {
    let sensor = Device::new(0, 0x48);
    // Alert above 30 °C: 480 steps, left-justified.
    sensor.write_reg_u16_be(T_HIGH, 480 << 4)?;
    info!("T_HIGH = {} m°C", millidegrees(sensor.read_reg_u16_be(T_HIGH)?));
    for _ in 0..5 {
        let mc = millidegrees(sensor.read_reg_u16_be(TEMPERATURE)?);
        info!("temperature {}.{:03} °C", mc / 1000, (mc % 1000).abs());
        timer::sleep_ms(1000);
    }
    Ok(())
}

akira_app::main!(run);
