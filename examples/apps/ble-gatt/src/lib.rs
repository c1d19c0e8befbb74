//! A BLE thermometer: a GATT peripheral with the Environmental Sensing
//! service (0x181a) holding the board's temperature (0x2a6e, read and
//! notify, in 0.01 °C as a little-endian `i16`) and a writable setpoint
//! (a 128-bit UUID, read and write, same unit). Every second it measures
//! the temperature and notifies it (a subscribed central gets it); it logs
//! what the central does, and stops after the central disconnects. Run it
//! with a simulated phone:
//! `akira run examples/apps/ble-gatt --virtual-time --gatt-client 500ms:connect
//! --gatt-client 1200ms:subscribe:2a6e --gatt-client 1500ms:write:12345678-1234-5678-1234-56789abcdef0=d007
//! --gatt-client 2500ms:read:12345678-1234-5678-1234-56789abcdef0 --gatt-client 3500ms:disconnect`.
#![no_std]

use core::time::Duration;

use akira_app::ble::gatt::{self, Event};
use akira_app::ble::{AdvData, Uuid};
use akira_app::sensor::Sensor;
use akira_app::timer::Instant;
use akira_app::{Error, info};

/// The setpoint's UUID, `12345678-1234-5678-1234-56789abcdef0`.
const SETPOINT: Uuid =
    Uuid::Long([0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]);

/// The temperature in 0.01 °C, as the Temperature characteristic holds it.
fn temperature() -> akira_app::Result<i16> {
    Ok((Sensor::new(0).read_one()? / 10) as i16)
}

fn run() -> akira_app::Result<()> {
    let service = gatt::service(Uuid::Short(0x181a))?;
    let temp = gatt::characteristic(service, Uuid::Short(0x2a6e), gatt::READ | gatt::NOTIFY, 2)?;
    let setpoint = gatt::characteristic(service, SETPOINT, gatt::READ | gatt::WRITE, 2)?;
    gatt::start(&AdvData::new().flags(0x06).name("akira-thermo"), Duration::from_millis(200))?;
    let mut target: i16 = 2100;
    gatt::set_value(setpoint, &target.to_le_bytes())?;
    gatt::set_value(temp, &temperature()?.to_le_bytes())?;
    info!("serving, setpoint {target}");
    let mut tick = Instant::now().after(Duration::from_secs(1));
    loop {
        let left = tick.duration_since(Instant::now());
        match gatt::next_event(Some(left)) {
            Ok(Event::Connected { address: a, .. }) => {
                info!("central {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x} connected", a[0], a[1], a[2], a[3], a[4], a[5])
            }
            Ok(Event::Subscribed(c)) if c == temp => info!("central subscribed to the temperature"),
            Ok(Event::Unsubscribed(c)) if c == temp => info!("central unsubscribed"),
            Ok(Event::Written(c, value)) if c == setpoint => match value.as_bytes() {
                [lo, hi] => {
                    target = i16::from_le_bytes([*lo, *hi]);
                    info!("setpoint written: {target}");
                }
                other => info!("setpoint: {} bytes ignored", other.len()),
            },
            Ok(Event::Disconnected { reason }) => {
                info!("central disconnected (reason {reason:#04x})");
                break;
            }
            Ok(other) => info!("{:?}", other),
            Err(Error::TIMED_OUT) => {
                let t = temperature()?;
                gatt::notify(temp, &t.to_le_bytes())?;
                info!("temperature {t} (setpoint {target})");
                tick = tick.after(Duration::from_secs(1));
            }
            Err(e) => return Err(e),
        }
    }
    gatt::stop()?;
    info!("stopped");
    Ok(())
}

akira_app::main!(run);
