//! A weather report from the board's sensor channels: temperature,
//! humidity and pressure, and whether the board lies flat (acceleration).
#![no_std]

use akira_app::info;
use akira_app::sensor::{Kind, Sensor};

fn run() -> akira_app::Result<()> {
    let temperature = Sensor::new(0);
    if temperature.kind()? != Kind::Temperature {
        return Err(akira_app::Error::NO_SUCH_RESOURCE);
    }
    let mc = temperature.read_one()?;
    let humidity = Sensor::new(1).read_one()?;
    let pascal = Sensor::new(2).read_one()?;
    info!(
        "{}.{} °C, {}.{} %RH, {}.{:02} hPa",
        mc / 1000,
        (mc % 1000).abs() / 100,
        humidity / 1000,
        humidity % 1000 / 100,
        pascal / 100,
        pascal % 100
    );
    let [x, y, z] = Sensor::new(3).read_xyz()?;
    let flat = x.abs() < 500 && y.abs() < 500 && z > 9_000;
    info!("acceleration {x} {y} {z} mm/s²: {}", if flat { "lying flat" } else { "tilted" });
    Ok(())
}

akira_app::main!(run);
