//! A BLE beacon: advertises its name and a count (manufacturer data)
//! every 500 ms, counting up every two seconds, three times; then stops.
//! On the way it shows the guard: an interval below its 100 ms floor is
//! refused, and so is a second data change within a second. Run it with
//! its partner on the simulated air:
//! `akira run examples/apps/ble-beacon examples/apps/ble-scanner`.
#![no_std]

use core::time::Duration;

use akira_app::ble::{self, AdvData};
use akira_app::{Error, info, timer};

/// The Bluetooth SIG's company id for tests and prototypes.
const TEST_COMPANY: u16 = 0xffff;

fn data(count: u8) -> AdvData {
    AdvData::new().flags(0x06).name("akira-beacon").manufacturer(TEST_COMPANY, &[count])
}

fn run() -> akira_app::Result<()> {
    // Below the granted floor: refused by the guard, nothing sent.
    let fast = ble::advertise(&data(0), None, Duration::from_millis(20));
    info!("20 ms: {:?}", fast.err());
    for count in 1..=3 {
        ble::advertise(&data(count), None, Duration::from_millis(500))?;
        info!("advertising count {count}");
        if count == 1 {
            // One change a second: the next one now is refused.
            match ble::advertise(&data(9), None, Duration::from_millis(500)) {
                Err(Error::NO_SPACE) => info!("a second change within a second: refused"),
                other => info!("a second change within a second: {:?}", other),
            }
        }
        timer::sleep(Duration::from_secs(2));
    }
    ble::advertise_stop()?;
    info!("stopped");
    Ok(())
}

akira_app::main!(run);
